"""Evidence from IMAP and POP3 sessions: greeting, capabilities, STARTTLS/STLS, login policy."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.server import StepFailure
from maildoctor.evidence.tls import TlsResult


@dataclass(frozen=True)
class MailboxSession:
    """One IMAP or POP3 conversation with one address on one port, as far as it went."""

    protocol: str  # "imap" | "pop3"
    host: str
    ip: str
    port: int
    implicit_tls: bool = False  # 993 / 995 (RFC 8314 3.3)
    connect_s: float | None = None
    greeting: str = ""
    greeting_ok: bool = False  # IMAP "* OK"/"* PREAUTH", POP3 "+OK"
    capabilities: tuple[str, ...] = ()  # before TLS on 143/110, after TLS on 993/995
    starttls_offered: bool = False  # STARTTLS (IMAP, RFC 3501 6.2.1) / STLS (POP3, RFC 2595)
    # Whether the server lets a client send a password before TLS (None: not known):
    # IMAP without LOGINDISABLED (RFC 3501 6.2.3), POP3 offering USER or a SASL mechanism.
    plaintext_login: bool | None = None
    login_evidence: str = ""
    tls: TlsResult | None = None
    capabilities_tls: tuple[str, ...] = ()
    failure: StepFailure | None = None
    transcript: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        where = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.host} ({where}:{self.port})"


@dataclass(frozen=True)
class MailboxEvidence:
    target: str
    protocol: str  # "imap" | "pop3"
    host: str = ""
    host_source: str = ""
    sessions: tuple[MailboxSession, ...] = ()
    note: str = ""
    skipped: tuple[tuple[str, str], ...] = ()  # (address, why it was not connected to)
