"""DKIM against the lab: `maildoctor check` on the DKIM scenarios of lab/scenarios.tsv."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maildoctor.cli import run

from .conftest import Lab

pytestmark = pytest.mark.lab


def check(lab: Lab, capsys: pytest.CaptureFixture[str], domain: str, *extra: str) -> dict[str, Any]:
    code = run(["check", domain, "--resolver", lab.resolver, "--allow-private", "--json", *extra])
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    data["exit"] = code
    return data


def dkim(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(code, severity, subject) of the DKIM findings, sorted."""
    return sorted(
        (f["code"], f["severity"], f["subject"])
        for f in data["findings"]
        if f["code"].startswith("dkim.")
    )


def finding(data: dict[str, Any], code: str) -> dict[str, Any]:
    (f,) = [f for f in data["findings"] if f["code"] == code]
    return f


def test_good_has_a_2048_bit_key_and_no_dkim_problem(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    data = check(lab, capsys, "good.test")
    assert dkim(data) == [("dkim.ok", "ok", "mail._domainkey.good.test")]
    assert "rsa, 2048 bits" in finding(data, "dkim.ok")["title"]
    assert not [n for n in data["not_checked"] if "DKIM" in n["what"]]
    # every selector was asked, the run's evidence says so
    selectors = data["evidence"]["dns.dkim"]["selectors"]
    assert len(selectors) >= 20 and {s["selector"] for s in selectors} >= {"mail", "default"}


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("dkim-bad.test", [("dkim.invalid_key", "error")]),
        ("dkim-weak512.test", [("dkim.weak_key", "error")]),
        ("dkim-weak1024.test", [("dkim.weak_key", "warning")]),
        ("dkim-testing.test", [("dkim.testing_mode", "warning")]),
        ("dkim-revoked.test", [("dkim.revoked", "warning")]),
    ],
)
def test_faulty_key_under_selector_mail(
    lab: Lab, capsys: pytest.CaptureFixture[str], domain: str, expected: list[tuple[str, str]]
) -> None:
    data = check(lab, capsys, domain)
    assert dkim(data) == [(c, s, f"mail._domainkey.{domain}") for c, s in expected]


def test_invalid_key_says_why(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    f = finding(check(lab, capsys, "dkim-bad.test"), "dkim.invalid_key")
    assert "not a DER-encoded RSA public key" in f["cause"]
    assert "bm90LWEta2V5LWF0LWFsbA==" in f["evidence"]


def test_weak_key_bits(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    f = finding(check(lab, capsys, "dkim-weak512.test"), "dkim.weak_key")
    assert "512-bit" in f["title"] and "RFC 8301 3.2" in f["references"]
    assert check(lab, capsys, "dkim-weak512.test")["exit"] == 1


def test_no_key_found(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "dkim-none.test")
    assert dkim(data) == [("dkim.no_key_found", "warning", "dkim-none.test")]
    f = finding(data, "dkim.no_key_found")
    assert "selector1, selector2, google" in f["cause"] and "--dkim-selector" in f["cause"]
    assert 'mail._domainkey.dkim-none.test.  3600  IN  TXT  "v=DKIM1; k=rsa;' in f["fix"]


def test_given_selector_and_ed25519(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    # RFC 8463: the Ed25519 key of its example, under selector "brisbane"
    data = check(lab, capsys, "dkim-ed25519.test", "--dkim-selector", "brisbane")
    assert dkim(data) == [
        ("dkim.ok", "ok", "brisbane._domainkey.dkim-ed25519.test"),
        ("dkim.ok", "ok", "mail._domainkey.dkim-ed25519.test"),
    ]
    assert data["evidence"]["dns.dkim"]["selectors"][0]["selector"] == "brisbane"
    # without the selector, only the common ones are tried
    assert dkim(check(lab, capsys, "dkim-ed25519.test")) == [
        ("dkim.ok", "ok", "mail._domainkey.dkim-ed25519.test")
    ]


def test_two_records_under_one_selector(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "dkim-multi.test")
    s1 = "s1._domainkey.dkim-multi.test"
    assert dkim(data) == [
        ("dkim.multiple_records", "error", s1),
        ("dkim.ok", "ok", "mail._domainkey.dkim-multi.test"),
        ("dkim.ok", "ok", s1),
        ("dkim.weak_key", "warning", s1),
    ]


def test_wildcard_is_not_a_key(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    # *._domainkey answers every common selector with "v=spf1 -all": none is reported
    data = check(lab, capsys, "dkim-wild.test")
    assert dkim(data) == [("dkim.ok", "ok", "mail._domainkey.dkim-wild.test")]
    assert data["evidence"]["dns.dkim"]["wildcard"]["records"] == ["v=spf1 -all"]


def test_only_dkim_runs_just_the_dkim_probe(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "dkim-weak1024.test", "--only", "dkim")
    assert set(data["timings"]) == {"dns.dkim"}
    assert [f["code"] for f in data["findings"]] == ["dkim.weak_key"]
    assert data["exit"] == 0  # a warning only
