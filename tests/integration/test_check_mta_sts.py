"""`maildoctor check` against the lab's MTA-STS and TLS-RPT scenarios (lab/web nginx + DNS)."""

from __future__ import annotations

import json
import socket

import pytest

from maildoctor.cli import run

pytestmark = pytest.mark.lab

AREAS = ("mta_sts", "tlsrpt")


@pytest.fixture(scope="module")
def web(lab):
    try:
        with socket.create_connection((lab.ip("mta-sts.good.test"), 443), timeout=1.0):
            pass
    except OSError as exc:
        pytest.skip(f"lab web side is down ({exc}): run lab/web/up as root")
    return lab


def check(lab, domain: str, capsys, *extra: str) -> dict:
    args = ["check", domain, "--resolver", lab.resolver, "--allow-private", "--json", *extra]
    run(args)
    return json.loads(capsys.readouterr().out)


def area(report: dict, *areas: str) -> dict[str, dict]:
    return {f["code"]: f for f in report["findings"] if f["code"].split(".")[0] in areas}


def test_good_test_is_enforced_and_clean(web, capsys) -> None:
    report = check(web, "good.test", capsys, "--ca-file", str(web.ca_file))
    found = area(report, *AREAS)
    assert set(found) == {"mta_sts.ok", "tlsrpt.ok"}
    assert all(f["severity"] not in ("error", "critical") for f in found.values())
    assert "mx.good.test" in found["mta_sts.ok"]["evidence"]
    assert report["timings"]["dns.mta_sts"] < 5.0


def test_without_the_lab_ca_the_policy_is_unreachable(web, capsys) -> None:
    found = area(check(web, "good.test", capsys), "mta_sts")
    assert set(found) == {"mta_sts.policy_unreachable"}
    assert "certificate" in found["mta_sts.policy_unreachable"]["cause"]


@pytest.mark.parametrize(
    ("domain", "expected", "text"),
    [
        ("mta-sts-mismatch.test", {"mta_sts.mx_mismatch": "error"}, "mx.elsewhere.test"),
        ("mta-sts-nocert.test", {"mta_sts.policy_unreachable": "warning"}, "self-signed"),
        ("mta-sts-404.test", {"mta_sts.policy_unreachable": "warning"}, "HTTP 404"),
        ("mta-sts-redirect.test", {"mta_sts.policy_unreachable": "warning"}, "redirect"),
        ("mta-sts-invalid.test", {"mta_sts.policy_invalid": "warning"}, "'enforced'"),
        ("mta-sts-notxt.test", {"mta_sts.txt_missing": "warning"}, "_mta-sts.mta-sts-notxt.test"),
        (
            "mta-sts-testing.test",
            {"mta_sts.mode_testing": "info", "mta_sts.max_age_short": "warning"},
            "3600",
        ),
        ("tlsrpt-invalid.test", {"mta_sts.missing": "info"}, "mx: mx.good.test"),
    ],
)
def test_mta_sts_scenarios(web, capsys, domain: str, expected: dict[str, str], text: str) -> None:
    report = check(web, domain, capsys, "--ca-file", str(web.ca_file))
    found = area(report, "mta_sts")
    assert {c: f["severity"] for c, f in found.items()} == expected
    blob = json.dumps(list(found.values()))
    assert text in blob


def test_tlsrpt_invalid(web, capsys) -> None:
    found = area(check(web, "tlsrpt-invalid.test", capsys), "tlsrpt")
    assert set(found) == {"tlsrpt.invalid"}
    assert "rua=mailto:tlsrpt@tlsrpt-invalid.test" in found["tlsrpt.invalid"]["fix"]
