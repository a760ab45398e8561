"""SMTP checks against the lab's real Postfix (and its fakes): each scenario's exact codes."""

from __future__ import annotations

import pytest

from .conftest import Lab
from .server_checks import findings, problems, report

pytestmark = pytest.mark.lab


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("open-relay.test", {"smtp.open_relay"}),
        ("sub-plain.test", {"smtp.starttls_missing", "smtp.auth_before_tls"}),
        ("sub-noauth.test", {"smtp.auth_not_offered"}),
        ("size-1mb.test", {"smtp.size_limit_low"}),
        ("no-greet.test", {"smtp.no_banner"}),
        ("closed.test", {"port.refused", "imap.unreachable", "pop3.unreachable"}),
        ("slow-greet.test", {"smtp.slow_banner"}),
        ("greet-554.test", {"smtp.bad_banner"}),
        ("busy.test", {"smtp.busy"}),  # 421 "too many connections" at the greeting
        ("helo-mismatch.test", {"smtp.helo_mismatch"}),
    ],
)
def test_scenario_yields_exactly_its_codes(lab: Lab, domain: str, expected: set[str]) -> None:
    assert problems(report(lab, domain)) == expected


def test_control_domain_has_no_server_problem(lab: Lab) -> None:
    data = report(lab, "good.test")
    assert problems(data) == set()
    codes = {f["code"] for f in data["findings"]}
    assert {"smtp.ok", "port.ok", "smtp.extensions", "smtp.size_limit"} <= codes
    (size,) = {f["title"] for f in findings(data, "smtp.size_limit")}
    assert "50 MB" in size
    assert not any("smtp" in n["what"].lower() for n in data["not_checked"])


def test_open_relay_is_critical_with_its_transcript(lab: Lab) -> None:
    data = report(lab, "open-relay.test")
    (relay,) = findings(data, "smtp.open_relay")
    assert relay["severity"] == "critical" and data["_exit"] == 1
    assert "RCPT TO:<relay-test@maildoctor.invalid>" in relay["evidence"]
    assert "C: RSET" in relay["evidence"] and "DATA" not in relay["evidence"]


def test_starttls_missing_is_an_error_on_587(lab: Lab) -> None:
    data = report(lab, "sub-plain.test")
    (missing,) = findings(data, "smtp.starttls_missing")
    assert missing["severity"] == "error" and ":587" in missing["subject"]
    (auth,) = findings(data, "smtp.auth_before_tls")
    assert "PLAIN" in auth["evidence"]


def test_no_greeting_and_slow_greeting_are_told_apart(lab: Lab) -> None:
    slow = report(lab, "slow-greet.test")
    banners = findings(slow, "smtp.slow_banner")
    assert {f["subject"].split(":")[-1].rstrip(")") for f in banners} == {"25", "587"}
    assert all(7.0 < float(f["title"].split("(")[1].split(" ")[0]) < 10.0 for f in banners)
    silent = report(lab, "no-greet.test")
    assert {
        f["subject"].split(":")[-1].rstrip(")") for f in findings(silent, "smtp.no_banner")
    } == {
        "25",
        "587",
        "465",
    }


def test_refused_ports_name_the_cause(lab: Lab) -> None:
    data = report(lab, "closed.test")
    refused = findings(data, "port.refused")
    assert {f["subject"].split(":")[-1].rstrip(")") for f in refused} == {"25", "587", "465"}
    assert all(f["severity"] == "error" for f in refused)
    assert "nothing listens" in refused[0]["cause"]


def test_bad_banner_quotes_the_554(lab: Lab) -> None:
    data = report(lab, "greet-554.test")
    bad = findings(data, "smtp.bad_banner")
    assert bad and all("554" in f["cause"] for f in bad)


def test_helo_mismatch_names_both(lab: Lab) -> None:
    (f,) = findings(report(lab, "helo-mismatch.test"), "smtp.helo_mismatch")
    assert "wrongname.helo-mismatch.test" in f["evidence"]
    assert "mx.helo-mismatch.test" in f["evidence"]
