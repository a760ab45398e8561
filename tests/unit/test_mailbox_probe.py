"""IMAP and POP3 sessions against in-process fakes: good servers, plaintext login, hostile
behaviour ending within the timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.mailbox import imap_server, pop3_server
from maildoctor.evidence.mailbox import MailboxEvidence, MailboxSession
from maildoctor.probes import servers
from maildoctor.probes.mailbox import mailbox_session
from maildoctor.probes.runner import Runner
from maildoctor.report import Finding
from maildoctor.settings import Settings

from . import fake_smtp as fake

STEP = 1.0


@pytest.fixture(autouse=True)
def short_greeting_wait(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(servers, "GREETING_WAIT_MIN", 1.5)
    yield


async def _send(w: asyncio.StreamWriter, data: bytes) -> None:
    w.write(data)
    await w.drain()


def imap_fake(*, logindisabled: bool = True) -> fake.Handler:
    tls = fake.self_signed("mail.fake.example")

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _send(w, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
        in_tls = False
        while line := await r.readline():
            tag, _, cmd = line.strip().partition(b" ")
            cmd = cmd.upper()
            if cmd == b"CAPABILITY":
                caps = b"IMAP4rev1 AUTH=PLAIN" if in_tls else b"IMAP4rev1 STARTTLS"
                if not in_tls and logindisabled:
                    caps += b" LOGINDISABLED"
                await _send(w, b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
            elif cmd == b"STARTTLS":
                await _send(w, tag + b" OK Begin TLS\r\n")
                await w.start_tls(tls)
                in_tls = True
            elif cmd == b"LOGOUT":
                await _send(w, b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                await _send(w, tag + b" BAD unknown\r\n")

    return handle


def pop3_fake(*, user_in_clear: bool) -> fake.Handler:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _send(w, b"+OK POP3 ready\r\n")
        while line := await r.readline():
            cmd = line.strip().upper()
            if cmd == b"CAPA":
                caps = b"+OK\r\nTOP\r\nUIDL\r\n" + (b"USER\r\n" if user_in_clear else b"")
                await _send(w, caps + b".\r\n")
            elif cmd == b"QUIT":
                await _send(w, b"+OK bye\r\n")
                return
            else:
                await _send(w, b"-ERR unknown\r\n")

    return handle


async def _run(handler: fake.Handler, protocol: str) -> tuple[MailboxSession, float]:
    ctx = Runner(Settings(step_timeout=STEP)).context("fake.example")
    async with fake.serve(handler) as port:
        t0 = time.monotonic()
        s = await mailbox_session(ctx, protocol, "mail.fake.example", "127.0.0.1", port, False)
        return s, time.monotonic() - t0


def _codes(s: MailboxSession) -> list[str]:
    c = CheckContext(Settings(), catalogue.load())
    ev = MailboxEvidence("fake.example", s.protocol, s.host, "test", (s,))
    rule = imap_server if s.protocol == "imap" else pop3_server
    return [f.code for f in rule(c, ev) if isinstance(f, Finding)]


async def test_imap_starttls_and_logindisabled() -> None:
    s, _ = await _run(imap_fake(), "imap")
    assert s.starttls_offered and s.plaintext_login is False
    assert s.tls is not None and s.tls.ok and "AUTH=PLAIN" in s.capabilities_tls
    assert _codes(s) == ["imap.ok"]


async def test_imap_plaintext_login() -> None:
    s, _ = await _run(imap_fake(logindisabled=False), "imap")
    assert s.plaintext_login is True
    assert _codes(s) == ["imap.plaintext_login"]


async def test_pop3_user_in_clear_and_not() -> None:
    s, _ = await _run(pop3_fake(user_in_clear=True), "pop3")
    assert _codes(s) == ["pop3.plaintext_login"]
    s, _ = await _run(pop3_fake(user_in_clear=False), "pop3")
    assert s.plaintext_login is False and _codes(s) == ["pop3.ok"]


@pytest.mark.parametrize(
    "handler",
    [fake.binary_garbage, fake.one_mb_line, fake.endless_220, fake.silent, fake.close_mid_reply],
)
@pytest.mark.parametrize("protocol", ["imap", "pop3"])
async def test_hostile_greetings_end_in_time(handler: fake.Handler, protocol: str) -> None:
    s, took = await _run(handler, protocol)
    assert took < 2.5
    assert _codes(s) == [f"{protocol}.bad_greeting"]


async def test_pop3_without_capa_is_not_checked_not_guessed() -> None:
    async def no_capa(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _send(w, b"+OK ready\r\n")
        while line := await r.readline():
            if line.strip().upper() == b"QUIT":
                await _send(w, b"+OK bye\r\n")
                return
            await _send(w, b"-ERR unknown command\r\n")

    s, _ = await _run(no_capa, "pop3")
    assert s.plaintext_login is None
    c = CheckContext(Settings(), catalogue.load())
    ev = MailboxEvidence("fake.example", "pop3", s.host, "test", (s,))
    found = list(pop3_server(c, ev))
    assert any(not isinstance(f, Finding) and "CAPA" in f.reason for f in found)
    assert "pop3.plaintext_login" not in [f.code for f in found if isinstance(f, Finding)]
