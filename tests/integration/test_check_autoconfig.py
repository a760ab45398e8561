"""`maildoctor check` against the lab's client-autoconfiguration scenarios."""

from __future__ import annotations

import json
import socket

import pytest

from maildoctor.cli import run

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def web(lab):
    try:
        with socket.create_connection((lab.ip("autoconfig.good.test"), 443), timeout=1.0):
            pass
    except OSError as exc:
        pytest.skip(f"lab web side is down ({exc}): run lab/web/up as root")
    return lab


def autoconfig_findings(lab, domain: str, capsys) -> dict[str, dict]:
    args = ["check", domain, "--resolver", lab.resolver, "--allow-private", "--json"]
    run([*args, "--ca-file", str(lab.ca_file)])
    report = json.loads(capsys.readouterr().out)
    return {f["code"]: f for f in report["findings"] if f["code"].startswith("autoconfig.")}


def test_good_test_clients_find_srv_and_thunderbird_config(web, capsys) -> None:
    found = autoconfig_findings(web, "good.test", capsys)
    assert set(found) == {"autoconfig.ok"}
    evidence = found["autoconfig.ok"]["evidence"]
    assert "SRV _imaps._tcp -> mail.good.test:993" in evidence
    assert "autoconfig https://autoconfig.good.test/mail/config-v1.1.xml" in evidence
    assert "imap mail.good.test:993 ssl" in evidence


def test_nothing_published(web, capsys) -> None:
    found = autoconfig_findings(web, "autoconfig-none.test", capsys)
    assert {c: f["severity"] for c, f in found.items()} == {"autoconfig.missing": "info"}
    assert "_submissions._tcp.autoconfig-none.test." in found["autoconfig.missing"]["fix"]


def test_plaintext_srv_only(web, capsys) -> None:
    found = autoconfig_findings(web, "autoconfig-plain.test", capsys)
    assert {c: f["severity"] for c, f in found.items()} == {"autoconfig.insecure": "warning"}
    fix = found["autoconfig.insecure"]["fix"]
    assert "_imaps._tcp.autoconfig-plain.test.  3600  IN  SRV  0 1 993 mail.good.test." in fix
    assert "_submissions._tcp.autoconfig-plain.test." in fix


def test_autodiscover_with_a_shared_hosting_certificate(web, capsys) -> None:
    found = autoconfig_findings(web, "autodiscover-badcert.test", capsys)
    assert {c: f["severity"] for c, f in found.items()} == {
        "autoconfig.endpoint_broken": "warning",
        "autoconfig.ok": "ok",
    }
    broken = found["autoconfig.endpoint_broken"]
    assert "not valid for 'autodiscover.autodiscover-badcert.test'" in broken["cause"]
    assert "client-ssl-error" in broken["symptoms"]
