"""DMARC against the lab: `maildoctor check` on the DMARC scenarios of lab/scenarios.tsv."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maildoctor.cli import run

from .conftest import Lab

pytestmark = pytest.mark.lab


def check(lab: Lab, capsys: pytest.CaptureFixture[str], domain: str) -> dict[str, Any]:
    code = run(["check", domain, "--resolver", lab.resolver, "--allow-private", "--json"])
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    data["exit"] = code
    return data


def dmarc(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(code, severity) of the DMARC findings, sorted."""
    return sorted(
        (f["code"], f["severity"]) for f in data["findings"] if f["code"].startswith("dmarc.")
    )


def finding(data: dict[str, Any], code: str) -> dict[str, Any]:
    (f,) = [f for f in data["findings"] if f["code"] == code]
    return f


def test_good_is_ok_and_has_no_dmarc_problem(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "good.test")
    assert dmarc(data) == [("dmarc.ok", "ok")]
    f = finding(data, "dmarc.ok")
    assert f["evidence"] == "_dmarc.good.test TXT: v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
    assert not [n for n in data["not_checked"] if "DMARC" in n["what"]]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("dmarc-missing.test", [("dmarc.missing", "error")]),
        ("dmarc-none.test", [("dmarc.policy_none", "warning")]),
        ("dmarc-malformed.test", [("dmarc.syntax_error", "error")]),
        ("dmarc-multi.test", [("dmarc.multiple_records", "error")]),
        ("sub.dmarc-org.test", [("dmarc.ok", "ok"), ("dmarc.org_fallback", "info")]),
        ("dmarc-pct.test", [("dmarc.pct_partial", "warning")]),
        ("dmarc-extauth.test", [("dmarc.ok", "ok")]),
        (
            "dmarc-extnoauth.test",
            [("dmarc.external_destination_unauthorized", "warning")],
        ),
    ],
)
def test_scenarios(
    lab: Lab, capsys: pytest.CaptureFixture[str], domain: str, expected: list[tuple[str, str]]
) -> None:
    assert dmarc(check(lab, capsys, domain)) == expected


def test_missing_gives_a_ready_record(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "dmarc-missing.test")
    f = finding(data, "dmarc.missing")
    assert (
        '_dmarc.dmarc-missing.test.  3600  IN  TXT  "v=DMARC1; p=quarantine; '
        'rua=mailto:dmarc-reports@dmarc-missing.test"' in f["fix"]
    )
    assert "spam-folder" in f["symptoms"] and data["exit"] == 1


def test_malformed_names_the_faults_and_corrects_them(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    f = finding(check(lab, capsys, "dmarc-malformed.test"), "dmarc.syntax_error")
    assert "p=rejekt" in f["cause"] and "did you mean p=reject?" in f["cause"]
    assert "pct=abc" in f["cause"]
    assert '"v=DMARC1; p=reject; rua=mailto:dmarc-reports@dmarc-malformed.test"' in f["fix"]


def test_org_fallback_names_the_organizational_domain(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    data = check(lab, capsys, "sub.dmarc-org.test")
    f = finding(data, "dmarc.org_fallback")
    assert "dmarc-org.test" in f["title"] and "p=reject (from its sp= tag)" in f["cause"]
    ev = data["evidence"]["dns.dmarc"]
    assert ev["organizational_domain"] == "dmarc-org.test" and ev["own"]["status"] == "NXDOMAIN"


def test_unauthorised_destination(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    f = finding(
        check(lab, capsys, "dmarc-extnoauth.test"), "dmarc.external_destination_unauthorized"
    )
    assert f["subject"] == "_dmarc.dmarc-extnoauth.test" and "failure (ruf)" in f["cause"]
    assert (
        'dmarc-extnoauth.test._report._dmarc.dmarc-reports.test.  3600  IN  TXT  "v=DMARC1"'
        in f["fix"]
    )
