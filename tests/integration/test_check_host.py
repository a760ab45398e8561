"""`maildoctor check --host HOST`: one server, without a domain, against the lab."""

import json

import pytest

from maildoctor.cli import run

from .conftest import Lab

pytestmark = pytest.mark.lab


def check_host(lab: Lab, capsys: pytest.CaptureFixture[str], host: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = run(
        [
            "check",
            "--host",
            host,
            "--resolver",
            lab.resolver,
            "--allow-private",
            "--ca-file",
            str(lab.ca_file),
            "--json",
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_good_server_alone(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = check_host(lab, capsys, "mail.good.test")
    assert code == 0
    assert data["target"] == "mail.good.test"
    areas = {f["code"].split(".")[0] for f in data["findings"]}
    assert areas <= {"port", "smtp", "tls", "imap", "pop3"}
    assert {"port.ok", "imap.ok", "pop3.ok"} <= {f["code"] for f in data["findings"]}


def test_server_by_address_with_an_expired_certificate(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = check_host(lab, capsys, lab.ip("mx.cert-expired.test"))
    assert code == 1
    expired = [f for f in data["findings"] if f["code"] == "tls.cert_expired"]
    assert expired and all("2021-01-01" in f["cause"] for f in expired)
    assert not any(f["code"].startswith(("spf.", "dmarc.", "mx.")) for f in data["findings"])


def test_server_by_address_is_checked_on_port_25_too(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = check_host(lab, capsys, lab.ip("mx.open-relay.test"))
    assert code == 1
    (relay,) = [f for f in data["findings"] if f["code"] == "smtp.open_relay"]
    assert relay["subject"].endswith(":25")
    # Given by address, the certificate name cannot be judged: not checked, not a fault.
    assert not [f for f in data["findings"] if f["code"] == "tls.cert_hostname_mismatch"]
    assert any(n["what"].startswith("certificate name of") for n in data["not_checked"])
