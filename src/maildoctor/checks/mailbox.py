"""IMAP and POP3 rules: reachable, greeting, plaintext login before TLS (RFC 9051, RFC 2595)."""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.checks.servers import evidence, stopped, where
from maildoctor.evidence.mailbox import MailboxEvidence
from maildoctor.report import Finding, NotChecked

IMAP_CODES = ("imap.ok", "imap.unreachable", "imap.plaintext_login", "imap.bad_greeting")
POP3_CODES = ("pop3.ok", "pop3.unreachable", "pop3.plaintext_login", "pop3.bad_greeting")


def _mailbox(ctx: CheckContext, ev: MailboxEvidence) -> Iterator[Finding | NotChecked]:
    p = ev.protocol
    if not ev.sessions:
        why = "; ".join(f"{a}: {w}" for a, w in ev.skipped) or ev.note or "no host found"
        yield NotChecked(f"{p.upper()} of {ev.target}", why)
        return
    connected = [s for s in ev.sessions if s.connect_s is not None]
    no_route = [s.failure.detail for s in ev.sessions if s.failure and s.failure.kind == "no_route"]
    if not connected and len(no_route) == len(ev.sessions):  # about this machine, not the server
        yield NotChecked(f"{p.upper()} of {ev.host}", no_route[0])
        return
    if not connected:
        reasons = "; ".join(
            f"{where(s)}: {s.failure.kind if s.failure else '?'}" for s in ev.sessions
        )
        yield ctx.finding(
            f"{p}.unreachable",
            subject=ev.host,
            evidence="\n".join(
                f"{where(s)}: {s.failure.detail if s.failure else '?'}" for s in ev.sessions
            ),
            host=ev.host,
            ports=reasons,
        )
        return
    summary: list[str] = []
    problems = 0
    for s in ev.sessions:
        f = s.failure
        if s.connect_s is None:
            summary.append(f"{s.port}: {f.kind if f else 'no connection'}")
            continue
        if f is not None and f.kind == "rate_limited":
            yield NotChecked(f"{p.upper()} {s.subject}", stopped(f))
            continue
        if f is not None and f.step == "tls" and s.implicit_tls and f.kind != "read_timeout":
            continue  # tls.* findings
        if not s.greeting_ok:
            problems += 1
            what = (
                f"greeted with {s.greeting!r}"
                if s.greeting
                else f"sent no greeting ({f.detail if f else 'nothing'})"
            )
            yield ctx.finding(
                f"{p}.bad_greeting",
                subject=s.subject,
                evidence=evidence(s, what),
                host=s.host,
                port=s.port,
                what=what,
            )
            continue
        if s.plaintext_login is None and not s.implicit_tls:
            yield NotChecked(
                f"{p.upper()} login before TLS on {s.subject}",
                "the server lists no capabilities (no CAPA), so whether it takes a password "
                "in clear cannot be told without trying one",
            )
        if s.plaintext_login and not s.implicit_tls:
            problems += 1
            yield ctx.finding(
                f"{p}.plaintext_login",
                subject=s.subject,
                evidence=evidence(s, s.login_evidence),
                host=s.host,
                port=s.port,
                how=s.login_evidence,
            )
            continue
        if s.implicit_tls:
            tls_word = "implicit TLS"
        else:
            tls_word = "STARTTLS" if s.starttls_offered else "no STARTTLS"
        summary.append(f"{s.port}: {tls_word}, login only after TLS")
    if not problems:
        yield ctx.finding(
            f"{p}.ok",
            subject=ev.host,
            evidence="; ".join(summary),
            host=ev.host,
            summary="; ".join(summary),
        )


@check(needs=("mailbox.imap",), codes=IMAP_CODES)
def imap_server(ctx: CheckContext, ev: MailboxEvidence) -> Iterator[Finding | NotChecked]:
    yield from _mailbox(ctx, ev)


@check(needs=("mailbox.pop3",), codes=POP3_CODES)
def pop3_server(ctx: CheckContext, ev: MailboxEvidence) -> Iterator[Finding | NotChecked]:
    yield from _mailbox(ctx, ev)
