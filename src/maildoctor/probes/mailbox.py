"""IMAP and POP3 probes: the client-facing host on 143/993 and 110/995.

Each session: connect, (implicit TLS on 993/995), greeting, CAPABILITY / CAPA, and on the
plaintext ports whether a password could be sent before TLS (IMAP LOGINDISABLED, POP3 USER or
SASL PLAIN/LOGIN), then STARTTLS / STLS with the TLS facts and the capabilities after TLS.
Never logs in. Sessions are cached per IP:port for the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

from maildoctor.evidence.dns import MxEvidence
from maildoctor.evidence.mailbox import MailboxEvidence, MailboxSession
from maildoctor.evidence.server import PROTOCOL, RATE_LIMITED, StepFailure
from maildoctor.evidence.tls import TlsResult
from maildoctor.net import certs
from maildoctor.net.stream import NetError, Stream, TlsError, TlsInfo, connect
from maildoctor.probes import ProbeContext, probe
from maildoctor.probes.servers import (
    client_host,
    failure,
    greeting_wait,
    legacy_tls,
    once,
    reachable,
    rename_tls,
    tls_failed,
)
from maildoctor.protocols import imap, pop3

MAX_ADDRESSES = 4
# RFC 6186 3.2/3.3 SRV labels (implicit TLS first, RFC 8314 5.1), host names to try, ports.
SERVICES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[int, bool], ...]]] = {
    "imap": (("_imaps._tcp", "_imap._tcp"), ("imap", "mail"), ((143, False), (993, True))),
    "pop3": (("_pop3s._tcp", "_pop3._tcp"), ("pop", "pop3", "mail"), ((110, False), (995, True))),
}


class _Stop(Exception):
    pass


class _Run:
    """The state of one session while it runs."""

    def __init__(self, protocol: str, host: str, ip: str, port: int, implicit: bool) -> None:
        self.s = MailboxSession(
            protocol=protocol, host=host, ip=ip, port=port, implicit_tls=implicit
        )
        self.info: TlsInfo | None = None
        self.tag = 0

    def set(self, **kw: object) -> None:
        self.s = replace(self.s, **kw)  # type: ignore[arg-type]

    def next_tag(self) -> bytes:
        self.tag += 1
        return f"md{self.tag}".encode()


async def _tls(run: _Run, stream: Stream, timeout: float) -> None:
    try:
        run.info = await stream.start_tls(run.s.host, timeout)
    except TlsError as exc:
        run.set(tls=tls_failed(run.s.host, exc), failure=failure("tls", exc))
        raise _Stop from None


async def _imap_command(
    stream: Stream, run: _Run, command: bytes, timeout: float
) -> tuple[str, list[bytes]]:
    tag = run.next_tag()
    await stream.write(tag + b" " + command, timeout)
    lines = await stream.read_reply(imap.tagged_end(tag), timeout)
    return imap.tagged_status(lines, tag), lines


async def _imap(ctx: ProbeContext, stream: Stream, run: _Run) -> None:
    step = ctx.settings.step_timeout
    if run.s.implicit_tls:
        await _tls(run, stream, step)
    line = (await stream.read_reply(imap.tagged_end(b"*"), greeting_wait(ctx)))[-1]
    greeting = imap.parse_greeting(line)
    run.set(
        greeting=greeting.text if greeting.status else line.decode("utf-8", "replace")[:200],
        greeting_ok=greeting.ok,
    )
    if greeting.status == "BYE":
        run.set(
            failure=StepFailure(
                "greeting",
                RATE_LIMITED if "too many" in greeting.text.lower() else "rejected",
                greeting.text,
            )
        )
        raise _Stop
    if not greeting.ok:
        run.set(failure=StepFailure("greeting", PROTOCOL, "not an IMAP greeting"))
        raise _Stop
    status, lines = await _imap_command(stream, run, b"CAPABILITY", step)
    caps = imap.capabilities(lines) or greeting.capabilities
    run.set(capabilities=caps)
    if not run.s.implicit_tls:
        allowed = imap.login_allowed_in_clear(caps)
        run.set(
            starttls_offered="STARTTLS" in caps,
            plaintext_login=allowed,
            login_evidence=(
                "before TLS the capabilities lack LOGINDISABLED: " + " ".join(caps)
                if allowed
                else "LOGINDISABLED before TLS"
            ),
        )
        if "STARTTLS" in caps:
            status, _ = await _imap_command(stream, run, b"STARTTLS", step)
            if status == "OK":
                await _tls(run, stream, step)
                _, lines = await _imap_command(stream, run, b"CAPABILITY", step)
                run.set(capabilities_tls=imap.capabilities(lines))
    with contextlib.suppress(NetError):
        await _imap_command(stream, run, b"LOGOUT", step)


async def _pop3(ctx: ProbeContext, stream: Stream, run: _Run) -> None:
    step = ctx.settings.step_timeout
    if run.s.implicit_tls:
        await _tls(run, stream, step)
    line = (await stream.read_reply(pop3.is_single_line_end, greeting_wait(ctx)))[-1]
    st = pop3.status(line)
    run.set(greeting=line.decode("utf-8", "replace")[:200], greeting_ok=st == "+OK")
    if st != "+OK":
        kind = "rejected" if st == "-ERR" else PROTOCOL
        if b"too many" in line.lower() or b"[in-use]" in line.lower():
            kind = RATE_LIMITED
        run.set(failure=StepFailure("greeting", kind, run.s.greeting))
        raise _Stop
    await stream.write(b"CAPA", step)
    lines = await stream.read_reply(pop3.multiline_end(), step)
    caps = pop3.capabilities(lines) if pop3.status(lines[0]) == "+OK" else ()
    run.set(capabilities=caps)
    if not run.s.implicit_tls:
        allowed = pop3.login_allowed_in_clear(caps)
        offered = any(c.upper() == "STLS" for c in caps)
        run.set(
            starttls_offered=offered,
            plaintext_login=allowed if caps else None,
            login_evidence=(
                "before TLS CAPA offers: " + "; ".join(caps)
                if allowed
                else "no USER or SASL PLAIN/LOGIN before TLS"
            ),
        )
        if offered:
            await stream.write(b"STLS", step)
            reply = await stream.read_reply(pop3.is_single_line_end, step)
            if pop3.status(reply[-1]) == "+OK":
                await _tls(run, stream, step)
                await stream.write(b"CAPA", step)
                lines = await stream.read_reply(pop3.multiline_end(), step)
                run.set(capabilities_tls=pop3.capabilities(lines))
    with contextlib.suppress(NetError):
        await stream.write(b"QUIT", step)
        await stream.read_reply(pop3.is_single_line_end, step)


async def _session(
    ctx: ProbeContext, protocol: str, host: str, ip: str, port: int, implicit: bool
) -> MailboxSession:
    run = _Run(protocol, host, ip, port, implicit)
    talk = _imap if protocol == "imap" else _pop3
    lines: list[str] = []
    try:
        async with connect(ctx.limits, ip, port, timeout=ctx.settings.step_timeout) as stream:
            lines = stream.transcript.lines
            run.set(connect_s=stream.connect_s)
            try:
                await talk(ctx, stream, run)
            except _Stop:
                pass
            except NetError as exc:
                step = (
                    "greeting"
                    if not run.s.greeting
                    else ("tls" if run.s.starttls_offered and run.info is None else "capability")
                )
                if run.s.implicit_tls and run.info is None:
                    step = "tls"
                run.set(failure=failure(step, exc))
    except NetError as exc:
        run.set(failure=failure("connect", exc))
    tls = run.s.tls
    if run.info is not None:
        legacy: str | None = None
        detail = ""
        if run.info.version in ("TLSv1", "TLSv1.1"):
            legacy, detail = run.info.version, f"negotiated {run.info.version} by default"
        elif implicit:
            legacy, detail = await legacy_tls(ctx, ip, port, host, software="mailbox")
        tls = replace(
            certs.judge(run.info, host, ctx.settings.ca_file, legacy), legacy_detail=detail
        )
    plaintext = ""
    f = run.s.failure
    if implicit and f is not None and f.step == "tls" and f.kind != "read_timeout":
        plaintext = await _plaintext_greeting(ctx, ip, port)
    return replace(
        run.s,
        tls=tls if isinstance(tls, TlsResult) else None,
        greeting=run.s.greeting or plaintext,
        transcript=tuple(lines),
    )


async def _plaintext_greeting(ctx: ProbeContext, ip: str, port: int) -> str:
    """After a failed implicit-TLS handshake: a plaintext greeting on the port, if any."""
    try:
        async with connect(ctx.limits, ip, port, timeout=ctx.settings.step_timeout) as stream:
            line = (await stream.read_reply(pop3.is_single_line_end, ctx.settings.step_timeout))[-1]
            if line.startswith((b"* OK", b"+OK", b"* PREAUTH")):
                return line.decode("utf-8", "replace")[:200]
    except NetError:
        pass
    return ""


async def mailbox_session(
    ctx: ProbeContext, protocol: str, host: str, ip: str, port: int, implicit: bool
) -> MailboxSession:
    session: MailboxSession = await once(
        ctx, (protocol, ip, port), lambda: _session(ctx, protocol, host, ip, port, implicit)
    )
    if session.host != host:
        session = replace(session, host=host, tls=rename_tls(session.tls, host))
    return session


async def _probe(ctx: ProbeContext, mx: MxEvidence, protocol: str) -> MailboxEvidence:
    srv, names, ports = SERVICES[protocol]
    found = await client_host(ctx, mx, srv, names)
    if found is None:
        return MailboxEvidence(ctx.target, protocol, note="no client-facing host found")
    keep, skipped = reachable(ctx, found.addresses)
    jobs = [
        mailbox_session(ctx, protocol, found.name, ip, port, implicit)
        for ip in keep[:MAX_ADDRESSES]
        for port, implicit in ports
    ]
    sessions = await asyncio.gather(*jobs)
    return MailboxEvidence(
        ctx.target,
        protocol,
        host=found.name,
        host_source=found.source,
        sessions=tuple(sessions),
        skipped=tuple(skipped),
    )


@probe("mailbox.imap", after=("dns.mx",))
async def probe_imap(ctx: ProbeContext, mx: MxEvidence) -> MailboxEvidence:
    """IMAP on 143 (STARTTLS, RFC 9051 6.2.1) and 993 (implicit TLS, RFC 8314 3.3)."""
    return await _probe(ctx, mx, "imap")


@probe("mailbox.pop3", after=("dns.mx",))
async def probe_pop3(ctx: ProbeContext, mx: MxEvidence) -> MailboxEvidence:
    """POP3 on 110 (STLS, RFC 2595 4) and 995 (implicit TLS, RFC 8314 3.3)."""
    return await _probe(ctx, mx, "pop3")
