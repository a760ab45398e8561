"""Evidence from logging in with an account (`maildoctor auth`) and sending through it
(`maildoctor send-test`). Never holds a password: only what the servers answered."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.server import StepFailure
from maildoctor.evidence.tls import TlsResult

# Outcomes of one login attempt.
OK = "ok"  # accepted (235, IMAP OK, POP3 +OK)
FAILED = "failed"  # credentials rejected (535 5.7.8, NO [AUTHENTICATIONFAILED], -ERR)
REQUIRES_TLS = "requires_tls"  # 530 5.7.0 / LOGINDISABLED / [PRIVACYREQUIRED] before TLS
NOT_OFFERED = "not_offered"  # no AUTH at all on the port (503 "authentication not enabled")
UNSUPPORTED = "mechanism_unsupported"  # 504 / 534 5.7.9 / only mechanisms we cannot speak
TEMPORARY = "temporary"  # 454 4.7.0, [UNAVAILABLE], [SYS/TEMP], 421: inconclusive
ERROR = "error"  # anything else: the reply is kept

# Connection security, as Outlook and Thunderbird name it.
SSL_TLS = "SSL/TLS"
STARTTLS = "STARTTLS"
NONE = "None"


@dataclass(frozen=True)
class AuthAttempt:
    mechanism: str  # PLAIN, LOGIN, CRAM-MD5, IMAP LOGIN, USER (POP3 USER/PASS)
    outcome: str
    reply: str  # the server's answer, as it said it
    tls: bool  # the attempt went over TLS


@dataclass(frozen=True)
class PortTry:
    """One connection to one port of one protocol, as far as it went."""

    protocol: str  # smtp | imap | pop3
    host: str
    ip: str
    port: int
    security: str  # SSL/TLS (implicit), STARTTLS, None (no TLS offered)
    connected: bool = False
    failure: StepFailure | None = None
    tls: TlsResult | None = None
    cert_problem: str = ""  # why the certificate fails verification, "" when it passes
    # Before TLS on a STARTTLS port: what the server answered to a login attempt without the
    # password ("530 5.7.0 Must issue a STARTTLS command first", "LOGINDISABLED"...).
    before_tls: str = ""
    mechanisms: tuple[str, ...] = ()  # offered where the password would be sent
    attempts: tuple[AuthAttempt, ...] = ()
    skipped: str = ""  # why no password was sent here (bad certificate, no TLS, enough tries)
    transcript: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.protocol.upper()} {self.port} ({self.security})"

    @property
    def outcome(self) -> str:
        """The port's verdict on the password: ok if any mechanism worked, else the first."""
        if any(a.outcome == OK for a in self.attempts):
            return OK
        if any(a.outcome == FAILED for a in self.attempts):
            return FAILED
        return self.attempts[0].outcome if self.attempts else ""


@dataclass(frozen=True)
class AccountEvidence:
    host: str
    user: str
    addresses: tuple[str, ...] = ()
    insecure: bool = False
    tries: tuple[PortTry, ...] = ()
    note: str = ""  # why nothing was tried (name does not resolve, private address...)


@dataclass(frozen=True)
class SizeStep:
    size: int
    accepted: bool
    reply: str


@dataclass(frozen=True)
class DeliveryCheck:
    """The recipient's mailbox, read over IMAP after the message was accepted."""

    mailbox: str  # the login used
    found: bool = False
    folder: str = ""
    junk: bool = False
    delay_s: float | None = None  # accepted by submission -> visible in the mailbox
    waited_s: float = 0.0
    authentication_results: tuple[str, ...] = ()
    folders_searched: tuple[str, ...] = ()
    error: str = ""  # the check itself failed (login refused, no IMAP...)
    transcript: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendEvidence:
    host: str
    user: str
    mail_from: str
    rcpt_to: str
    ip: str = ""
    port: int = 0
    security: str = ""
    size: int = 0  # bytes of the message sent (0: the small default)
    token: str = ""
    message_id: str = ""
    advertised_size: int | None = None  # EHLO SIZE
    auth: AuthAttempt | None = None
    stage: str = ""  # where the verdict came: connect, tls, auth, mail, rcpt, data, sent
    reply_code: int = 0
    reply: str = ""  # the server's verdict, as it said it
    failure: StepFailure | None = None
    tls: TlsResult | None = None
    cert_problem: str = ""
    size_search: tuple[SizeStep, ...] = ()
    size_limit: int | None = None  # the largest declared size accepted, by bisection
    delivery: DeliveryCheck | None = None
    note: str = ""
    transcript: tuple[str, ...] = ()
