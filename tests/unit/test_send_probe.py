"""send-test against fakes: the transaction, the size bisection, the IMAP round trip."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.send import send_findings
from maildoctor.evidence.account import SendEvidence
from maildoctor.probes import account, servers
from maildoctor.probes.runner import Runner
from maildoctor.protocols.sasl import Secret, secret_forms
from maildoctor.render.json import jsonable
from maildoctor.report import Finding
from maildoctor.settings import Settings

from . import fake_account as fa
from . import fake_smtp as fake

PW = "Send-Pw-Distinct-1"


@pytest.fixture(autouse=True)
def short_greeting_wait(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(servers, "GREETING_WAIT_MIN", 1.5)
    monkeypatch.setattr(account, "POLL_S", 0.05)
    yield


async def _send(port: int, **kw: object) -> SendEvidence:
    runner = Runner(Settings(step_timeout=2.0, allow_private=True))
    req = account.SendRequest(
        host="127.0.0.1",
        user="alice@fake.example",
        password=Secret(PW),
        mail_from="alice@fake.example",
        rcpt_to="bob@fake.example",
        insecure=True,
        ports=((port, False),),
        **kw,  # type: ignore[arg-type]
    )
    return await account.probe_send(runner.context("127.0.0.1"), req)


def _codes(ev: SendEvidence) -> list[str]:
    ctx = CheckContext(Settings(), catalogue.load())
    return [f.code for f in send_findings(ctx, ev) if isinstance(f, Finding)]


async def test_a_message_is_sent_with_its_token() -> None:
    script = fa.Script(password=PW)
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port)
    assert ev.stage == "sent" and _codes(ev) == ["send.ok"]
    body = script.messages[0].decode()
    assert f"Subject: maildoctor send-test {ev.token}" in body
    assert f"Message-ID: {ev.message_id}" in body and re.fullmatch(r"md-[0-9a-f]{12}", ev.token)
    text = str(jsonable(ev))
    assert not any(form in text for form in secret_forms("alice@fake.example", PW))
    assert "message content" in "\n".join(ev.transcript) and "This is a test" not in text


async def test_relay_denied_at_rcpt() -> None:
    script = fa.Script(
        password=PW, rcpt=lambda line: b"554 5.7.1 <bob@fake.example>: Relay access denied"
    )
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port)
    assert (ev.stage, ev.reply_code) == ("rcpt", 554)
    assert _codes(ev) == ["send.relay_denied"]
    assert not script.messages


async def test_rate_limited_at_mail() -> None:
    script = fa.Script(password=PW, mail=lambda line: b"450 4.7.1 Sender rate limit exceeded")
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port)
    assert _codes(ev) == ["send.rate_limited"]


async def test_a_big_message_is_refused_after_data_without_size() -> None:
    def end(n: int) -> bytes:
        return b"552 5.3.4 Error: message file too big" if n > 100_000 else b"250 2.0.0 Ok"

    script = fa.Script(password=PW, data_end=end)
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port, size=200_000)
    assert ev.stage == "data" and _codes(ev) == ["send.too_large"]
    assert 200_000 <= len(script.messages[0]) <= 200_100  # the size asked, dot-stuffing aside
    # The body is not copied into the transcript.
    assert max(len(line) for line in ev.transcript) < 400


async def test_size_find_bisects_without_a_declared_limit() -> None:
    limit = 3_333_333

    def mail(line: bytes) -> bytes:
        m = re.search(rb"SIZE=(\d+)", line)
        if m and int(m.group(1)) > limit:
            return b"552 5.3.4 Message size exceeds fixed limit"
        return b"250 2.1.0 Ok"

    script = fa.Script(password=PW, size=0, mail=mail)  # "SIZE 0": no limit declared
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port, find_size=True)
    assert ev.size_limit == limit
    assert len(ev.size_search) <= account.MAX_SIZE_TRIES
    assert "send.size_limit" in _codes(ev) and ev.stage == "sent"
    assert len(script.messages) == 1  # the search itself sent nothing


async def test_size_find_needs_the_size_extension() -> None:
    script = fa.Script(password=PW)
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port, find_size=True)
    assert ev.size_limit is None and "declares no SIZE" in ev.note


async def test_imap_check_finds_the_message_in_junk() -> None:
    script = fa.Script(password=PW)
    log: list[bytes] = []
    async with (
        fake.serve(fa.smtp_auth(script)) as smtp,
        fake.serve(fa.imap_auth("Bob-Pw-2", log=log, junk="Junk")) as imap,
    ):
        ev = await _send(
            smtp,
            imap_check=True,
            to_password=Secret("Bob-Pw-2"),
            imap_ports=((imap, False),),
            wait_s=2.0,
        )
    d = ev.delivery
    assert d is not None and d.found and d.junk and d.folder == "Junk"
    assert d.delay_s is not None and 0 <= d.delay_s < 2.0
    assert d.authentication_results == (
        "Authentication-Results: fake.example; spf=pass smtp.mailfrom=x",
    )
    assert _codes(ev) == ["send.ok", "send.landed_in_junk"]
    assert any(b"X-Maildoctor-Token " + ev.token.encode() in line for line in log)


async def test_imap_check_gives_up_in_bounded_time() -> None:
    script = fa.Script(password=PW)
    async with (
        fake.serve(fa.smtp_auth(script)) as smtp,
        fake.serve(fa.imap_auth("Bob-Pw-2", junk="Nowhere")) as imap,
    ):
        ev = await _send(
            smtp,
            imap_check=True,
            to_password=Secret("Bob-Pw-2"),
            imap_ports=((imap, False),),
            wait_s=0.5,
        )
    d = ev.delivery
    assert d is not None and not d.found and 0.5 <= d.waited_s < 2.0
    assert _codes(ev) == ["send.ok", "send.not_delivered"]


async def test_wrong_password_sends_nothing() -> None:
    script = fa.Script(password="another")
    async with fake.serve(fa.smtp_auth(script)) as port:
        ev = await _send(port)
    assert ev.stage == "auth" and _codes(ev) == ["send.auth_failed"]
    assert not any(line.startswith(b"MAIL") for line in script.log)
