"""TLS rules on every mail port: implicit TLS missing, handshake failure, obsolete protocols,
and the certificate (expired, expiring, name, trust, key), each its own finding."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

from maildoctor.addresses import parse_ip
from maildoctor.checks import CheckContext, check
from maildoctor.checks.servers import Session, evidence, s_client, where
from maildoctor.evidence.mailbox import MailboxEvidence, MailboxSession
from maildoctor.evidence.smtp import SmtpEvidence, SmtpSession
from maildoctor.evidence.tls import TlsResult
from maildoctor.report import Finding, NotChecked, Severity

EXPIRING_DAYS = 21
LEGACY = ("TLSv1", "TLSv1.1", "SSLv3")

CODES = (
    "tls.ok",
    "tls.implicit_tls_missing",
    "tls.handshake_failed",
    "tls.protocol_obsolete",
    "tls.cert_expired",
    "tls.cert_expiring",
    "tls.cert_hostname_mismatch",
    "tls.cert_untrusted",
    "tls.weak_key",
)


def _weak(key_type: str, bits: int) -> bool:
    # RFC 8603 4 / CA/B Forum: RSA and DSA under 2048 bits, EC under 224 bits.
    if key_type in ("RSA", "DSA"):
        return 0 < bits < 2048
    if key_type.startswith("EC"):
        return 0 < bits < 224
    return False


def _plaintext(s: Session) -> str:
    if isinstance(s, SmtpSession) and s.plaintext_greeting is not None:
        return s.plaintext_greeting.show()
    if isinstance(s, MailboxSession) and s.greeting and not s.tls:
        return s.greeting
    return ""


def tls_findings(ctx: CheckContext, s: Session, mx_port: bool) -> Iterator[Finding | NotChecked]:
    """Findings about one session's TLS; STARTTLS failures on SMTP are smtp.starttls_failed."""
    tls: TlsResult | None = s.tls
    if tls is None:
        return
    subject = s.subject
    if not tls.ok:
        if not s.implicit_tls and isinstance(s, SmtpSession):
            return  # smtp.starttls_failed says it
        if s.failure is not None and s.failure.kind == "read_timeout":
            return  # a silent server: the no-greeting finding says it
        plain = _plaintext(s)
        if s.implicit_tls and plain:
            yield ctx.finding(
                "tls.implicit_tls_missing",
                subject=subject,
                evidence=evidence(s, f"{tls.error}; a plaintext connection got: {plain}"),
                port=s.port,
                host=s.host,
                greeting=plain,
            )
        else:
            yield ctx.finding(
                "tls.handshake_failed",
                subject=subject,
                evidence=evidence(s, tls.error),
                port=s.port,
                host=s.host,
                error=tls.error,
                s_client=s_client(s),
            )
        return
    # On 25, senders encrypt opportunistically and rarely verify the certificate (RFC 7435),
    # so certificate faults there are warnings; mail clients on the other ports refuse them.
    cert_severity = Severity.WARNING if mx_port else None
    problems = 0
    if tls.legacy_version in LEGACY:
        problems += 1
        yield ctx.finding(
            "tls.protocol_obsolete",
            subject=subject,
            evidence=evidence(s, tls.legacy_detail, 0),
            where=f"{s.host} ({where(s)})",
            version=tls.legacy_version,
        )
    elif tls.legacy_version is None and tls.legacy_detail:
        yield NotChecked(f"TLS 1.0/1.1 on {subject}", tls.legacy_detail)
    leaf = tls.leaf
    if leaf is None:
        yield NotChecked(
            f"certificate of {subject}", "the server sent no certificate we could read"
        )
        return
    now = tls.checked_at or datetime.now(UTC)
    place = f"{s.host} ({where(s)})"
    facts = (
        f"subject {leaf.subject}; issuer {leaf.issuer}; names {', '.join(leaf.names) or 'none'}; "
        f"valid {leaf.not_before:%Y-%m-%d} to {leaf.not_after:%Y-%m-%d}; "
        f"key {leaf.key_type} {leaf.key_bits}; sha256 {leaf.sha256[:16]}..."
    )
    if leaf.not_after < now:
        problems += 1
        yield ctx.finding(
            "tls.cert_expired",
            subject=subject,
            evidence=facts,
            where=place,
            until=f"{leaf.not_after:%Y-%m-%d}",
            days=(now - leaf.not_after).days,
            s_client=s_client(s),
        )
    elif (leaf.not_after - now).days < EXPIRING_DAYS:
        problems += 1
        yield ctx.finding(
            "tls.cert_expiring",
            subject=subject,
            evidence=facts,
            where=place,
            until=f"{leaf.not_after:%Y-%m-%d}",
            days=(leaf.not_after - now).days,
        )
    if tls.name_matches is False and parse_ip(s.host) is not None:
        # Given by address (check --host IP): which name clients use is unknown here.
        yield NotChecked(
            f"certificate name of {s.host}",
            "the server was given by address; give --host with the name clients use",
        )
    elif tls.name_matches is False:
        problems += 1
        others = " ".join(f"-d {n}" for n in leaf.names if n != s.host and "*" not in n)
        yield ctx.finding(
            "tls.cert_hostname_mismatch",
            subject=subject,
            evidence=facts,
            severity=cert_severity,
            host=s.host,
            where=place,
            names=", ".join(leaf.names) or "no name at all",
            others=others,
        )
    if tls.trusted is False:
        problems += 1
        yield ctx.finding(
            "tls.cert_untrusted",
            subject=subject,
            evidence=facts,
            severity=cert_severity,
            where=place,
            reason=tls.trust_error,
            host=s.host,
            s_client=s_client(s),
        )
    if _weak(leaf.key_type, leaf.key_bits):
        problems += 1
        yield ctx.finding(
            "tls.weak_key",
            subject=subject,
            evidence=facts,
            where=place,
            key=f"{leaf.key_type} {leaf.key_bits}-bit",
            host=s.host,
        )
    if not problems:
        yield ctx.finding(
            "tls.ok",
            subject=subject,
            evidence=facts,
            where=place,
            version=tls.version,
            cipher=tls.cipher,
            names=", ".join(leaf.names),
            until=f"{leaf.not_after:%Y-%m-%d}",
        )


# Findings about the certificate (and the TLS versions one server software accepts): one per
# certificate and name, naming every port that serves it, rather than one per port (a server
# often has one certificate on seven ports).
FOLDED_CODES = frozenset(
    {
        "tls.ok",
        "tls.protocol_obsolete",
        "tls.cert_expired",
        "tls.cert_expiring",
        "tls.cert_hostname_mismatch",
        "tls.cert_untrusted",
        "tls.weak_key",
    }
)


def _split(subject: str) -> tuple[str, str]:
    """'mail.example.com (192.0.2.1:993)' -> ('mail.example.com', '192.0.2.1:993')."""
    host, sep, rest = subject.partition(" (")
    return (host, rest.removesuffix(")")) if sep else ("", subject)


def _merge(group: list[Finding]) -> Finding:
    first = group[0]
    if len(group) == 1:
        return first
    # "mail.x (192.0.2.1:465)", "mail.x (192.0.2.1:993)", "mx.x (192.0.2.1:25)"
    #   -> "mail.x (192.0.2.1:465, 993); mx.x (192.0.2.1:25)"
    ports: dict[tuple[str, str], list[str]] = {}
    for f in group:
        host, place = _split(f.subject)
        ip, _, port = place.rpartition(":")
        ports.setdefault((host, ip), []).append(port)
    subject = "; ".join(
        f"{host} ({ip}:{', '.join(p)})" if host else f"{ip}:{', '.join(p)}"
        for (host, ip), p in ports.items()
    )
    return replace(
        first,
        subject=subject,
        title=first.title.replace(first.subject, subject),
        cause=first.cause.replace(first.subject, subject),
    )


def merge_by_certificate(items: Iterable[Finding | NotChecked]) -> Iterator[Finding | NotChecked]:
    """Fold certificate findings that share code, severity, name and certificate facts."""
    order: list[Finding | NotChecked | tuple[object, ...]] = []
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for item in items:
        if isinstance(item, Finding) and item.code in FOLDED_CODES:
            # A name mismatch is about the name the client uses; the rest about the certificate.
            name = _split(item.subject)[0] if item.code == "tls.cert_hostname_mismatch" else ""
            key = (item.code, item.severity, item.evidence, name)
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(item)
        elif item not in order:  # the same "not checked" from several ports once
            order.append(item)
    for entry in order:
        yield _merge(groups[entry]) if isinstance(entry, tuple) else entry


def _tls(
    ctx: CheckContext, evidences: Iterable[tuple[SmtpEvidence | MailboxEvidence, bool]]
) -> Iterator[Finding | NotChecked]:
    yield from merge_by_certificate(
        item
        for ev, mx_port in evidences
        for s in ev.sessions
        for item in tls_findings(ctx, s, mx_port=mx_port)
    )


def tls_mx(ctx: CheckContext, ev: SmtpEvidence) -> Iterator[Finding | NotChecked]:
    return _tls(ctx, [(ev, True)])


def tls_submission(ctx: CheckContext, ev: SmtpEvidence) -> Iterator[Finding | NotChecked]:
    return _tls(ctx, [(ev, False)])


def tls_imap(ctx: CheckContext, ev: MailboxEvidence) -> Iterator[Finding | NotChecked]:
    return _tls(ctx, [(ev, False)])


def tls_pop3(ctx: CheckContext, ev: MailboxEvidence) -> Iterator[Finding | NotChecked]:
    return _tls(ctx, [(ev, False)])


@check(
    needs=(),
    optional=("smtp.mx", "smtp.submission", "mailbox.imap", "mailbox.pop3"),
    codes=CODES,
)
def tls_all(
    ctx: CheckContext,
    mx: SmtpEvidence | None,
    submission: SmtpEvidence | None,
    imap: MailboxEvidence | None,
    pop3: MailboxEvidence | None,
) -> Iterator[Finding | NotChecked]:
    """TLS on every mail port of the run, certificate findings folded across ports."""
    evidences: list[tuple[SmtpEvidence | MailboxEvidence, bool]] = []
    if mx is not None:
        evidences.append((mx, True))
    evidences += [(ev, False) for ev in (submission, imap, pop3) if ev is not None]
    return _tls(ctx, evidences)
