"""send-test verdicts: reply code + enhanced status code (RFC 3463) -> the finding."""

from __future__ import annotations

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.send import send_findings, verdict
from maildoctor.evidence.account import DeliveryCheck, SendEvidence, SizeStep
from maildoctor.evidence.server import StepFailure
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Settings


@pytest.mark.parametrize(
    ("code", "text", "stage", "expected"),
    [
        (554, "5.7.1 <x@example.com>: Relay access denied", "rcpt", "send.relay_denied"),
        (554, "5.7.1 Delivery not authorized", "rcpt", "send.relay_denied"),
        (421, "4.7.0 mail.example.com Error: too many connections", "mail", "send.rate_limited"),
        (450, "4.7.1 Rate limit exceeded for this user", "rcpt", "send.rate_limited"),
        (
            451,
            "4.7.0 Temporary server error. Please try again later. PRX4",
            "data",
            "send.rate_limited",
        ),
        (550, "5.4.5 Daily user sending quota exceeded.", "data", "send.rate_limited"),
        (452, "4.5.3 Too many recipients", "rcpt", "send.rejected"),
        (552, "5.3.4 Message size exceeds fixed limit", "mail", "send.too_large"),
        (552, "Error: message file too big", "data", "send.too_large"),
        (552, "5.2.2 <bob@example.com>: Mailbox full", "rcpt", "send.mailbox_full"),
        (
            452,
            "4.2.2 The email account that you tried to reach is over quota.",
            "rcpt",
            "send.mailbox_full",
        ),
        (
            550,
            "5.1.1 <nobody@example.com>: Recipient address rejected: User unknown",
            "rcpt",
            "send.recipient_unknown",
        ),
        (550, "No such user here", "rcpt", "send.recipient_unknown"),
        (
            553,
            "5.7.1 <a@b.c>: Sender address rejected: not owned by user u",
            "mail",
            "send.rejected",
        ),
        (451, "4.3.0 Error: queue file write error", "data", "send.rejected"),
    ],
)
def test_verdicts(code: int, text: str, stage: str, expected: str) -> None:
    assert verdict(code, text, stage) == expected


def _run(ev: SendEvidence) -> tuple[list[Finding], list[NotChecked]]:
    items = list(send_findings(CheckContext(Settings(), catalogue.load()), ev))
    return [i for i in items if isinstance(i, Finding)], [
        i for i in items if isinstance(i, NotChecked)
    ]


BASE = SendEvidence(
    "mail.example.com",
    "u@example.com",
    "u@example.com",
    "bob@example.com",
    ip="192.0.2.1",
    port=587,
    security="STARTTLS",
    token="md-0123",
    message_id="<md-0123@example.com>",
)


def test_sent_and_delivered_to_the_inbox() -> None:
    ev = SendEvidence(
        **{
            **BASE.__dict__,
            "stage": "sent",
            "reply_code": 250,
            "reply": "250 2.0.0 Ok: queued as ABC",
            "size": 400,
        }
    )
    ev = SendEvidence(
        **{
            **ev.__dict__,
            "delivery": DeliveryCheck(
                "bob@example.com",
                True,
                "INBOX",
                False,
                1.25,
                1.3,
                ("Authentication-Results: mx; spf=pass",),
                ("INBOX", "Junk"),
            ),
        }
    )
    found, _ = _run(ev)
    assert [f.code for f in found] == ["send.ok", "send.delivered"]
    assert "1.25 s" in found[1].title and "spf=pass" in found[1].cause


def test_landed_in_junk_and_not_delivered() -> None:
    sent = {**BASE.__dict__, "stage": "sent", "reply_code": 250, "reply": "250 ok"}
    junk = SendEvidence(
        **{**sent, "delivery": DeliveryCheck("bob@example.com", True, "Junk", True, 3.0)}
    )
    assert [f.code for f in _run(junk)[0]] == ["send.ok", "send.landed_in_junk"]
    lost = SendEvidence(
        **{
            **sent,
            "delivery": DeliveryCheck(
                "bob@example.com", False, waited_s=30.0, folders_searched=("INBOX", "Spam")
            ),
        }
    )
    found, _ = _run(lost)
    assert found[1].code == "send.not_delivered" and "INBOX, Spam" in found[1].cause
    broken = SendEvidence(
        **{**sent, "delivery": DeliveryCheck("bob@example.com", error="IMAP login refused")}
    )
    found, nc = _run(broken)
    assert [f.code for f in found] == ["send.ok"] and "IMAP login refused" in nc[0].reason


def test_refusals_at_each_stage() -> None:
    too_big = SendEvidence(
        **{
            **BASE.__dict__,
            "stage": "mail",
            "reply_code": 552,
            "reply": "552 5.3.4 Message size exceeds fixed limit",
            "size": 2000000,
            "advertised_size": 1048576,
        }
    )
    found, _ = _run(too_big)
    assert found[0].code == "send.too_large" and "1048576" in found[0].cause
    auth = SendEvidence(
        **{
            **BASE.__dict__,
            "stage": "auth",
            "reply_code": 535,
            "reply": "535 5.7.8 Error: authentication failed",
        }
    )
    assert _run(auth)[0][0].code == "send.auth_failed"
    gate = SendEvidence(**{**BASE.__dict__, "stage": "auth", "reply": "port 587 offers no AUTH"})
    assert _run(gate)[0][0].code == "send.not_sent"
    dead = SendEvidence(
        **{
            **BASE.__dict__,
            "stage": "connect",
            "failure": StepFailure("connect", "refused", "refused"),
        }
    )
    assert _run(dead)[0][0].code == "send.not_sent"


def test_size_limit_found_and_not_found() -> None:
    steps = (SizeStep(1048576, True, "250"), SizeStep(1048577, False, "552 5.3.4"))
    ev = SendEvidence(
        **{
            **BASE.__dict__,
            "stage": "sent",
            "reply_code": 250,
            "reply": "250 ok",
            "size_search": steps,
            "size_limit": 1048576,
            "advertised_size": 1048576,
        }
    )
    found, _ = _run(ev)
    limit = next(f for f in found if f.code == "send.size_limit")
    assert "1048576" in limit.title and "2 tries" in limit.cause
    none = SendEvidence(
        **{
            **BASE.__dict__,
            "stage": "sent",
            "reply_code": 250,
            "reply": "250 ok",
            "note": "the server declares no SIZE (RFC 1870): not searched",
        }
    )
    _, nc = _run(none)
    assert "declares no SIZE" in nc[0].reason
