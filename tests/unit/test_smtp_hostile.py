"""SMTP sessions against in-process fake servers: hostile behaviour ends within its timeout with
a finding or a not-checked, never a hang, a traceback or unbounded memory."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.port import mx_ports, submission_ports
from maildoctor.checks.smtp import smtp_mx, smtp_submission
from maildoctor.checks.tls import tls_mx, tls_submission
from maildoctor.evidence.smtp import SmtpEvidence, SmtpSession
from maildoctor.net.stream import MAX_REPLY
from maildoctor.probes import servers
from maildoctor.probes.runner import Runner
from maildoctor.probes.smtp import smtp_session
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Settings

from . import fake_smtp as fake

STEP = 1.0


@pytest.fixture(autouse=True)
def short_greeting_wait(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(servers, "GREETING_WAIT_MIN", 1.5)
    yield


def _ctx() -> object:
    return Runner(Settings(step_timeout=STEP)).context("fake.example")


async def _session(port: int, *, mx: bool = True, implicit: bool = False) -> SmtpSession:
    ctx = _ctx()
    return await smtp_session(
        ctx,  # type: ignore[arg-type]
        "fake.example",
        "127.0.0.1",
        port,
        mx=mx,
        implicit_tls=implicit,
    )


def _judge(s: SmtpSession, role: str = "mx") -> list[Finding | NotChecked]:
    c = CheckContext(Settings(step_timeout=STEP), catalogue.load())
    ev = SmtpEvidence("fake.example", role, sessions=(s,))
    if role == "mx":
        return [*mx_ports(c, ev), *smtp_mx(c, ev), *tls_mx(c, ev)]
    return [*submission_ports(c, ev), *smtp_submission(c, ev), *tls_submission(c, ev)]


def _codes(items: list[Finding | NotChecked]) -> set[str]:
    return {i.code for i in items if isinstance(i, Finding)}


async def _timed(handler: fake.Handler, **kw: bool) -> tuple[SmtpSession, float]:
    async with fake.serve(handler) as port:
        t0 = time.monotonic()
        s = await _session(port, **kw)
        return s, time.monotonic() - t0


async def test_endless_greeting_is_cut_at_the_byte_bound() -> None:
    s, took = await _timed(fake.endless_220)
    assert s.failure is not None and s.failure.kind == "too_long"
    assert took < 2.0
    assert "smtp.bad_banner" in _codes(_judge(s))


async def test_one_megabyte_line_is_cut_at_the_byte_bound() -> None:
    s, took = await _timed(fake.one_mb_line)
    assert s.failure is not None and s.failure.kind == "too_long"
    assert str(MAX_REPLY) in s.failure.detail and took < 2.0
    assert "smtp.bad_banner" in _codes(_judge(s))


async def test_one_byte_a_second_hits_one_deadline_for_the_whole_reply() -> None:
    s, took = await _timed(fake.one_byte_a_second)
    # One deadline for the reply (the greeting wait, 1.5 s here), not one per read.
    assert s.failure is not None and s.failure.kind == "read_timeout"
    assert 1.4 < took < 2.5
    found = _judge(s)
    assert _codes(found) == {"port.ok", "smtp.no_banner"}


async def test_binary_garbage_is_a_bad_banner() -> None:
    s, took = await _timed(fake.binary_garbage)
    assert s.failure is not None and s.failure.kind == "protocol" and took < 1.0
    (bad,) = [f for f in _judge(s) if isinstance(f, Finding) and f.code == "smtp.bad_banner"]
    assert "another program" in bad.cause


async def test_close_mid_reply() -> None:
    s, took = await _timed(fake.close_mid_reply)
    assert s.failure is not None and s.failure.kind == "closed" and took < 1.0
    assert "smtp.bad_banner" in _codes(_judge(s))


async def test_silent_server_is_no_banner() -> None:
    s, took = await _timed(fake.silent)
    assert s.failure is not None and s.failure.step == "greeting"
    assert took < 2.5
    assert "smtp.no_banner" in _codes(_judge(s))


async def test_tls_garbage_after_starttls_still_offers_starttls() -> None:
    s, took = await _timed(fake.smtp_server(starttls_garbage=True))
    assert took < 2.5
    codes = _codes(_judge(s))
    assert "smtp.starttls_failed" in codes
    assert "smtp.starttls_missing" not in codes  # it IS offered; the handshake fails


async def test_good_server_with_self_signed_certificate() -> None:
    s, _ = await _timed(fake.smtp_server(tls=fake.self_signed("fake.example")))
    assert s.failure is None and s.tls is not None and s.tls.ok
    assert s.ehlo_tls is not None and s.ehlo_tls.auth == ("PLAIN", "LOGIN")
    assert s.relay is not None and not s.relay.accepted
    assert any(line.startswith("C: RSET") for line in s.transcript)
    assert not any("DATA" in line for line in s.transcript)  # never DATA
    codes = _codes(_judge(s))
    # A bad certificate is its own finding; STARTTLS is still offered.
    assert "tls.cert_untrusted" in codes and "smtp.starttls_missing" not in codes
    assert "smtp.open_relay" not in codes and "smtp.size_limit_low" in codes


async def test_open_relay_is_critical() -> None:
    s, _ = await _timed(fake.smtp_server(tls=fake.self_signed(), relay=True))
    found = [f for f in _judge(s) if isinstance(f, Finding) and f.code == "smtp.open_relay"]
    assert len(found) == 1 and found[0].severity.label == "critical"
    assert "relay-test@maildoctor.invalid" in found[0].evidence


async def test_421_greeting_is_inconclusive_never_no_starttls() -> None:
    handler = fake.smtp_server(greeting=b"421 4.7.0 mx.fake.example Too many connections\r\n")
    s, _ = await _timed(handler)
    assert s.rate_limited
    found = _judge(s)
    assert not {"smtp.starttls_missing", "smtp.auth_not_offered"} & _codes(found)
    assert any(isinstance(n, NotChecked) and "421" in n.reason for n in found)


async def test_421_too_many_connections_is_smtp_busy() -> None:
    # Postfix's own words when smtpd_client_connection_count_limit is reached.
    text = b"421 4.7.0 mx.fake.example Error: too many connections from 127.0.0.1\r\n"
    s, took = await _timed(fake.smtp_server(greeting=text))
    assert took < 3.0 and s.failure is not None and s.failure.step == "greeting"
    found = _judge(s)
    busy = [f for f in found if isinstance(f, Finding) and f.code == "smtp.busy"]
    assert len(busy) == 1 and busy[0].severity.label == "warning"
    assert "Error: too many connections from 127.0.0.1" in busy[0].cause
    # Judged as an MX (port 25): the catalogue's cannot-send is narrowed away by the role.
    assert set(busy[0].symptoms) == {"overloaded", "cannot-receive"}
    on_submission = [
        f for f in _judge(s, "submission") if isinstance(f, Finding) and f.code == "smtp.busy"
    ]
    assert set(on_submission[0].symptoms) == {"overloaded", "cannot-send"}
    assert "smtp.bad_banner" not in _codes(found) and "smtp.ok" not in _codes(found)


async def test_implicit_tls_port_answering_plaintext() -> None:
    s, took = await _timed(fake.smtp_server(), implicit=True, mx=False)
    assert took < 3.0
    assert s.plaintext_greeting is not None and s.plaintext_greeting.code == 220
    assert "tls.implicit_tls_missing" in _codes(_judge(s, "submission"))


async def test_submission_without_auth_and_auth_in_clear() -> None:
    no_auth = fake.smtp_server(tls=fake.self_signed(), ehlo_tls_lines=("SIZE 52428800",))
    s, _ = await _timed(no_auth, mx=False)
    assert "smtp.auth_not_offered" in _codes(_judge(s, "submission"))
    clear = fake.smtp_server(ehlo_lines=("SIZE 52428800", "AUTH PLAIN LOGIN"))
    s, _ = await _timed(clear, mx=False)
    codes = _codes(_judge(s, "submission"))
    assert {"smtp.auth_before_tls", "smtp.starttls_missing"} <= codes
    assert "smtp.size_limit" in codes


async def test_refused_port() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    s = await _session(port)
    assert s.failure is not None and s.failure.kind == "refused"
    assert _codes(_judge(s)) == {"port.refused"}


async def test_connect_timeout_is_bounded() -> None:
    # A full listen backlog makes the kernel drop SYNs: a filtered port, on loopback.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(8):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    await asyncio.sleep(0.1)
    try:
        t0 = time.monotonic()
        s = await _session(port)
        took = time.monotonic() - t0
    finally:
        for c in fillers:
            c.close()
        srv.close()
    assert took < STEP + 2.0
    assert s.failure is not None
    if s.failure.step == "connect":
        assert s.failure.kind == "timeout"
        assert _codes(_judge(s)) == {"port.timeout"}
    else:  # the kernel accepted after all; then the silent greeting is the finding
        assert "smtp.no_banner" in _codes(_judge(s))


async def test_sessions_are_cached_per_ip_and_port_within_a_run() -> None:
    connections = 0
    inner = fake.smtp_server(tls=fake.self_signed("fake.example"))

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await inner(reader, writer)

    async with fake.serve(counting) as port:
        ctx = _ctx()
        a, b = await asyncio.gather(
            smtp_session(ctx, "fake.example", "127.0.0.1", port, mx=True),  # type: ignore[arg-type]
            smtp_session(ctx, "other.example", "127.0.0.1", port, mx=True),  # type: ignore[arg-type]
        )
    # One SMTP session plus the legacy-TLS handshake, shared by both names.
    assert connections == 2
    assert a.tls is not None and b.tls is not None
    assert a.tls.name_matches is True and b.tls.name_matches is False  # judged per name


async def test_at_most_two_connections_per_server_address() -> None:
    open_now = peak = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        try:
            await asyncio.sleep(0.3)
            writer.write(b"554 5.3.2 go away\r\n")
            await writer.drain()
        finally:
            open_now -= 1

    ctx = _ctx()
    async with contextlib.AsyncExitStack() as stack:
        # Five ports of one address (like 25, 465, 587, 143, 993 of one server).
        ports = [await stack.enter_async_context(fake.serve(slow)) for _ in range(5)]
        t0 = time.monotonic()
        sessions = await asyncio.gather(
            *(smtp_session(ctx, "fake.example", "127.0.0.1", p) for p in ports)  # type: ignore[arg-type]
        )
        took = time.monotonic() - t0
    assert all(s.failure is not None and s.failure.kind == "rejected" for s in sessions)
    assert peak == 2 and took >= 0.9  # three rounds of two


async def test_helo_fallback_when_ehlo_is_unknown() -> None:
    s, _ = await _timed(fake.smtp_server(knows_ehlo=False))
    assert s.used_helo and s.failure is None
    assert s.ehlo is not None and s.ehlo.keywords == ()
    assert any(line == "C: HELO maildoctor.invalid" for line in s.transcript)
    # No EHLO keywords at all: no STARTTLS, said as a warning on 25, nothing worse.
    assert "smtp.starttls_missing" in _codes(_judge(s))
