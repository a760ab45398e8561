"""SMTP probes: every MX address on 25, and the client-facing host on 587 and 465.

Each session goes as far as the server lets it: connect, greeting (timed), EHLO (HELO as
fallback), VRFY (25 only), STARTTLS with the TLS facts and the certificate, EHLO again after
TLS, and on 25 the relay test (MAIL FROM and RCPT TO for reserved outside domains, never DATA,
then RSET and QUIT). Every server address is talked to at most twice at once; a session is
cached per IP:port for the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field, replace
from typing import TypeVar

from maildoctor.addresses import parse_ip
from maildoctor.evidence.dns import MxEvidence
from maildoctor.evidence.server import PROTOCOL, RATE_LIMITED, REJECTED, TLS, StepFailure
from maildoctor.evidence.smtp import Ehlo, RelayTest, Reply, SmtpEvidence, SmtpSession
from maildoctor.evidence.tls import TlsResult
from maildoctor.net import certs
from maildoctor.net.stream import NetError, Stream, TlsError, TlsInfo, connect
from maildoctor.probes import ProbeContext, probe
from maildoctor.probes.servers import (
    SLOW_GREETING_S,
    client_host,
    failure,
    greeting_wait,
    legacy_tls,
    once,
    reachable,
    rename_tls,
    tls_failed,
)
from maildoctor.protocols.smtp import SmtpSyntaxError, is_last_line, parse_ehlo, parse_reply

# RFC 2606 2: .invalid and .example can never be delivered to, so nothing could ever go out.
OUR_NAME = "maildoctor.invalid"
RELAY_FROM = "relay-test@maildoctor.example"
RELAY_TO = ("relay-test@maildoctor-relay-test.example", "relay-test@maildoctor.invalid")
MAX_MX_ADDRESSES = 16
MAX_CLIENT_ADDRESSES = 4
_T = TypeVar("_T")


class _Stop(Exception):
    """The session cannot go on; the failure is recorded."""


@dataclass
class _State:
    host: str
    ip: str
    port: int
    implicit_tls: bool
    mx: bool  # port 25 role: VRFY and the relay test
    fields: dict[str, object] = field(default_factory=dict)
    failure: StepFailure | None = None


async def _reply(stream: Stream, timeout: float) -> Reply:
    lines = await stream.read_reply(is_last_line, timeout)
    return parse_reply(lines)


async def _command(stream: Stream, line: str, timeout: float) -> Reply:
    await stream.write(line.encode("ascii"), timeout)
    return await _reply(stream, timeout)


async def _ehlo(stream: Stream, st: _State, timeout: float, step: str) -> tuple[Ehlo, Reply, bool]:
    reply = await _command(stream, f"EHLO {OUR_NAME}", timeout)
    if reply.rate_limited:
        st.failure = StepFailure(step, RATE_LIMITED, reply.show())
        raise _Stop
    if reply.code == 250:
        return parse_ehlo(reply), reply, False
    # RFC 5321 4.1.4: a server that does not know EHLO answers 500/502: fall back to HELO.
    helo = await _command(stream, f"HELO {OUR_NAME}", timeout)
    if helo.rate_limited:
        st.failure = StepFailure(step, RATE_LIMITED, helo.show())
        raise _Stop
    if helo.code != 250:
        st.failure = StepFailure(step, REJECTED, f"EHLO: {reply.show()}; HELO: {helo.show()}")
        raise _Stop
    return parse_ehlo(helo), helo, True


async def _greeting(stream: Stream, st: _State, wait: float) -> None:
    start = time.monotonic()
    greeting = await _reply(stream, wait)
    st.fields["greeting"] = greeting
    st.fields["greeting_s"] = round(time.monotonic() - start, 3)
    if greeting.rate_limited:
        st.failure = StepFailure("greeting", RATE_LIMITED, greeting.show())
        raise _Stop
    if greeting.code != 220:
        st.failure = StepFailure("greeting", REJECTED, greeting.show())
        raise _Stop


async def _relay(stream: Stream, timeout: float) -> RelayTest:
    mail = await _command(stream, f"MAIL FROM:<{RELAY_FROM}>", timeout)
    rcpts: list[tuple[str, Reply]] = []
    if mail.positive:
        for addr in RELAY_TO:
            rcpts.append((addr, await _command(stream, f"RCPT TO:<{addr}>", timeout)))
    await _command(stream, "RSET", timeout)  # never DATA
    return RelayTest(RELAY_FROM, mail, tuple(rcpts))


async def _conversation(ctx: ProbeContext, stream: Stream, st: _State) -> None:
    step = ctx.settings.step_timeout
    if st.implicit_tls:
        try:
            info = await stream.start_tls(st.host, step)
        except TlsError as exc:
            st.fields["tls"] = tls_failed(st.host, exc)
            st.failure = failure("tls", exc)
            raise _Stop from None
        st.fields["tls_info"] = info
    await _greeting(stream, st, greeting_wait(ctx))
    ehlo, reply, used_helo = await _ehlo(stream, st, step, "ehlo")
    st.fields.update(ehlo=ehlo, ehlo_reply=reply, used_helo=used_helo)
    if st.mx:
        # RFC 5321 3.5.3: VRFY answered 250/251 confirms addresses to harvesters.
        st.fields["vrfy"] = await _command(stream, "VRFY postmaster", step)
    if not st.implicit_tls and ehlo.starttls:
        go = await _command(stream, "STARTTLS", step)
        st.fields["starttls_reply"] = go
        if go.code == 220:
            try:
                st.fields["tls_info"] = await stream.start_tls(st.host, step)
            except TlsError as exc:
                st.fields["tls"] = tls_failed(st.host, exc)
                st.failure = failure("tls", exc)
                raise _Stop from None
            # RFC 3207 4.2: after TLS the client must forget what it knew and EHLO again.
            ehlo2, _, _ = await _ehlo(stream, st, step, "ehlo_tls")
            st.fields["ehlo_tls"] = ehlo2
        elif go.rate_limited:
            st.failure = StepFailure("starttls", RATE_LIMITED, go.show())
            raise _Stop
    if st.mx:
        st.fields["relay"] = await _relay(stream, step)
    await stream.write(b"QUIT", step)
    # The server may close without answering QUIT; nothing to learn from it.
    with contextlib.suppress(NetError, SmtpSyntaxError):
        await _reply(stream, step)


async def _starttls_prelude(ctx: ProbeContext, stream: Stream) -> bool:
    """For the legacy-TLS handshake: greeting, EHLO, STARTTLS on a fresh connection."""
    step = ctx.settings.step_timeout
    try:
        if (await _reply(stream, greeting_wait(ctx))).code != 220:
            return False
        if (await _command(stream, f"EHLO {OUR_NAME}", step)).code != 250:
            return False
        return (await _command(stream, "STARTTLS", step)).code == 220
    except (NetError, SmtpSyntaxError):
        return False


async def _plaintext_on_tls_port(ctx: ProbeContext, ip: str, port: int) -> Reply | None:
    """After a failed implicit-TLS handshake: does the port speak plaintext SMTP instead?"""
    step = ctx.settings.step_timeout
    try:
        async with connect(ctx.limits, ip, port, timeout=step) as stream:
            reply = await _reply(stream, step)
            await stream.write(b"QUIT", step)
            return reply
    except (NetError, SmtpSyntaxError):
        return None


async def smtp_session(
    ctx: ProbeContext,
    host: str,
    ip: str,
    port: int,
    *,
    implicit_tls: bool = False,
    mx: bool | None = None,
) -> SmtpSession:
    """One SMTP session (cached per IP:port for the run), judged against `host`.

    `mx` (default: port 25) adds VRFY and the relay test.
    """
    is_mx = port == 25 if mx is None else mx
    session: SmtpSession = await once(
        ctx, ("smtp", ip, port), lambda: _session(ctx, host, ip, port, implicit_tls, is_mx)
    )
    if session.host != host:
        session = replace(session, host=host, tls=rename_tls(session.tls, host))
    return session


async def _session(
    ctx: ProbeContext, host: str, ip: str, port: int, implicit_tls: bool, mx: bool
) -> SmtpSession:
    st = _State(host, ip, port, implicit_tls, mx)
    transcript_lines: list[str] = []
    connect_s: float | None = None
    try:
        async with connect(ctx.limits, ip, port, timeout=ctx.settings.step_timeout) as stream:
            transcript_lines = stream.transcript.lines
            connect_s = stream.connect_s
            try:
                await _conversation(ctx, stream, st)
            except _Stop:
                if st.failure is not None and st.failure.kind != TLS:
                    with contextlib.suppress(NetError):
                        await stream.write(b"QUIT", 1.0)
            except NetError as exc:
                st.failure = failure(_step_of(st), exc)
            except SmtpSyntaxError as exc:
                st.failure = StepFailure(_step_of(st), PROTOCOL, str(exc))
    except NetError as exc:
        st.failure = failure("connect", exc)
    f = st.fields
    tls = f.get("tls")
    info = f.get("tls_info")
    if isinstance(info, TlsInfo):
        greeting_s = _getf(f, "greeting_s") or 0.0
        if info.version in ("TLSv1", "TLSv1.1"):
            legacy, detail = info.version, f"negotiated {info.version} by default"
        elif not implicit_tls and greeting_s > SLOW_GREETING_S:
            # Politeness and time: a second session would wait for the slow greeting again.
            legacy, detail = None, f"not tried: the server takes {greeting_s:.1f} s to greet"
        else:
            legacy, detail = await legacy_tls(
                ctx,
                ip,
                port,
                host,
                None if implicit_tls else (lambda s: _starttls_prelude(ctx, s)),
                software="smtp",
            )
        tls = replace(certs.judge(info, host, ctx.settings.ca_file, legacy), legacy_detail=detail)
    plaintext: Reply | None = None
    # A plaintext greeting on a TLS port shows as a handshake error ("wrong version number"),
    # not as a timeout: a silent server is not asked again.
    f_ = st.failure
    if implicit_tls and f_ is not None and f_.step == "tls" and f_.kind != "read_timeout":
        plaintext = await _plaintext_on_tls_port(ctx, ip, port)
    return SmtpSession(
        host=host,
        ip=ip,
        port=port,
        implicit_tls=implicit_tls,
        connect_s=connect_s,
        greeting=_get(f, "greeting", Reply),
        greeting_s=_getf(f, "greeting_s"),
        greeting_wait_s=greeting_wait(ctx),
        ehlo=_get(f, "ehlo", Ehlo),
        ehlo_reply=_get(f, "ehlo_reply", Reply),
        used_helo=bool(f.get("used_helo", False)),
        starttls_reply=_get(f, "starttls_reply", Reply),
        tls=tls if isinstance(tls, TlsResult) else None,
        ehlo_tls=_get(f, "ehlo_tls", Ehlo),
        vrfy=_get(f, "vrfy", Reply),
        relay=_get(f, "relay", RelayTest),
        plaintext_greeting=plaintext,
        failure=st.failure,
        transcript=tuple(transcript_lines),
    )


def _get(fields: dict[str, object], name: str, kind: type[_T]) -> _T | None:
    value = fields.get(name)
    return value if isinstance(value, kind) else None


def _getf(fields: dict[str, object], name: str) -> float | None:
    value = fields.get(name)
    return float(value) if isinstance(value, int | float) else None


def _step_of(st: _State) -> str:
    """The step a session was at when it broke, from what it had got so far."""
    f = st.fields
    if "greeting" not in f:
        return "tls" if st.implicit_tls and "tls_info" not in f else "greeting"
    if "ehlo" not in f:
        return "ehlo"
    if "starttls_reply" in f and "tls_info" not in f:
        return "starttls"
    if "starttls_reply" in f and "ehlo_tls" not in f:
        return "ehlo_tls"
    if st.mx and "relay" not in f:
        return "relay" if "vrfy" in f else "vrfy"
    return "quit"


@probe("smtp.mx", after=("dns.mx",))
async def probe_smtp_mx(ctx: ProbeContext, mx: MxEvidence) -> SmtpEvidence:
    """Every MX address on port 25, all at once (at most two connections per address)."""
    targets: list[tuple[str, str]] = []
    for h in mx.hosts:
        for addr in h.addresses:
            if (h.target, addr) not in targets:
                targets.append((h.target, addr))
    if not mx.hosts and parse_ip(ctx.target) is not None:
        targets.append((ctx.target, ctx.target))  # check --host IP: that server itself
    elif not mx.hosts:
        # RFC 5321 5.1: no MX, the domain itself is the implicit MX.
        for res in (mx.fallback_a, mx.fallback_aaaa):
            if res is not None:
                targets.extend((mx.domain, r) for r in res.records)
    keep, skipped = reachable(ctx, [ip for _, ip in targets])
    targets = [(h, ip) for h, ip in targets if ip in keep][:MAX_MX_ADDRESSES]
    if not targets:
        note = "no MX address to connect to" if not skipped else "every MX address was skipped"
        return SmtpEvidence(ctx.target, "mx", note=note, skipped=tuple(skipped))
    sessions = await asyncio.gather(*(smtp_session(ctx, h, ip, 25) for h, ip in targets))
    return SmtpEvidence(ctx.target, "mx", sessions=tuple(sessions), skipped=tuple(skipped))


SUBMISSION_SRV = ("_submission._tcp", "_submissions._tcp")  # RFC 6186 3.1, RFC 8314 5.1


@probe("smtp.submission", after=("dns.mx",))
async def probe_smtp_submission(ctx: ProbeContext, mx: MxEvidence) -> SmtpEvidence:
    """The client-facing host on 587 (STARTTLS, RFC 6409) and 465 (implicit TLS, RFC 8314)."""
    found = await client_host(ctx, mx, SUBMISSION_SRV, ("smtp", "mail"))
    if found is None:
        return SmtpEvidence(ctx.target, "submission", note="no client-facing host found")
    keep, skipped = reachable(ctx, found.addresses)
    jobs = []
    for ip in keep[:MAX_CLIENT_ADDRESSES]:
        jobs.append(smtp_session(ctx, found.name, ip, 587))
        jobs.append(smtp_session(ctx, found.name, ip, 465, implicit_tls=True))
    sessions = await asyncio.gather(*jobs)
    return SmtpEvidence(
        ctx.target,
        "submission",
        host=found.name,
        host_source=found.source,
        sessions=tuple(sessions),
        skipped=tuple(skipped),
    )
