"""`maildoctor auth` probes against in-process fakes: the cases the lab cannot show (a
password that works for IMAP but not SMTP, a broken mechanism), the STARTTLS gate, the
rejection budget, and what goes over the wire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.account import auth_findings
from maildoctor.evidence.account import FAILED, NOT_OFFERED, OK, REQUIRES_TLS, AccountEvidence
from maildoctor.probes import account, servers
from maildoctor.probes.runner import Runner
from maildoctor.protocols.sasl import Secret, secret_forms
from maildoctor.render.json import jsonable
from maildoctor.report import Finding
from maildoctor.settings import Settings

from . import fake_account as fa
from . import fake_smtp as fake

USER = "alice@fake.example"


@pytest.fixture(autouse=True)
def short_greeting_wait(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(servers, "GREETING_WAIT_MIN", 1.5)
    yield


async def _auth(
    ports: tuple[tuple[str, int, bool], ...], password: str, *, insecure: bool = True
) -> AccountEvidence:
    settings = Settings(step_timeout=2.0, allow_private=True)
    runner = Runner(settings)
    req = account.AuthRequest("127.0.0.1", USER, Secret(password), insecure, ports)
    return await account.probe_auth(runner.context("127.0.0.1"), req)


def _findings(ev: AccountEvidence) -> list[Finding]:
    ctx = CheckContext(Settings(), catalogue.load())
    return [f for f in auth_findings(ctx, ev) if isinstance(f, Finding)]


def _codes(ev: AccountEvidence) -> list[str]:
    return sorted(f.code for f in _findings(ev))


@pytest.fixture
async def three() -> AsyncIterator[tuple[int, int, int, fa.Script]]:
    """SMTP knows the old password; IMAP and POP3 the new one (an unsynced password)."""
    script = fa.Script(password="Old-Pass-1")
    async with (
        fake.serve(fa.smtp_auth(script)) as smtp,
        fake.serve(fa.imap_auth("New-Pass-2")) as imap,
        fake.serve(fa.pop3_auth("New-Pass-2")) as pop3,
    ):
        yield smtp, imap, pop3, script


async def test_protocol_mismatch_is_the_outlook_password_loop(
    three: tuple[int, int, int, fa.Script],
) -> None:
    smtp, imap, pop3, _ = three
    ev = await _auth(
        (("imap", imap, False), ("pop3", pop3, False), ("smtp", smtp, False)), "New-Pass-2"
    )
    assert [t.outcome for t in ev.tries] == [OK, OK, FAILED]
    codes = _codes(ev)
    assert "auth.protocol_mismatch" in codes
    assert "auth.failed" not in codes and "auth.ok" not in codes
    mismatch = next(f for f in _findings(ev) if f.code == "auth.protocol_mismatch")
    assert "IMAP and POP3" in mismatch.title and "SMTP" in mismatch.title
    assert "535 5.7.8" in mismatch.cause
    # The working settings name only what worked, in the clients' words.
    settings = next(f for f in _findings(ev) if f.code == "auth.working_settings")
    assert "Incoming (IMAP)" in settings.fix and 'authentication "Normal password"' in settings.fix
    assert "Outgoing (SMTP)" not in settings.fix
    # No TLS on the fakes: sent only because of --insecure, and said so.
    plain = next(f for f in _findings(ev) if f.code == "auth.plaintext_only")
    assert "--insecure" in plain.cause


async def test_without_insecure_no_password_goes_out_in_clear(
    three: tuple[int, int, int, fa.Script],
) -> None:
    smtp, _imap, _pop3, script = three
    ev = await _auth((("smtp", smtp, False),), "New-Pass-2", insecure=False)
    assert ev.tries[0].attempts == ()
    assert "no TLS" in ev.tries[0].skipped
    assert not any(line.startswith(b"AUTH") for line in script.log)
    assert _codes(ev) == ["auth.plaintext_only"]


async def test_a_wrong_password_is_tried_at_most_three_times(
    three: tuple[int, int, int, fa.Script],
) -> None:
    smtp, imap, pop3, _ = three
    ports = (
        ("imap", imap, False),
        ("pop3", pop3, False),
        ("smtp", smtp, False),
        ("smtp", smtp, False),
        ("imap", imap, False),
    )
    ev = await _auth(ports, "Wrong-Pass-3")
    rejected = [a for t in ev.tries for a in t.attempts if a.outcome == FAILED]
    assert len(rejected) == account.MAX_REJECTIONS
    assert all("already rejected" in t.skipped for t in ev.tries[3:])
    assert "auth.failed" in _codes(ev)


async def test_a_mechanism_that_fails_while_another_works() -> None:
    script = fa.Script(password="Pw-4", plain_ok=False)
    async with fake.serve(fa.smtp_auth(script)) as smtp, fake.serve(fa.imap_auth("Pw-4")) as imap:
        ev = await _auth((("imap", imap, False), ("smtp", smtp, False)), "Pw-4")
    smtp_try = ev.tries[1]
    assert [(a.mechanism, a.outcome) for a in smtp_try.attempts] == [
        ("PLAIN", FAILED),
        ("LOGIN", OK),
    ]
    codes = _codes(ev)
    assert "auth.mechanism_unsupported" in codes
    assert "auth.protocol_mismatch" not in codes and "auth.ok" in codes


async def test_no_auth_on_submission_is_not_offered() -> None:
    script = fa.Script(mechanisms=())
    async with fake.serve(fa.smtp_auth(script)) as smtp:
        ev = await _auth((("smtp", smtp, False),), "Pw-5")
    assert ev.tries[0].attempts[0].outcome == NOT_OFFERED
    found = next(f for f in _findings(ev) if f.code == "auth.not_offered")
    assert "503 5.5.1" in found.cause and "Relay access denied" in found.cause


async def test_starttls_first_and_a_bad_certificate_stop_the_password() -> None:
    script = fa.Script(password="Pw-6", starttls=True)
    async with fake.serve(fa.smtp_auth(script)) as smtp:
        ev = await _auth((("smtp", smtp, False),), "Pw-6", insecure=False)
        t = ev.tries[0]
        assert t.before_tls.startswith("530 5.7.0")
        assert "self-signed" in t.cert_problem
        assert t.attempts == ()
        # Only the credential-free probe "AUTH PLAIN" (cancelled or refused) before TLS.
        assert all(not line.startswith(b"AUTH PLAIN ") for line in script.log)
        assert _codes(ev) == ["auth.cert_untrusted", "auth.requires_tls"]
        insecure = await _auth((("smtp", smtp, False),), "Pw-6", insecure=True)
    assert insecure.tries[0].outcome == OK
    cert = next(f for f in _findings(insecure) if f.code == "auth.cert_untrusted")
    assert "because of --insecure" in cert.cause


async def test_the_transcript_never_holds_the_password() -> None:
    password = "Zq-Unique-Secret-77"
    script = fa.Script(password=password)
    async with (
        fake.serve(fa.smtp_auth(script)) as smtp,
        fake.serve(fa.imap_auth(password)) as imap,
        fake.serve(fa.pop3_auth(password)) as pop3,
    ):
        ev = await _auth(
            (("imap", imap, False), ("pop3", pop3, False), ("smtp", smtp, False)), password
        )
    assert [t.outcome for t in ev.tries] == [OK, OK, OK]
    # Both SMTP mechanisms went over the wire, with the password in them...
    assert [a.mechanism for a in ev.tries[2].attempts] == ["PLAIN", "LOGIN"]
    text = json.dumps(jsonable(ev)) + "".join(f.evidence + f.cause for f in _findings(ev))
    for form in secret_forms(USER, password):
        assert form not in text
    # ...and the transcript shows where, redacted.
    assert "C: AUTH PLAIN [redacted]" in ev.tries[2].transcript
    assert "C: PASS [redacted]" in ev.tries[1].transcript


async def test_a_port_that_refuses_is_not_checked_not_failed() -> None:
    async with fake.serve(fa.imap_auth("x")) as port:
        pass  # closed again: nothing listens there now
    ev = await _auth((("imap", port, False),), "Pw-7")
    assert ev.tries[0].failure is not None and ev.tries[0].failure.step == "connect"
    ctx = CheckContext(Settings(), catalogue.load())
    items = list(auth_findings(ctx, ev))
    assert not [i for i in items if isinstance(i, Finding)]
    assert any("no IMAP port answers" in getattr(i, "reason", "") for i in items)


def test_outcome_readings() -> None:
    from maildoctor.evidence.smtp import Reply

    assert (
        account.smtp_auth_outcome(Reply(535, ("5.7.8 Authentication credentials invalid",)))
        == FAILED
    )
    assert (
        account.smtp_auth_outcome(Reply(530, ("5.7.0 Must issue a STARTTLS command first",)))
        == REQUIRES_TLS
    )
    assert (
        account.smtp_auth_outcome(Reply(534, ("5.7.9 Authentication mechanism is too weak",)))
        == "mechanism_unsupported"
    )
    assert (
        account.smtp_auth_outcome(Reply(454, ("4.7.0 Temporary authentication failure",)))
        == "temporary"
    )
    assert (
        account.imap_login_outcome("NO", b"a NO [AUTHENTICATIONFAILED] Authentication failed.")
        == FAILED
    )
    assert (
        account.imap_login_outcome(
            "NO", b"a NO [PRIVACYREQUIRED] Plaintext authentication disallowed"
        )
        == REQUIRES_TLS
    )
    assert account.imap_login_outcome("NO", b"a NO [UNAVAILABLE] Temporary failure") == "temporary"
    assert account.pop3_login_outcome(b"-ERR [AUTH] Authentication failed.") == FAILED
    assert (
        account.pop3_login_outcome(
            b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
        )
        == REQUIRES_TLS
    )
    assert account.pop3_login_outcome(b"-ERR [IN-USE] Mailbox locked") == "temporary"


async def test_silent_and_garbage_servers_end_in_bounded_time() -> None:
    import time

    async with fake.serve(fake.silent) as silent, fake.serve(fake.binary_garbage) as garbage:
        start = time.monotonic()
        ev = await _auth(
            (("imap", silent, False), ("pop3", garbage, False), ("smtp", silent, False)), "Pw-8"
        )
        elapsed = time.monotonic() - start
    assert elapsed < 8.0
    assert all(t.failure is not None and t.attempts == () for t in ev.tries)
    ctx = CheckContext(Settings(), catalogue.load())
    items = list(auth_findings(ctx, ev))
    assert not [i for i in items if isinstance(i, Finding)]
    assert len(items) == 3  # each port: not checked, with the reason


async def test_cram_md5_is_tried_when_offered_and_called_encrypted_password() -> None:
    script = fa.Script(password="Pw-9", mechanisms=("CRAM-MD5", "LOGIN"))
    async with fake.serve(fa.smtp_auth(script)) as smtp:
        ev = await _auth((("smtp", smtp, False),), "Pw-9")
    assert [(a.mechanism, a.outcome) for a in ev.tries[0].attempts] == [
        ("LOGIN", OK),
        ("CRAM-MD5", OK),
    ]
    settings = next(f for f in _findings(ev) if f.code == "auth.working_settings")
    assert 'authentication "Normal password"' in settings.fix  # the first that worked


async def test_only_unknown_mechanisms_is_mechanism_unsupported() -> None:
    script = fa.Script(password="Pw-10", mechanisms=("GSSAPI", "NTLM"))
    async with fake.serve(fa.smtp_auth(script)) as smtp:
        ev = await _auth((("smtp", smtp, False),), "Pw-10")
    assert ev.tries[0].attempts[0].outcome == "mechanism_unsupported"
    assert "auth.mechanism_unsupported" in _codes(ev)
    assert not any(line.startswith(b"AUTH") for line in script.log)
