"""Helpers the server checks share (ports, SMTP, TLS, IMAP/POP3): session subjects, service
names, how a stopped session reads. Registers no check itself."""

from __future__ import annotations

from maildoctor.evidence.mailbox import MailboxSession
from maildoctor.evidence.server import StepFailure
from maildoctor.evidence.smtp import SmtpSession

SERVICES = {
    25: "SMTP, incoming mail from other servers",
    587: "SMTP submission with STARTTLS, for mail clients",
    465: "SMTP submission over implicit TLS, for mail clients",
    143: "IMAP with STARTTLS",
    993: "IMAP over implicit TLS",
    110: "POP3 with STARTTLS",
    995: "POP3 over implicit TLS",
}

Session = SmtpSession | MailboxSession


STARTTLS = {25: "smtp", 587: "smtp", 143: "imap", 110: "pop3"}


def s_client(session: Session) -> str:
    """The openssl command that shows what a client sees on this port."""
    starttls = STARTTLS.get(session.port)
    opt = f" -starttls {starttls}" if starttls and not session.implicit_tls else ""
    return (
        f"openssl s_client{opt} -connect {session.host}:{session.port} -servername {session.host}"
    )


def where(session: Session) -> str:
    host = f"[{session.ip}]" if ":" in session.ip else session.ip
    return f"{host}:{session.port}"


def service(port: int) -> str:
    return SERVICES.get(port, f"port {port}")


def transcript(session: Session, limit: int = 12) -> str:
    """The last lines of a session's transcript: the evidence a finding cites."""
    if limit <= 0:
        return ""
    lines = list(session.transcript)
    if len(lines) > limit:
        lines = ["...", *lines[-limit:]]
    return "\n".join(lines)


def evidence(session: Session, text: str, limit: int = 12) -> str:
    script = transcript(session, limit)
    return f"{text}\n{script}" if script else text


def stopped(failure: StepFailure) -> str:
    """A sentence for NotChecked: why the rest of a session could not be observed."""
    if failure.kind == "rate_limited":
        return (
            f"the server answered 421 at {failure.step} ({failure.detail}): rate-limited or "
            "too many connections, inconclusive; try again later"
        )
    return f"the session stopped at {failure.step}: {failure.kind}: {failure.detail}"


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"
