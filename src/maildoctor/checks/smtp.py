"""SMTP rules: greeting, EHLO keywords, STARTTLS, AUTH, VRFY, size limit, the relay test, and
the greeting name against reverse DNS (RFC 5321, RFC 3207, RFC 4954, RFC 1870)."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import replace

from maildoctor.checks import ROLE_SYMPTOMS, CheckContext, check
from maildoctor.checks.servers import evidence, human_size, stopped, where
from maildoctor.evidence.ptr import PtrEvidence
from maildoctor.evidence.smtp import Ehlo, SmtpEvidence, SmtpSession
from maildoctor.report import Finding, NotChecked, Severity

SLOW_GREETING_S = 3.0
LOW_SIZE = 25 * 1024 * 1024  # what the big providers accept; below it attachments bounce
INFO_EXTENSIONS = ("PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING")

CODES = (
    "smtp.ok",
    "smtp.slow_banner",
    "smtp.no_banner",
    "smtp.bad_banner",
    "smtp.size_limit",
    "smtp.size_limit_low",
    "smtp.starttls_missing",
    "smtp.starttls_failed",
    "smtp.auth_before_tls",
    "smtp.auth_not_offered",
    "smtp.vrfy_enabled",
    "smtp.extensions",
    "smtp.open_relay",
    "smtp.busy",
)


def _busy(ctx: CheckContext, s: SmtpSession, reply: str, when: str) -> Finding:
    """RFC 5321 4.2.3: 421 at the greeting or to EHLO: the server is over a limit."""
    return ctx.finding(
        "smtp.busy",
        subject=s.subject,
        evidence=evidence(s, reply),
        host=s.subject,
        port=s.port,
        reply=reply,
        when=when,
    )


def _greeting_problem(ctx: CheckContext, s: SmtpSession) -> Iterator[Finding | NotChecked]:
    f = s.failure
    assert f is not None
    if f.kind == "rate_limited":
        # The 421 is evidence of overload; what the session would have shown stays unseen.
        shown = s.greeting.show() if s.greeting is not None else f.detail
        yield _busy(ctx, s, shown, "at the greeting")
        yield NotChecked(f"SMTP {s.subject}", stopped(f))
    elif f.kind in ("read_timeout",) and s.greeting is None:
        yield ctx.finding(
            "smtp.no_banner",
            subject=s.subject,
            evidence=evidence(s, f.detail),
            host=s.subject,
            seconds=f"{s.greeting_wait_s:g}",
            port=s.port,
        )
    else:
        if s.greeting is not None:
            shown = s.greeting.show()
            meaning = (
                "A 554 greeting means the server will not talk to this client at all "
                "(RFC 5321 3.1): every message from here is refused."
                if s.greeting.code == 554
                else f"A {s.greeting.code} greeting refuses the session (RFC 5321 4.2.3)."
            )
        else:
            shown = f.detail
            meaning = {
                "protocol": "That is not an SMTP reply: another program answers on this port.",
                "too_long": "No SMTP server sends a greeting that long; the session was cut.",
                "closed": "The server closed the connection instead of greeting.",
            }.get(f.kind, "The session could not start.")
        yield ctx.finding(
            "smtp.bad_banner",
            subject=s.subject,
            evidence=evidence(s, shown),
            host=s.subject,
            greeting=shown,
            meaning=meaning,
            port=s.port,
        )


def _size(
    ctx: CheckContext, s: SmtpSession, size: int
) -> Generator[Finding | NotChecked, None, int]:
    """RFC 1870 4: SIZE n, the largest message the server accepts."""
    if size < LOW_SIZE:
        yield ctx.finding(
            "smtp.size_limit_low",
            subject=s.subject,
            evidence=evidence(s, f"SIZE {size}", 0),
            host=s.subject,
            size=human_size(size),
            bytes=size,
        )
        return 1
    yield ctx.finding(
        "smtp.size_limit",
        subject=s.subject,
        evidence=evidence(s, f"SIZE {size}", 0),
        host=s.subject,
        size=human_size(size),
        bytes=size,
        attachment=human_size(size * 3 // 4),
    )
    return 0


def _starttls(
    ctx: CheckContext, s: SmtpSession, role: str, before: Ehlo
) -> Generator[Finding | NotChecked, None, int]:
    """STARTTLS offered and working (RFC 3207 4), AUTH only after it (RFC 4954 4)."""
    n = 0
    if not before.starttls:
        n += 1
        consequence = (
            "senders deliver to it in plaintext, readable on the way, and senders that "
            "require TLS (MTA-STS, DANE) refuse to deliver"
            if role == "mx"
            else "mail clients cannot encrypt the session, so the password and the mail "
            "travel in clear; clients set to STARTTLS refuse to connect"
        )
        yield ctx.finding(
            "smtp.starttls_missing",
            subject=s.subject,
            evidence=evidence(s, "EHLO keywords: " + (" ".join(before.keywords) or "none")),
            severity=Severity.WARNING if role == "mx" else None,
            host=s.host,
            port=s.port,
            consequence=consequence,
        )
    elif s.starttls_reply is not None and s.starttls_reply.code != 220:
        if s.starttls_reply.rate_limited:
            yield NotChecked(
                f"STARTTLS of {s.subject}",
                f"the server answered {s.starttls_reply.show()}: rate-limited, inconclusive",
            )
        else:
            n += 1
            yield ctx.finding(
                "smtp.starttls_failed",
                subject=s.subject,
                evidence=evidence(s, s.starttls_reply.show()),
                host=s.host,
                port=s.port,
                what=f"the STARTTLS command is answered {s.starttls_reply.show()}",
            )
    elif s.tls is not None and not s.tls.ok:
        n += 1
        yield ctx.finding(
            "smtp.starttls_failed",
            subject=s.subject,
            evidence=evidence(s, s.tls.error),
            host=s.host,
            port=s.port,
            what=f"the handshake fails: {s.tls.error}",
        )
    if before.auth:
        n += 1
        yield ctx.finding(
            "smtp.auth_before_tls",
            subject=s.subject,
            evidence=evidence(s, "before TLS: AUTH " + " ".join(before.auth)),
            host=s.host,
            port=s.port,
            mechanisms=" ".join(before.auth),
        )
    return n


def _auth(
    ctx: CheckContext, s: SmtpSession, before: Ehlo, after: Ehlo | None
) -> Generator[Finding | NotChecked, None, int]:
    """RFC 6409 4.3 / RFC 4954 3: the submission port must offer AUTH once secured."""
    n = 0
    secured = s.implicit_tls or (s.tls is not None and s.tls.ok and s.ehlo_tls is not None)
    if secured and after is not None and not after.auth:
        n += 1
        yield ctx.finding(
            "smtp.auth_not_offered",
            subject=s.subject,
            evidence=evidence(s, "EHLO keywords after TLS: " + " ".join(after.keywords)),
            host=s.host,
            port=s.port,
            after=" after TLS",
        )
    elif not secured and not before.starttls and not before.auth:
        n += 1
        yield ctx.finding(
            "smtp.auth_not_offered",
            subject=s.subject,
            evidence=evidence(s, "EHLO keywords: " + " ".join(before.keywords)),
            host=s.host,
            port=s.port,
            after="",
        )
    elif not secured and before.starttls:
        yield NotChecked(f"AUTH on {s.subject}", "no TLS session, so AUTH after TLS unseen")
    return n


def _relay(ctx: CheckContext, s: SmtpSession) -> Generator[Finding | NotChecked, None, int]:
    """RFC 5321 7.1 / RFC 2505 2: no relaying for strangers."""
    n = 0
    f = s.failure
    relay = s.relay
    if relay is not None and relay.accepted:
        n += 1
        yield ctx.finding(
            "smtp.open_relay",
            subject=s.subject,
            evidence=evidence(s, "accepted: " + ", ".join(relay.accepted), 10),
            host=s.subject,
            accepted=", ".join(relay.accepted),
        )
    elif relay is None and f is not None:
        yield NotChecked(f"open relay test on {s.subject}", stopped(f))
    elif relay is not None and (
        relay.mail_reply is None
        or not relay.mail_reply.positive
        or any(400 <= r.code < 500 for _, r in relay.rcpts)
    ):
        why = relay.mail_reply.show() if relay.mail_reply else "no reply"
        if relay.mail_reply is not None and relay.mail_reply.positive:
            why = "; ".join(f"{a}: {r.show()}" for a, r in relay.rcpts)
        yield NotChecked(
            f"open relay test on {s.subject}", f"inconclusive, the server answered {why}"
        )
    return n


def _session(ctx: CheckContext, s: SmtpSession, role: str) -> Iterator[Finding | NotChecked]:
    f = s.failure
    if f is not None and f.step == "connect":
        return  # a port finding
    if s.implicit_tls and s.greeting is None and f is not None and f.step == "tls":
        if f.kind == "read_timeout":  # silent: it never answered the TLS handshake either
            yield ctx.finding(
                "smtp.no_banner",
                subject=s.subject,
                evidence=evidence(s, f.detail),
                host=s.subject,
                seconds=f"{ctx.settings.step_timeout:g}",
                port=s.port,
            )
        else:
            yield NotChecked(f"SMTP {s.subject}", "no TLS session, so no SMTP to observe")
        return
    if f is not None and f.step == "greeting":
        yield from _greeting_problem(ctx, s)
        return
    problems = 0
    if s.greeting is not None and s.greeting_s is not None and s.greeting_s > SLOW_GREETING_S:
        problems += 1
        yield ctx.finding(
            "smtp.slow_banner",
            subject=s.subject,
            evidence=evidence(s, f"220 greeting after {s.greeting_s:.1f} s", 6),
            host=s.subject,
            seconds=f"{s.greeting_s:.1f}",
            ip=s.ip,
            port=s.port,
        )
    if s.ehlo is None:
        if f is not None and f.kind == "rate_limited" and f.step == "ehlo":
            yield _busy(ctx, s, f.detail, "to EHLO")
        if f is not None:
            yield NotChecked(f"SMTP EHLO of {s.subject}", stopped(f))
        return
    before = s.ehlo
    after = s.ehlo_tls if not s.implicit_tls else s.ehlo
    # SIZE: what the server says after TLS is what a client will meet.
    final = after or before
    if final.size:
        problems += yield from _size(ctx, s, final.size)
    if not s.implicit_tls:
        problems += yield from _starttls(ctx, s, role, before)
    if role == "submission":
        problems += yield from _auth(ctx, s, before, after)
    if s.vrfy is not None and s.vrfy.code in (250, 251):
        problems += 1
        yield ctx.finding(
            "smtp.vrfy_enabled",
            subject=s.subject,
            evidence=evidence(s, s.vrfy.show(), 0),
            host=s.subject,
            reply=s.vrfy.show(),
        )
    offered = [k for k in INFO_EXTENSIONS if final.has(k)]
    missing = [k for k in INFO_EXTENSIONS if not final.has(k)]
    yield ctx.finding(
        "smtp.extensions",
        subject=s.subject,
        evidence=evidence(s, "EHLO keywords: " + " ".join(final.keywords), 0),
        host=s.subject,
        offered=", ".join(offered) or "none of them",
        missing=", ".join(missing) or "none",
    )
    if role == "mx":
        problems += yield from _relay(ctx, s)
    if f is not None and f.step in ("ehlo_tls", "starttls") and f.kind == "rate_limited":
        yield NotChecked(f"SMTP after TLS on {s.subject}", stopped(f))
    if not problems:
        greeted = f"{s.greeting_s:.2f}" if s.greeting_s is not None else "?"
        shown = s.greeting.show() if s.greeting else ""
        summary = ", ".join(
            x
            for x in (
                "STARTTLS" if before.starttls else "",
                f"AUTH {' '.join(final.auth)}" if final.auth else "",
                f"SIZE {human_size(final.size)}" if final.size else "",
                "relay refused" if s.relay is not None and not s.relay.accepted else "",
            )
            if x
        )
        yield ctx.finding(
            "smtp.ok",
            subject=s.subject,
            evidence=evidence(s, f"{where(s)} greeting: {shown}", 0),
            host=s.subject,
            seconds=greeted,
            summary=summary or "no extensions",
        )


# Faults in reaching a server explain only the symptoms of its role: no greeting on the MX
# stops mail coming in, on the submission host it stops people sending. (An open relay or a
# wrong HELO name explain what they explain whatever the role.)
ROLE_BOUND = frozenset(
    {
        "smtp.no_banner",
        "smtp.bad_banner",
        "smtp.slow_banner",
        "smtp.busy",
        "smtp.starttls_failed",
        "smtp.starttls_missing",
    }
)


def _for_role(found: Iterable[Finding | NotChecked], role: str) -> Iterator[Finding | NotChecked]:
    keep = ROLE_SYMPTOMS[role]
    for item in found:
        if isinstance(item, Finding) and item.code in ROLE_BOUND:
            yield replace(item, symptoms=tuple(x for x in item.symptoms if x in keep))
        else:
            yield item


@check(needs=("smtp.mx",), codes=CODES)
def smtp_mx(ctx: CheckContext, ev: SmtpEvidence) -> Iterator[Finding | NotChecked]:
    for s in ev.sessions:
        yield from _for_role(_session(ctx, s, "mx"), "mx")


@check(needs=("smtp.submission",), codes=CODES)
def smtp_submission(ctx: CheckContext, ev: SmtpEvidence) -> Iterator[Finding | NotChecked]:
    if not ev.sessions:
        why = "; ".join(f"{a}: {w}" for a, w in ev.skipped) or ev.note or "no host found"
        yield NotChecked(f"submission server of {ev.target}", why)
    for s in ev.sessions:
        yield from _for_role(_session(ctx, s, "submission"), "submission")


def _names(s: SmtpSession) -> tuple[str, ...]:
    out: list[str] = []
    if s.greeting is not None and s.greeting.code == 220 and s.greeting.lines:
        words = s.greeting.lines[0].split()
        if words:
            out.append(words[0].lower().rstrip("."))
    if s.ehlo is not None and s.ehlo.hostname and s.ehlo.hostname not in out:
        out.append(s.ehlo.hostname)
    return tuple(out)


@check(needs=("smtp.mx", "dns.ptr"), codes=("smtp.helo_mismatch",))
def helo_matches_ptr(
    ctx: CheckContext, ev: SmtpEvidence, ptr: PtrEvidence
) -> Iterator[Finding | NotChecked]:
    """RFC 5321 4.1.4: the name a server gives should be its own; receivers compare it with
    the reverse DNS of the address (the same server sends the domain's mail)."""
    for s in ev.sessions:
        names = _names(s)
        if not names:
            continue
        ptr_names = ptr.names(s.ip)
        if not ptr_names:
            continue  # no PTR: the PTR checks say so
        if any(n in ptr_names for n in names):
            continue
        confirmed = ptr.confirmed(s.ip)
        suggested = (confirmed or ptr_names)[0]
        yield ctx.finding(
            "smtp.helo_mismatch",
            subject=s.subject,
            evidence=evidence(
                s, f"greeting/EHLO name: {', '.join(names)}; PTR {s.ip}: {', '.join(ptr_names)}", 4
            ),
            host=s.host,
            ip=s.ip,
            helo=", ".join(names),
            ptr=", ".join(ptr_names),
            suggested=suggested,
        )
