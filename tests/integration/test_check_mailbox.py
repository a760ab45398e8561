"""IMAP and POP3 checks against the lab's real Dovecot: each scenario's exact codes."""

from __future__ import annotations

import pytest

from .conftest import Lab
from .server_checks import findings, problems, report

pytestmark = pytest.mark.lab


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("imap-down.test", {"imap.unreachable"}),
        ("imap-plain.test", {"imap.plaintext_login", "pop3.plaintext_login"}),
    ],
)
def test_scenario_yields_exactly_its_codes(lab: Lab, domain: str, expected: set[str]) -> None:
    assert problems(report(lab, domain)) == expected


def test_control_domain_mailbox_is_ok(lab: Lab) -> None:
    data = report(lab, "good.test")
    assert problems(data) == set()
    (imap_ok,) = findings(data, "imap.ok")
    (pop3_ok,) = findings(data, "pop3.ok")
    assert "143: STARTTLS, login only after TLS" in imap_ok["cause"]
    assert "993: implicit TLS" in imap_ok["cause"] and "995: implicit TLS" in pop3_ok["cause"]


def test_imap_down_keeps_pop3(lab: Lab) -> None:
    data = report(lab, "imap-down.test")
    (down,) = findings(data, "imap.unreachable")
    assert "143" in down["cause"] and "993" in down["cause"] and "refused" in down["cause"]
    assert findings(data, "pop3.ok")


def test_plaintext_login_evidence(lab: Lab) -> None:
    data = report(lab, "imap-plain.test")
    (imap_plain,) = findings(data, "imap.plaintext_login")
    assert ":143" in imap_plain["subject"] and "LOGINDISABLED" in imap_plain["evidence"]
    (pop_plain,) = findings(data, "pop3.plaintext_login")
    assert ":110" in pop_plain["subject"]
