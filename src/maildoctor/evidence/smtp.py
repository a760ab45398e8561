"""Evidence from SMTP conversations: greetings, EHLO keywords, STARTTLS, the relay test."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.server import StepFailure
from maildoctor.evidence.tls import TlsResult


@dataclass(frozen=True)
class Reply:
    """One SMTP reply (RFC 5321 4.2): the code and the text of each line."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def show(self) -> str:
        first = self.lines[0] if self.lines else ""
        more = f" (+{len(self.lines) - 1} lines)" if len(self.lines) > 1 else ""
        return f"{self.code} {first}".rstrip() + more

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    @property
    def rate_limited(self) -> bool:
        # RFC 5321 4.2.3: 421 service not available, closing; used for "too many connections".
        return self.code == 421


@dataclass(frozen=True)
class Ehlo:
    """What an EHLO reply advertises (RFC 5321 4.1.1.1 and the extensions' RFCs)."""

    hostname: str  # the first word of the first line: the name the server calls itself
    keywords: tuple[str, ...]  # upper-case keywords, in order
    size: int | None = None  # RFC 1870: None not advertised, 0 advertised without a limit
    auth: tuple[str, ...] = ()  # SASL mechanisms (RFC 4954), upper case

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords

    @property
    def starttls(self) -> bool:
        return self.has("STARTTLS")


@dataclass(frozen=True)
class RelayTest:
    """MAIL FROM / RCPT TO for outside domains without AUTH; never DATA (RFC 5321 3.6)."""

    mail_from: str
    mail_reply: Reply | None
    rcpts: tuple[tuple[str, Reply], ...]  # recipient -> its reply

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(addr for addr, reply in self.rcpts if reply.positive)


@dataclass(frozen=True)
class SmtpSession:
    """One conversation with one server address on one port, as far as it went."""

    host: str  # the name the client uses (MX name on 25, the client-facing host otherwise)
    ip: str
    port: int
    implicit_tls: bool = False  # 465: TLS from the first byte (RFC 8314 3.3)
    connect_s: float | None = None
    greeting: Reply | None = None
    greeting_s: float | None = None
    greeting_wait_s: float = 0.0
    ehlo: Ehlo | None = None
    ehlo_reply: Reply | None = None
    used_helo: bool = False
    starttls_reply: Reply | None = None
    tls: TlsResult | None = None
    ehlo_tls: Ehlo | None = None  # EHLO again after TLS (RFC 3207 4.2: state is discarded)
    vrfy: Reply | None = None
    relay: RelayTest | None = None
    plaintext_greeting: Reply | None = None  # a TLS port that answered in plaintext
    failure: StepFailure | None = None  # where the session stopped early, if it did
    transcript: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        where = f"[{self.ip}]" if ":" in self.ip else self.ip
        return (
            f"{self.host} ({where}:{self.port})" if self.host != self.ip else f"{where}:{self.port}"
        )

    @property
    def rate_limited(self) -> bool:
        return self.failure is not None and self.failure.kind == "rate_limited"


@dataclass(frozen=True)
class SmtpEvidence:
    """Every SMTP session of one role: the MX servers on 25, or the submission host."""

    target: str
    role: str  # "mx" | "submission"
    host: str = ""  # the submission host, when role is submission
    host_source: str = ""  # how that host was found (SRV, name that exists, the MX)
    sessions: tuple[SmtpSession, ...] = ()
    note: str = ""  # why there is no session (no MX address...)
    skipped: tuple[tuple[str, str], ...] = ()  # (address, why it was not connected to)
