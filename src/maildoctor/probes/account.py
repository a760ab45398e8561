"""Account probes: log in the ways mail clients do (`maildoctor auth`) and send one test message
through submission (`maildoctor send-test`), then look for it in the recipient's mailbox.

These probes need a password, so they are not registered with @probe: `maildoctor check`
plans every registered probe its checks need, and must never try to log in. The commands
build their plan from `auth_probes(request)` / `send_probes(request)` and run it with the
shared Runner (same limits, deadline and timings); the checks in checks/account.py and
checks/send.py read the evidence keys "account.auth" and "account.send", which no registered
probe produces, so `check` never runs them.

Every byte goes to the HOST given, over net/stream.py (per-IP slot, bounded replies, one
deadline per reply, credentials redacted in the transcript). No password is sent over a
connection whose certificate fails verification, or without TLS, unless --insecure.
Wrong passwords are not hammered: after MAX_REJECTIONS rejections nothing more is tried
(fail2ban bans after 5 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from maildoctor.addresses import parse_ip
from maildoctor.evidence.account import (
    ERROR,
    FAILED,
    NONE,
    NOT_OFFERED,
    OK,
    REQUIRES_TLS,
    SSL_TLS,
    STARTTLS,
    TEMPORARY,
    UNSUPPORTED,
    AccountEvidence,
    AuthAttempt,
    DeliveryCheck,
    PortTry,
    SendEvidence,
    SizeStep,
)
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.server import PROTOCOL, RATE_LIMITED, REJECTED, StepFailure
from maildoctor.evidence.smtp import Ehlo, Reply
from maildoctor.evidence.tls import TlsResult
from maildoctor.net import certs
from maildoctor.net.stream import NetError, Stream, Transcript, connect
from maildoctor.probes import ProbeContext, ProbeSpec
from maildoctor.probes.servers import failure, greeting_wait, reachable
from maildoctor.protocols import imap, pop3, sasl
from maildoctor.protocols.smtp import SmtpSyntaxError, is_last_line, parse_ehlo, parse_reply

OUR_NAME = "maildoctor.invalid"  # RFC 2606 2: our EHLO name, never a real host
MAX_REJECTIONS = 3
MAX_SIZE_TRIES = 32
MAX_SIZE = 2**31
DEFAULT_WAIT_S = 30.0
POLL_S = 0.5
JUNK_NAMES = re.compile(r"junk|spam|bulk|quarantine|unwanted|ind[eé]sirable", re.IGNORECASE)

# Tried in this order: one port per protocol first (implicit TLS, RFC 8314 3.3, the one
# clients are told to use), so a password rejected MAX_REJECTIONS times has met every
# protocol; the mailbox first, so that when it accepts the password an SMTP refusal can be
# pinned on the mechanism or the protocol rather than the password.
AUTH_PORTS: tuple[tuple[str, int, bool], ...] = (
    ("imap", 993, True),
    ("pop3", 995, True),
    ("smtp", 587, False),
    ("smtp", 465, True),
    ("imap", 143, False),
    ("pop3", 110, False),
)


@dataclass(frozen=True)
class AuthRequest:
    host: str
    user: str
    password: sasl.Secret
    insecure: bool = False
    ports: tuple[tuple[str, int, bool], ...] = AUTH_PORTS  # tests point these at fakes


SUBMISSION_PORTS = ((587, False), (465, True))  # RFC 6409, RFC 8314 3.3
IMAP_PORTS = ((993, True), (143, False))


@dataclass(frozen=True)
class SendRequest:
    host: str
    user: str
    password: sasl.Secret
    mail_from: str
    rcpt_to: str
    size: int = 0  # bytes; 0 the small default
    find_size: bool = False
    imap_check: bool = False
    to_user: str = ""
    to_password: sasl.Secret | None = None
    wait_s: float = DEFAULT_WAIT_S
    insecure: bool = False
    ports: tuple[tuple[int, bool], ...] = SUBMISSION_PORTS
    imap_ports: tuple[tuple[int, bool], ...] = IMAP_PORTS


class _Stop(Exception):
    pass


@dataclass
class _Budget:
    rejections: int = 0
    known_good: bool = False  # some login with this password succeeded in this run

    @property
    def spent(self) -> bool:
        return self.rejections >= MAX_REJECTIONS


@dataclass
class _Port:
    """A PortTry being built."""

    protocol: str
    host: str
    ip: str
    port: int
    implicit: bool
    fields: dict[str, Any] = field(default_factory=dict)
    attempts: list[AuthAttempt] = field(default_factory=list)

    def build(self, transcript: list[str]) -> PortTry:
        f = self.fields
        return PortTry(
            protocol=self.protocol,
            host=self.host,
            ip=self.ip,
            port=self.port,
            security=str(f.get("security", SSL_TLS if self.implicit else STARTTLS)),
            connected=bool(f.get("connected", False)),
            failure=f.get("failure"),
            tls=f.get("tls"),
            cert_problem=str(f.get("cert_problem", "")),
            before_tls=str(f.get("before_tls", "")),
            mechanisms=tuple(f.get("mechanisms", ())),
            attempts=tuple(self.attempts),
            skipped=str(f.get("skipped", "")),
            transcript=tuple(transcript),
        )


# ---------------------------------------------------------------- certificates and addresses


async def _tls(
    ctx: ProbeContext, stream: Stream, p: _Port | None, host: str
) -> tuple[TlsResult, str]:
    info = await stream.start_tls(host, ctx.settings.step_timeout)
    tls = certs.judge(info, host, ctx.settings.ca_file)
    problem = tls.refusal()
    if p is not None:
        p.fields.update(tls=tls, cert_problem=problem)
    return tls, problem


async def resolve(ctx: ProbeContext, host: str) -> tuple[list[str], str]:
    """The HOST's addresses to talk to (at most one: clients use one), or why there is none."""
    ip = parse_ip(host)
    if ip is not None:
        found: tuple[str, ...] = (str(ip),)
    else:
        a, aaaa = await asyncio.gather(ctx.dns.query(host, "A"), ctx.dns.query(host, "AAAA"))
        found = tuple(
            r for res in (a, aaaa) if res.status is DnsStatus.NOERROR for r in res.records
        )
        if not found:
            statuses = {a.status.value, aaaa.status.value}
            return [], f"{host} has no address (A: {a.status.value}, AAAA: {aaaa.status.value})" + (
                "" if statuses <= {"NOERROR", "NODATA", "NXDOMAIN"} else " - DNS failed"
            )
    keep, skipped = reachable(ctx, found)
    if not keep:
        return [], "; ".join(f"{ip} is {why}" for ip, why in skipped)
    return keep[:1], ""


# ---------------------------------------------------------------- SMTP


async def _smtp_reply(stream: Stream, timeout: float) -> Reply:
    return parse_reply(await stream.read_reply(is_last_line, timeout))


async def _smtp(stream: Stream, line: bytes, timeout: float) -> Reply:
    await stream.write(line, timeout)
    return await _smtp_reply(stream, timeout)


def smtp_auth_outcome(reply: Reply) -> str:
    """RFC 4954 6 and RFC 3463 codes -> the outcome of an AUTH."""
    text = reply.text.lower()
    if reply.code == 235:
        return OK
    if reply.code in (530, 538) or "starttls" in text or "5.7.11" in text:
        return REQUIRES_TLS  # 530 5.7.0 Must issue a STARTTLS command first; 538 5.7.11
    if reply.code == 535:
        return FAILED  # 535 5.7.8 Authentication credentials invalid
    if reply.code in (534, 504):
        return UNSUPPORTED  # 534 5.7.9 mechanism too weak; 504 5.5.4 unrecognized mechanism
    if reply.code == 503 and "not enabled" in text:
        return NOT_OFFERED  # Postfix: 503 5.5.1 Error: authentication not enabled
    if reply.code in (421, 454) or 400 <= reply.code < 500:
        return TEMPORARY  # 454 4.7.0 Temporary authentication failure
    return ERROR


async def _smtp_sasl(
    stream: Stream, mech: str, user: str, password: sasl.Secret, step: float
) -> Reply:
    """One AUTH exchange (RFC 4954 4); the transcript redacts everything after "AUTH"."""
    if mech == "PLAIN":
        return await _smtp(stream, b"AUTH PLAIN " + sasl.plain(user, password), step)
    if mech == "LOGIN":
        reply = await _smtp(stream, b"AUTH LOGIN", step)
        if reply.code != 334:
            return reply
        reply = await _smtp(stream, sasl.login_user(user), step)
        if reply.code != 334:
            return reply
        return await _smtp(stream, sasl.login_password(password), step)
    reply = await _smtp(stream, b"AUTH CRAM-MD5", step)
    if reply.code != 334:
        return reply
    challenge = sasl.decode_challenge(reply.lines[0] if reply.lines else "")
    if challenge is None:
        return await _smtp(stream, b"*", step)  # RFC 4954 4: "*" cancels
    return await _smtp(stream, sasl.cram_md5(user, password, challenge), step)


async def _smtp_ehlo(stream: Stream, step: float) -> Ehlo:
    reply = await _smtp(stream, f"EHLO {OUR_NAME}".encode(), step)
    if reply.code != 250:
        raise _Fail(REJECTED if reply.code != 421 else RATE_LIMITED, f"EHLO: {reply.show()}")
    return parse_ehlo(reply)


class _Fail(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


async def _smtp_prelude(ctx: ProbeContext, stream: Stream, p: _Port, host: str) -> tuple[Ehlo, str]:
    """Greeting, EHLO, STARTTLS, EHLO: (the EHLO where AUTH would go, security)."""
    step = ctx.settings.step_timeout
    if p.implicit:
        p.fields["step"] = "tls"
        await _tls(ctx, stream, p, host)
    p.fields["step"] = "greeting"
    greeting = await _smtp_reply(stream, greeting_wait(ctx))
    if greeting.code != 220:
        raise _Fail(RATE_LIMITED if greeting.code == 421 else REJECTED, greeting.show())
    p.fields["step"] = "ehlo"
    ehlo = await _smtp_ehlo(stream, step)
    if p.implicit:
        return ehlo, SSL_TLS
    if not ehlo.starttls:
        return ehlo, NONE
    if not ehlo.auth:
        # What a client set to "None" meets: AUTH before TLS, without any credential.
        probe = await _smtp(stream, b"AUTH PLAIN", step)
        if probe.code == 334:
            probe = await _smtp(stream, b"*", step)
        p.fields["before_tls"] = probe.show()
    else:
        p.fields["before_tls"] = "AUTH " + " ".join(ehlo.auth) + " offered before TLS"
    p.fields["step"] = "starttls"
    go = await _smtp(stream, b"STARTTLS", step)
    if go.code != 220:
        raise _Fail(REJECTED, f"STARTTLS: {go.show()}")
    p.fields["step"] = "tls"
    await _tls(ctx, stream, p, host)
    p.fields["step"] = "ehlo_tls"
    # RFC 3207 4.2: forget what was learnt before TLS, EHLO again.
    return await _smtp_ehlo(stream, step), STARTTLS


def _gate(p: _Port, security: str, insecure: bool) -> str:
    """Why no password goes over this connection, "" when it may."""
    problem = str(p.fields.get("cert_problem", ""))
    if problem and not insecure:
        return f"not tried: the certificate fails verification ({problem}); --insecure tries anyway"
    if security == NONE and not insecure:
        return "not tried: no TLS on this port, the password would travel in clear (--insecure)"
    return ""


async def _session(
    ctx: ProbeContext, p: _Port, talk: Callable[[Stream], Awaitable[None]]
) -> PortTry:
    """Connect, run `talk`, and record where it stopped and why."""
    step = ctx.settings.step_timeout
    transcript: list[str] = []
    try:
        async with connect(ctx.limits, p.ip, p.port, timeout=step) as stream:
            transcript = stream.transcript.lines
            p.fields["connected"] = True
            try:
                await talk(stream)
            except _Fail as exc:
                where = str(p.fields.get("step", "greeting"))
                p.fields["failure"] = StepFailure(where, exc.kind, exc.detail)
            except NetError as exc:
                p.fields["failure"] = failure(str(p.fields.get("step", "greeting")), exc)
            except SmtpSyntaxError as exc:
                where = str(p.fields.get("step", "greeting"))
                p.fields["failure"] = StepFailure(where, PROTOCOL, str(exc))
    except NetError as exc:
        p.fields["failure"] = failure("connect", exc)
    return p.build(transcript)


async def _smtp_login(
    stream: Stream,
    p: _Port,
    ehlo: Ehlo,
    req: AuthRequest,
    mech: str | None,
    budget: _Budget,
    step: float,
) -> None:
    tls = p.fields.get("security") != NONE
    if not ehlo.auth:
        probe = await _smtp(stream, b"AUTH PLAIN", step)
        if probe.code == 334:
            probe = await _smtp(stream, b"*", step)  # RFC 4954 4: "*" cancels
        outcome = smtp_auth_outcome(probe)
        outcome = NOT_OFFERED if outcome in (ERROR, UNSUPPORTED) else outcome
        p.attempts.append(AuthAttempt("", outcome, probe.show(), tls))
        return
    usable = sasl.usable(ehlo.auth)
    chosen = mech or (usable[0] if usable else "")
    if not chosen:
        offered = " ".join(ehlo.auth)
        p.attempts.append(AuthAttempt(offered, UNSUPPORTED, f"offers only {offered}", tls))
    elif budget.spent:
        p.fields["skipped"] = _spent()
    else:
        reply = await _smtp_sasl(stream, chosen, req.user, req.password, step)
        outcome = smtp_auth_outcome(reply)
        if outcome == FAILED:
            budget.rejections += 1
        p.attempts.append(AuthAttempt(chosen, outcome, reply.show(), tls))


async def _smtp_once(
    ctx: ProbeContext,
    req: AuthRequest,
    ip: str,
    port: int,
    implicit: bool,
    mech: str | None,
    budget: _Budget,
) -> PortTry:
    p = _Port("smtp", req.host, ip, port, implicit)
    step = ctx.settings.step_timeout

    async def talk(stream: Stream) -> None:
        ehlo, security = await _smtp_prelude(ctx, stream, p, req.host)
        p.fields.update(security=security, mechanisms=ehlo.auth, step="auth")
        gate = _gate(p, security, req.insecure)
        if gate:
            p.fields["skipped"] = gate
        else:
            await _smtp_login(stream, p, ehlo, req, mech, budget, step)
        await stream.write(b"QUIT", step)
        with contextlib.suppress(NetError, SmtpSyntaxError):
            await _smtp_reply(stream, step)

    return await _session(ctx, p, talk)


def _spent() -> str:
    return (
        f"not tried: the password was already rejected {MAX_REJECTIONS} times in this run; "
        "more tries could get this address banned (fail2ban's default is 5)"
    )


async def _smtp_port(
    ctx: ProbeContext, req: AuthRequest, ip: str, port: int, implicit: bool, budget: _Budget
) -> PortTry:
    """The first usable mechanism; when it works, each other offered one (a new session each:
    RFC 4954 4 forbids a second AUTH after success)."""
    first = await _smtp_once(ctx, req, ip, port, implicit, None, budget)
    # After a refusal, other mechanisms are tried only when the password is known to be good
    # (another login succeeded): then the refusal is the mechanism's, not the password's.
    if first.outcome != OK and not (first.outcome == FAILED and budget.known_good):
        return first
    attempts = list(first.attempts)
    transcript = list(first.transcript)
    done = {a.mechanism for a in first.attempts}
    for mech in sasl.usable(first.mechanisms):
        if mech in done or budget.spent:
            continue
        more = await _smtp_once(ctx, req, ip, port, implicit, mech, budget)
        attempts.extend(more.attempts)
        transcript.extend(["-- next session: AUTH " + mech, *more.transcript])
    return replace(first, attempts=tuple(attempts), transcript=tuple(transcript))


# ---------------------------------------------------------------- IMAP


class _Tags:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> bytes:
        self.n += 1
        return f"m{self.n}".encode()


def _until_tag(tag: bytes) -> Callable[[bytes], bool]:
    """is_last for a reply that may hold literals: only the tagged line ends it."""
    prefix = tag + b" "
    return lambda line: line.startswith(prefix)


async def _imap(
    stream: Stream, tags: _Tags, command: bytes, step: float
) -> tuple[str, list[bytes]]:
    tag = tags.next()
    await stream.write(tag + b" " + command, step)
    lines = await stream.read_reply(_until_tag(tag), step)
    return imap.tagged_status(lines, tag), lines


def imap_login_outcome(status: str, line: bytes) -> str:
    """RFC 5530 response codes -> the outcome of LOGIN / AUTHENTICATE."""
    text = line.upper()
    if status == "OK":
        return OK
    if b"[PRIVACYREQUIRED]" in text or b"LOGINDISABLED" in text:
        return REQUIRES_TLS
    if b"[UNAVAILABLE]" in text or b"[INUSE]" in text or b"[LIMIT]" in text:
        return TEMPORARY
    if status == "NO":
        return FAILED  # [AUTHENTICATIONFAILED], [AUTHORIZATIONFAILED], [EXPIRED] or none
    if status == "BAD" and b"MECHANISM" in text:
        return UNSUPPORTED
    return ERROR


async def _imap_login(
    stream: Stream,
    tags: _Tags,
    caps: tuple[str, ...],
    user: str,
    password: sasl.Secret,
    step: float,
) -> AuthAttempt:
    if "AUTH=PLAIN" in caps:
        tag = tags.next()
        await stream.write(tag + b" AUTHENTICATE PLAIN", step)
        lines = await stream.read_reply(
            lambda ln: ln.startswith(tag + b" ") or ln.startswith(b"+"), step
        )
        if lines[-1].startswith(b"+"):
            await stream.write(sasl.plain(user, password), step)
            lines = await stream.read_reply(_until_tag(tag), step)
        status = imap.tagged_status(lines, tag)
        return AuthAttempt("PLAIN", imap_login_outcome(status, lines[-1]), _show(lines[-1]), True)
    quoted_user = sasl.imap_quoted(user)
    quoted_pw = sasl.imap_quoted(password.reveal())
    if quoted_user is None or quoted_pw is None:
        return AuthAttempt(
            "IMAP LOGIN",
            UNSUPPORTED,
            "the user name or password needs an IMAP literal and the server offers no "
            "AUTH=PLAIN; not sent",
            True,
        )
    status, lines = await _imap(stream, tags, b"LOGIN " + quoted_user + b" " + quoted_pw, step)
    return AuthAttempt("IMAP LOGIN", imap_login_outcome(status, lines[-1]), _show(lines[-1]), True)


def _show(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:300]


async def _imap_session_open(
    ctx: ProbeContext, stream: Stream, p: _Port, tags: _Tags, host: str
) -> tuple[tuple[str, ...], str]:
    """Greeting, CAPABILITY, STARTTLS: (capabilities where the login goes, security)."""
    step = ctx.settings.step_timeout
    if p.implicit:
        p.fields["step"] = "tls"
        await _tls(ctx, stream, p, host)
    p.fields["step"] = "greeting"
    line = (await stream.read_reply(pop3.is_single_line_end, greeting_wait(ctx)))[-1]
    greeting = imap.parse_greeting(line)
    if not greeting.ok:
        kind = PROTOCOL if not greeting.status else REJECTED
        raise _Fail(kind, greeting.text or "not an IMAP greeting")
    p.fields["step"] = "capability"
    _, lines = await _imap(stream, tags, b"CAPABILITY", step)
    caps = imap.capabilities(lines) or greeting.capabilities
    if p.implicit:
        return caps, SSL_TLS
    if "LOGINDISABLED" in caps:
        # RFC 3501 6.2.3: LOGIN refused until STARTTLS.
        p.fields["before_tls"] = "LOGINDISABLED (RFC 3501 6.2.3): no login before STARTTLS"
    elif imap.login_allowed_in_clear(caps):
        p.fields["before_tls"] = "LOGIN allowed before TLS"
    if "STARTTLS" not in caps:
        return caps, NONE
    p.fields["step"] = "starttls"
    status, lines = await _imap(stream, tags, b"STARTTLS", step)
    if status != "OK":
        raise _Fail(REJECTED, f"STARTTLS: {_show(lines[-1])}")
    p.fields["step"] = "tls"
    await _tls(ctx, stream, p, host)
    p.fields["step"] = "capability"
    _, lines = await _imap(stream, tags, b"CAPABILITY", step)
    return imap.capabilities(lines) or caps, STARTTLS


async def _imap_port(
    ctx: ProbeContext, req: AuthRequest, ip: str, port: int, implicit: bool, budget: _Budget
) -> PortTry:
    p = _Port("imap", req.host, ip, port, implicit)
    step = ctx.settings.step_timeout
    tags = _Tags()

    async def talk(stream: Stream) -> None:
        caps, security = await _imap_session_open(ctx, stream, p, tags, req.host)
        mechs = tuple(c[5:] for c in caps if c.startswith("AUTH="))
        p.fields.update(security=security, mechanisms=mechs, step="login")
        gate = _gate(p, security, req.insecure)
        if gate:
            p.fields["skipped"] = gate
        elif "LOGINDISABLED" in caps and "AUTH=PLAIN" not in caps:
            p.attempts.append(
                AuthAttempt("IMAP LOGIN", REQUIRES_TLS, "LOGINDISABLED", security != NONE)
            )
        elif budget.spent:
            p.fields["skipped"] = _spent()
        else:
            attempt = await _imap_login(stream, tags, caps, req.user, req.password, step)
            if attempt.outcome == FAILED:
                budget.rejections += 1
            p.attempts.append(replace(attempt, tls=security != NONE))
        with contextlib.suppress(NetError):
            await _imap(stream, tags, b"LOGOUT", step)

    return await _session(ctx, p, talk)


def pop3_login_outcome(line: bytes) -> str:
    """RFC 2449 8 / RFC 3206 response codes -> the outcome of USER/PASS or AUTH."""
    if line.startswith(b"+OK"):
        return OK
    text = line.upper()
    if b"PLAINTEXT" in text or (b"TLS" in text and b"REQUIRED" in text):
        return REQUIRES_TLS  # Dovecot: -ERR [AUTH] Plaintext authentication disallowed...
    if b"[SYS/TEMP]" in text or b"[IN-USE]" in text or b"[LOGIN-DELAY]" in text:
        return TEMPORARY
    if line.startswith(b"-ERR"):
        return FAILED  # -ERR [AUTH] Authentication failed.
    return ERROR


async def _pop3(stream: Stream, line: bytes, step: float) -> bytes:
    await stream.write(line, step)
    return (await stream.read_reply(pop3.is_single_line_end, step))[-1]


async def _pop3_capa(stream: Stream, step: float) -> tuple[str, ...]:
    await stream.write(b"CAPA", step)
    lines = await stream.read_reply(pop3.multiline_end(), step)
    return pop3.capabilities(lines) if pop3.status(lines[0]) == "+OK" else ()


def _pop3_has(caps: tuple[str, ...], word: str) -> bool:
    return any(c.upper().split()[:1] == [word] for c in caps if c.split())


def _pop3_sasl(caps: tuple[str, ...]) -> tuple[str, ...]:
    for c in caps:
        words = c.upper().split()
        if words and words[0] == "SASL":
            return tuple(words[1:])
    return ()


async def _pop3_open(
    ctx: ProbeContext, stream: Stream, p: _Port, host: str
) -> tuple[tuple[str, ...], str]:
    """Greeting, CAPA, STLS: (capabilities where the login goes, security)."""
    step = ctx.settings.step_timeout
    if p.implicit:
        p.fields["step"] = "tls"
        await _tls(ctx, stream, p, host)
    p.fields["step"] = "greeting"
    line = (await stream.read_reply(pop3.is_single_line_end, greeting_wait(ctx)))[-1]
    if pop3.status(line) != "+OK":
        raise _Fail(REJECTED if line.startswith(b"-ERR") else PROTOCOL, _show(line))
    p.fields["step"] = "capa"
    caps = await _pop3_capa(stream, step)
    if p.implicit:
        return caps, SSL_TLS
    if caps and not pop3.login_allowed_in_clear(caps):
        p.fields["before_tls"] = "no USER or SASL PLAIN/LOGIN before STLS (RFC 2595 4)"
    elif caps:
        p.fields["before_tls"] = "USER/PASS allowed before TLS"
    if not _pop3_has(caps, "STLS"):
        return caps, NONE
    p.fields["step"] = "starttls"
    go = await _pop3(stream, b"STLS", step)
    if pop3.status(go) != "+OK":
        raise _Fail(REJECTED, f"STLS: {_show(go)}")
    p.fields["step"] = "tls"
    await _tls(ctx, stream, p, host)
    return await _pop3_capa(stream, step) or caps, STARTTLS


async def _pop3_port(
    ctx: ProbeContext, req: AuthRequest, ip: str, port: int, implicit: bool, budget: _Budget
) -> PortTry:
    p = _Port("pop3", req.host, ip, port, implicit)
    step = ctx.settings.step_timeout

    async def talk(stream: Stream) -> None:
        caps, security = await _pop3_open(ctx, stream, p, req.host)
        p.fields.update(security=security, mechanisms=_pop3_sasl(caps), step="login")
        gate = _gate(p, security, req.insecure)
        if gate:
            p.fields["skipped"] = gate
        elif budget.spent:
            p.fields["skipped"] = _spent()
        else:
            attempt = await _pop3_login(stream, caps, req.user, req.password, step)
            if attempt.outcome == FAILED:
                budget.rejections += 1
            p.attempts.append(replace(attempt, tls=security != NONE))
        with contextlib.suppress(NetError):
            await _pop3(stream, b"QUIT", step)

    return await _session(ctx, p, talk)


async def _pop3_login(
    stream: Stream, caps: tuple[str, ...], user: str, password: sasl.Secret, step: float
) -> AuthAttempt:
    if not caps or _pop3_has(caps, "USER"):
        # RFC 1939 7: USER then PASS; the transcript shows "USER [redacted]", "PASS [redacted]".
        line = await _pop3(stream, b"USER " + user.encode(), step)
        if line.startswith(b"+OK"):
            line = await _pop3(stream, b"PASS " + password.reveal().encode(), step)
        return AuthAttempt("USER", pop3_login_outcome(line), _show(line), True)
    if "PLAIN" in _pop3_sasl(caps):
        # RFC 5034 4: AUTH PLAIN, "+ " then the response.
        line = await _pop3(stream, b"AUTH PLAIN", step)
        if line.startswith(b"+") and not line.startswith(b"+OK"):
            line = await _pop3(stream, sasl.plain(user, password), step)
        return AuthAttempt("PLAIN", pop3_login_outcome(line), _show(line), True)
    return AuthAttempt(
        " ".join(_pop3_sasl(caps)) or "none",
        UNSUPPORTED,
        "neither USER nor SASL PLAIN offered: " + "; ".join(caps),
        True,
    )


# ---------------------------------------------------------------- auth probe


async def probe_auth(ctx: ProbeContext, req: AuthRequest) -> AccountEvidence:
    """Every client way in, in AUTH_PORTS order, one at a time (a login is not a race)."""
    addresses, note = await resolve(ctx, req.host)
    if not addresses:
        return AccountEvidence(req.host, req.user, insecure=req.insecure, note=note)
    ip = addresses[0]
    budget = _Budget()
    tries: list[PortTry] = []
    for protocol, port, implicit in req.ports:
        if protocol == "smtp":
            found = await _smtp_port(ctx, req, ip, port, implicit, budget)
        elif protocol == "imap":
            found = await _imap_port(ctx, req, ip, port, implicit, budget)
        else:
            found = await _pop3_port(ctx, req, ip, port, implicit, budget)
        budget.known_good = budget.known_good or found.outcome == OK
        tries.append(found)
    return AccountEvidence(req.host, req.user, tuple(addresses), req.insecure, tuple(tries))


def auth_probes(req: AuthRequest) -> dict[str, ProbeSpec]:
    return {"account.auth": ProbeSpec("account.auth", (), partial(probe_auth, req=req))}


# ---------------------------------------------------------------- send-test


def new_token() -> str:
    return "md-" + secrets.token_hex(6)


def build_message(req: SendRequest, token: str, size: int) -> tuple[bytes, str]:
    """A small text message (or one padded to `size` bytes); CRLF lines, dot-stuffed later."""
    domain = req.mail_from.rpartition("@")[2] or OUR_NAME
    message_id = f"<{token}@{domain}>"
    headers = [
        f"From: <{req.mail_from}>",
        f"To: <{req.rcpt_to}>",
        f"Subject: maildoctor send-test {token}",
        f"Date: {email.utils.formatdate(localtime=False, usegmt=True)}",
        f"Message-ID: {message_id}",
        f"X-Maildoctor-Token: {token}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    body = [
        "This is a test message sent by maildoctor send-test.",
        f"Token: {token}. It may be deleted.",
    ]
    text = "\r\n".join([*headers, "", *body]) + "\r\n"
    missing = size - len(text)
    if missing > 0:
        line = ("0123456789" * 8)[:76]
        pad = (line + "\r\n") * (missing // 78 + 1)
        text += pad[:missing]
        if not text.endswith("\r\n"):
            text = text[:-2] + "\r\n"
    return text.encode("ascii"), message_id


def _dot_stuff(data: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with "." gets one more."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines)


async def _send_body(stream: Stream, data: bytes, step: float) -> None:
    """The DATA content and the final "." without copying it into the transcript."""
    script = stream.transcript
    stream.transcript = Transcript()
    try:
        body = _dot_stuff(data)
        if body.endswith(b"\r\n"):
            body = body[:-2]
        # Large bodies get a deadline that grows with their size (1 s per MB on top).
        await stream.write(body + b"\r\n.", step + len(body) / 1_000_000)
    finally:
        stream.transcript = script
    script.note(f'message content: {len(data)} bytes (not shown), then "."')


async def _size_search(
    stream: Stream, req: SendRequest, advertised: int, step: float
) -> tuple[list[SizeStep], int | None, str]:
    """RFC 1870 6: bisect the declared size the server accepts at MAIL FROM (never DATA)."""
    steps: list[SizeStep] = []
    lo, hi = 0, 0  # largest accepted, smallest refused (0 = none yet)
    queue = [advertised, advertised + 1] if advertised > 0 else []

    async def attempt(size: int) -> bool | None:
        reply = await _smtp(stream, f"MAIL FROM:<{req.mail_from}> SIZE={size}".encode(), step)
        await _smtp(stream, b"RSET", step)
        if reply.code == 250:
            steps.append(SizeStep(size, True, reply.show()))
            return True
        if reply.code in (552, 452) or "5.3.4" in reply.text:
            steps.append(SizeStep(size, False, reply.show()))
            return False
        steps.append(SizeStep(size, False, reply.show()))
        return None

    size = 1 << 20
    while len(steps) < MAX_SIZE_TRIES:
        if queue:
            size = queue.pop(0)
        elif not hi:
            size = max(lo * 2, 1 << 20)
            if size > MAX_SIZE:
                break
        elif hi - lo <= 1:
            break
        else:
            size = (lo + hi) // 2
        ok = await attempt(size)
        if ok is None:
            return steps, None, steps[-1].reply
        if ok:
            lo = max(lo, size)
        else:
            hi = size if not hi else min(hi, size)
    if hi and hi - lo <= 1:
        return steps, lo, ""
    if not hi:
        return steps, None, f"no declared size up to {lo} bytes was refused"
    return steps, None, f"between {lo} and {hi} bytes after {len(steps)} tries"


async def _find_message(
    ctx: ProbeContext, req: SendRequest, ip: str, token: str, accepted_at: float
) -> DeliveryCheck:
    """Log in to the recipient's mailbox (IMAPS 993, else 143 + STARTTLS) and wait for the
    message by its token, in INBOX and the junk folders (RFC 6154 \\Junk or by name)."""
    step = ctx.settings.step_timeout
    login = req.to_user or req.rcpt_to
    assert req.to_password is not None
    transcript: list[str] = []
    searched: list[str] = []
    start = time.monotonic()
    last_error = ""
    for port, implicit in req.imap_ports:
        p = _Port("imap", req.host, ip, port, implicit)
        tags = _Tags()
        try:
            async with connect(ctx.limits, ip, port, timeout=step) as stream:
                transcript = stream.transcript.lines
                p.fields["connected"] = True
                caps, security = await _imap_session_open(ctx, stream, p, tags, req.host)
                gate = _gate(p, security, req.insecure)
                if gate:
                    return DeliveryCheck(
                        login, error=f"IMAP {port}: {gate}", transcript=tuple(transcript)
                    )
                attempt = await _imap_login(stream, tags, caps, login, req.to_password, step)
                if attempt.outcome != OK:
                    return DeliveryCheck(
                        login,
                        error=f"IMAP login as {login} on {port} refused: {attempt.reply}",
                        transcript=tuple(transcript),
                    )
                folders = await _folders(stream, tags, step)
                searched = [f for f, _ in folders]
                while True:
                    for name, junk in folders:
                        hit = await _search(stream, tags, name, token, step)
                        if hit is not None:
                            delay = round(time.monotonic() - accepted_at, 2)
                            headers = await _headers(stream, tags, hit, step)
                            with contextlib.suppress(NetError):
                                await _imap(stream, tags, b"LOGOUT", step)
                            return DeliveryCheck(
                                login,
                                True,
                                name,
                                junk,
                                delay,
                                round(time.monotonic() - start, 2),
                                tuple(headers),
                                tuple(searched),
                                transcript=tuple(transcript),
                            )
                    if time.monotonic() - accepted_at >= req.wait_s:
                        break
                    await asyncio.sleep(POLL_S)
                with contextlib.suppress(NetError):
                    await _imap(stream, tags, b"LOGOUT", step)
                return DeliveryCheck(
                    login,
                    waited_s=round(time.monotonic() - accepted_at, 2),
                    folders_searched=tuple(searched),
                    transcript=tuple(transcript),
                )
        except _Fail as exc:
            last_error = f"IMAP {port}: {exc.detail}"
            break
        except NetError as exc:
            last_error = f"IMAP {port}: {exc.detail}"
            if p.fields.get("connected"):
                break  # the server answered and failed: 143 would not do better
    return DeliveryCheck(
        login, error=last_error or "no IMAP port answered", transcript=tuple(transcript)
    )


_LIST = re.compile(rb'^\* LIST \(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.+)$', re.IGNORECASE)
MAX_FOLDERS = 500


async def _folders(stream: Stream, tags: _Tags, step: float) -> list[tuple[str, bool]]:
    """INBOX, then every folder flagged \\Junk (RFC 6154) or named like one."""
    _, lines = await _imap(stream, tags, b'LIST "" "*"', step)
    out: list[tuple[str, bool]] = [("INBOX", False)]
    for line in lines[:MAX_FOLDERS]:
        m = _LIST.match(line)
        if not m:
            continue
        flags, raw = m.group(1).lower(), m.group(2).strip()
        if raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
            raw = raw[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        elif raw.startswith(b"{"):
            continue
        name = raw.decode("utf-8", "replace")
        junk = b"\\junk" in flags or JUNK_NAMES.search(name) is not None
        if junk and name.upper() != "INBOX" and (name, True) not in out:
            out.append((name, True))
    return out


async def _search(stream: Stream, tags: _Tags, folder: str, token: str, step: float) -> str | None:
    quoted = sasl.imap_quoted(folder)
    if quoted is None:
        return None
    status, _ = await _imap(stream, tags, b"EXAMINE " + quoted, step)
    if status != "OK":
        return None
    status, lines = await _imap(
        stream, tags, b"UID SEARCH HEADER X-Maildoctor-Token " + token.encode(), step
    )
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == b"*" and parts[1].upper() == b"SEARCH":
            return parts[2].decode("ascii", "replace")
    return None


async def _headers(stream: Stream, tags: _Tags, uid: str, step: float) -> list[str]:
    """The message's Authentication-Results headers (RFC 8601), unfolded."""
    _, lines = await _imap(
        stream,
        tags,
        b"UID FETCH " + uid.encode() + b" (BODY.PEEK[HEADER.FIELDS (AUTHENTICATION-RESULTS)])",
        step,
    )
    out: list[str] = []
    for line in lines[1:-1]:
        if line in (b")", b"") or line.startswith(b"* "):
            continue
        text = _show(line)
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += " " + text.strip()
        else:
            out.append(text.strip())
    return [h for h in out if h.lower().startswith("authentication-results")][:10]


async def probe_send(ctx: ProbeContext, req: SendRequest) -> SendEvidence:
    """Submission 587 (STARTTLS; 465 when 587 does not answer), AUTH, MAIL, RCPT, DATA."""
    token = new_token()
    base = SendEvidence(req.host, req.user, req.mail_from, req.rcpt_to, token=token)
    addresses, note = await resolve(ctx, req.host)
    if not addresses:
        return replace(base, note=note, stage="connect")
    ip = addresses[0]
    result = base
    accepted_at: list[float] = []  # when the server said 250 after DATA, for the delay
    for port, implicit in req.ports:
        ev = replace(base, ip=ip, port=port)
        result = await _send_on(ctx, req, ev, implicit, accepted_at)
        if result.stage != "connect":
            break
    if result.stage == "sent" and req.imap_check and req.to_password is not None:
        started = accepted_at[0] if accepted_at else time.monotonic()
        delivery = await _find_message(ctx, req, ip, token, started)
        result = replace(result, delivery=delivery)
    return result


async def _submit(
    ctx: ProbeContext,
    stream: Stream,
    p: _Port,
    req: SendRequest,
    token: str,
    f: dict[str, Any],
    accepted_at: list[float],
) -> None:
    """RFC 6409 submission: TLS, AUTH, (the size search), MAIL, RCPT, DATA; _Verdict on a no."""
    step = ctx.settings.step_timeout
    ehlo, security = await _smtp_prelude(ctx, stream, p, req.host)
    f.update(security=security, advertised_size=ehlo.size, stage="auth")
    gate = _gate(p, security, req.insecure)
    usable = sasl.usable(ehlo.auth)
    if gate:
        raise _Verdict("auth", 0, gate.removeprefix("not tried: "))
    if not ehlo.auth:
        raise _Verdict(
            "auth",
            0,
            f"port {p.port} offers no AUTH, so no login is possible there (clients get "
            '"Relay access denied" for outside recipients)',
        )
    if not usable:
        raise _Verdict("auth", 0, f"port {p.port} offers only AUTH {' '.join(ehlo.auth)}")
    p.fields["step"] = "auth"
    reply = await _smtp_sasl(stream, usable[0], req.user, req.password, step)
    f["auth"] = AuthAttempt(usable[0], smtp_auth_outcome(reply), reply.show(), True)
    if reply.code != 235:
        raise _Verdict("auth", reply.code, reply.show())
    size_param = ehlo.has("SIZE")
    if req.find_size:
        p.fields["step"] = f["stage"] = "size"
        if not size_param:
            f["size_note"] = "the server declares no SIZE (RFC 1870): not searched"
        else:
            steps, limit, why = await _size_search(stream, req, ehlo.size or 0, step)
            f.update(size_search=tuple(steps), size_limit=limit, size_note=why)
    message, message_id = build_message(req, token, req.size)
    f.update(message_id=message_id, size=len(message))
    mail = f"MAIL FROM:<{req.mail_from}>" + (f" SIZE={len(message)}" if size_param else "")
    for stage, line, good in (
        ("mail", mail.encode(), (250,)),  # RFC 1870 6: SIZE= declared up front
        ("rcpt", f"RCPT TO:<{req.rcpt_to}>".encode(), (250, 251)),
        ("data", b"DATA", (354,)),
    ):
        p.fields["step"] = f["stage"] = stage
        reply = await _smtp(stream, line, step)
        if reply.code not in good:
            raise _Verdict(stage, reply.code, reply.show())
    await _send_body(stream, message, step)
    reply = await _smtp_reply(stream, step + len(message) / 1_000_000)
    if reply.code != 250:
        raise _Verdict("data", reply.code, reply.show())
    accepted_at.append(time.monotonic())
    f.update(stage="sent", reply_code=reply.code, reply=reply.show())
    await stream.write(b"QUIT", step)
    with contextlib.suppress(NetError, SmtpSyntaxError):
        await _smtp_reply(stream, step)


async def _send_on(
    ctx: ProbeContext,
    req: SendRequest,
    ev: SendEvidence,
    implicit: bool,
    accepted_at: list[float],
) -> SendEvidence:
    p = _Port("smtp", req.host, ev.ip, ev.port, implicit)
    f: dict[str, Any] = {}

    async def talk(stream: Stream) -> None:
        try:
            await _submit(ctx, stream, p, req, ev.token, f, accepted_at)
        except _Verdict as v:
            f.update(stage=v.stage, reply_code=v.code, reply=v.detail)
            with contextlib.suppress(NetError):
                await stream.write(b"QUIT", 1.0)

    pt = await _session(ctx, p, talk)
    stage = str(f.get("stage", ""))
    if pt.failure is not None:
        stage = "connect" if pt.failure.connect_failed else pt.failure.step
    return replace(
        ev,
        security=str(f.get("security", pt.security)),
        size=int(f.get("size", 0)),
        message_id=str(f.get("message_id", "")),
        advertised_size=f.get("advertised_size"),
        auth=f.get("auth"),
        stage=stage,
        reply_code=int(f.get("reply_code", 0)),
        reply=str(f.get("reply", "")),
        failure=pt.failure,
        tls=pt.tls,
        cert_problem=pt.cert_problem,
        size_search=tuple(f.get("size_search", ())),
        size_limit=f.get("size_limit"),
        note=str(f.get("size_note", "")),
        transcript=pt.transcript,
    )


class _Verdict(Exception):
    def __init__(self, stage: str, code: int, detail: str) -> None:
        super().__init__(detail)
        self.stage = stage
        self.code = code
        self.detail = detail


def send_probes(req: SendRequest) -> dict[str, ProbeSpec]:
    return {"account.send": ProbeSpec("account.send", (), partial(probe_send, req=req))}
