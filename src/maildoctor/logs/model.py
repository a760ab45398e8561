"""Typed log events (what one line said) and the LogSummary evidence (what a whole log says).

Pure data, no I/O: the parsers produce events, the summariser folds them into a LogSummary,
and checks/logs.py turns a LogSummary into findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


# -- events (one per interesting line; lines that only need counting produce none) ---------
class Client(NamedTuple):
    """A message entered the queue from a client: Postfix `client=`, Exim `<=` (H=, A=)."""

    qid: str
    ip: str  # "local" for pickup / locally generated mail
    user: str | None  # the SASL / authenticated user, when there is one


class Sender(NamedTuple):
    """Envelope sender of a queued message (Postfix qmgr `from=`, Exim `<=`, Sendmail)."""

    qid: str
    sender: str
    size: int
    nrcpt: int


class Delivery(NamedTuple):
    """One delivery attempt to one recipient: status sent, deferred, bounced or expired."""

    qid: str
    rcpt: str
    status: str
    dsn: str
    reason: str  # the remote reply / explanation, "" when sent
    delay: float


class Removed(NamedTuple):
    qid: str


class Expired(NamedTuple):
    qid: str


class Reject(NamedTuple):
    """The server refused a client (at connect, MAIL, RCPT, DATA...): by cause."""

    ip: str
    stage: str
    code: str  # "554 5.7.1"
    text: str
    sender: str
    rcpt: str
    qid: str


class AuthFailure(NamedTuple):
    ip: str
    user: str
    service: str  # smtp, imap, pop3, submission...
    attempts: int


class AuthBackendFailure(NamedTuple):
    """Dovecot auth's own line for a failure another line already counts (not double counted)."""

    ip: str
    user: str


class LoginOk(NamedTuple):
    ip: str
    user: str
    service: str


class PlaintextRefused(NamedTuple):
    ip: str
    service: str


class TlsFailure(NamedTuple):
    ip: str
    direction: str  # "in" (a client's handshake with us) or "out" (our handshake with a server)
    detail: str


class SizeRejected(NamedTuple):
    ip: str  # "" when only the queue id is known (resolved through the message table)
    qid: str
    detail: str


class MailboxFull(NamedTuple):
    user: str
    detail: str


class RateLimited(NamedTuple):
    ip: str
    kind: str  # "connection rate", "concurrency", "process limit", "remote rate limit"...
    detail: str


class Fault(NamedTuple):
    level: str  # fatal, panic, error, syserr, crash
    program: str
    detail: str


class Warning_(NamedTuple):
    program: str
    detail: str


class Dsn(NamedTuple):
    """A bounce (non-delivery notification) generated locally for `qid`: new queue id `dsn_qid`."""

    qid: str
    dsn_qid: str


class DnsblHit(NamedTuple):
    """Our server (postscreen, smtpd) found a connecting client on a DNSBL."""

    ip: str
    zone: str


Event = (
    Client
    | Sender
    | Delivery
    | Removed
    | Expired
    | Reject
    | AuthFailure
    | AuthBackendFailure
    | LoginOk
    | PlaintextRefused
    | TlsFailure
    | SizeRejected
    | MailboxFull
    | RateLimited
    | Fault
    | Warning_
    | Dsn
    | DnsblHit
)


# -- the summary ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    """A normalised cause with how often it occurred and one line that shows it."""

    reason: str
    count: int
    example: str


@dataclass(frozen=True)
class BruteForce:
    ip: str
    failures: int
    first_seen: float | None
    last_seen: float | None
    max_in_window: int
    users: tuple[str, ...]
    services: tuple[str, ...]
    logins_ok: int  # successful logins from the same address (a guessed password?)
    # Above the address cap (summary.MAX_IPS) `failures` may be an over-estimate: the true count
    # is between failures - failures_error and failures (Space-Saving; 0: exact).
    failures_error: int = 0


@dataclass(frozen=True)
class AccountUse:
    user: str
    messages: int
    recipients: int
    domains: int


@dataclass(frozen=True)
class Counted:
    """A count with a breakdown and examples (relay denied, size rejections...)."""

    total: int = 0
    by_key: dict[str, int] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    # key -> how much by_key[key] may over-count (Space-Saving, above the table's cap): the true
    # count is between by_key[key] - errors[key] and by_key[key]. Keys not here are exact.
    errors: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    brute_force_count: int = 10
    brute_force_window: float = 600.0
    compromised_min_recipients: int = 100
    compromised_factor: float = 10.0
    deferred_backlog: int = 10


@dataclass(frozen=True)
class LogSummary:
    files: tuple[str, ...]
    mtas: tuple[str, ...]
    lines: int
    parsed: int
    unparsed: int
    out_of_range: int
    overlong: int
    first_seen: float | None
    last_seen: float | None
    deliveries: dict[str, int]
    by_domain: dict[str, dict[str, int]]
    by_client: dict[str, dict[str, int]]
    messages: int
    delay_avg: float | None
    delay_max: float | None
    bounce_reasons: tuple[Reason, ...]
    deferral_reasons: tuple[Reason, ...]
    reject_reasons: tuple[Reason, ...]
    auth_failures: int
    auth_by_ip: dict[str, int]
    auth_by_user: dict[str, int]
    auth_by_service: dict[str, int]
    auth_backend_failures: int
    auth_pairs: tuple[tuple[str, str, int], ...]  # (user, ip, failures), most first
    logins_ok: dict[str, int]
    user_ips: frozenset[str]  # addresses that logged in or sent authenticated (capped)
    brute_force: tuple[BruteForce, ...]
    relay_denied: Counted
    dnsbl_rejections: Counted
    size_rejected: Counted
    mailbox_full: Counted
    rate_limited: Counted
    tls_failures: Counted
    plaintext_refused: Counted
    faults: Counted
    warnings: Counted
    top_senders: tuple[tuple[str, int], ...]
    accounts: tuple[AccountUse, ...]
    deferred_pending: int
    evictions: dict[str, int]
    input_errors: tuple[str, ...]
    thresholds: Thresholds
    # ip -> how much auth_by_ip[ip] may over-count (as Counted.errors); empty when exact.
    auth_by_ip_errors: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The `logs --json` body (DESIGN.md contract; docs/logs.schema.json), findings apart."""
        from maildoctor.logs.clock import iso_utc

        def counted(c: Counted, key: str = "by_ip") -> dict[str, Any]:
            return {
                "total": c.total,
                key: dict(c.by_key),
                "examples": list(c.examples),
                "errors": dict(c.errors),
            }

        def reasons(rs: tuple[Reason, ...]) -> list[dict[str, Any]]:
            return [{"reason": r.reason, "count": r.count, "example": r.example} for r in rs]

        return {
            "files": list(self.files),
            "mtas": list(self.mtas),
            "lines": self.lines,
            "parsed": self.parsed,
            "unparsed": self.unparsed,
            "out_of_range": self.out_of_range,
            "overlong": self.overlong,
            "first_seen": iso_utc(self.first_seen),
            "last_seen": iso_utc(self.last_seen),
            "messages": self.messages,
            "deliveries": {
                **self.deliveries,
                "by_domain": self.by_domain,
                "by_client": self.by_client,
                "delay_avg_s": self.delay_avg,
                "delay_max_s": self.delay_max,
                "deferred_pending": self.deferred_pending,
            },
            "auth_failures": {
                "total": self.auth_failures,
                "by_ip": dict(self.auth_by_ip),
                "by_user": dict(self.auth_by_user),
                "by_service": dict(self.auth_by_service),
                "backend_lines": self.auth_backend_failures,
                "by_ip_error": dict(self.auth_by_ip_errors),
            },
            "logins_ok": dict(self.logins_ok),
            "brute_force_ips": [b.ip for b in self.brute_force],
            "brute_force": [
                {
                    "ip": b.ip,
                    "failures": b.failures,
                    "first_seen": iso_utc(b.first_seen),
                    "last_seen": iso_utc(b.last_seen),
                    "max_in_window": b.max_in_window,
                    "users": list(b.users),
                    "services": list(b.services),
                    "logins_ok": b.logins_ok,
                    "failures_error": b.failures_error,
                }
                for b in self.brute_force
            ],
            "relay_denied": self.relay_denied.total,
            "relay_denied_by_ip": dict(self.relay_denied.by_key),
            "relay_denied_by_ip_error": dict(self.relay_denied.errors),
            "bounce_reasons": reasons(self.bounce_reasons),
            "deferral_reasons": reasons(self.deferral_reasons),
            "reject_reasons": reasons(self.reject_reasons),
            "top_senders": [{"sender": s, "messages": n} for s, n in self.top_senders],
            "accounts": [
                {
                    "user": a.user,
                    "messages": a.messages,
                    "recipients": a.recipients,
                    "domains": a.domains,
                }
                for a in self.accounts
            ],
            "dnsbl_rejections": counted(self.dnsbl_rejections, "by_zone"),
            "size_rejected": counted(self.size_rejected),
            "mailbox_full": counted(self.mailbox_full, "by_user"),
            "rate_limited": counted(self.rate_limited, "by_kind"),
            "tls_failures": counted(self.tls_failures),
            "plaintext_refused": counted(self.plaintext_refused),
            "faults": counted(self.faults, "by_level"),
            "warnings": counted(self.warnings, "by_program"),
            "evictions": dict(self.evictions),
            "input_errors": list(self.input_errors),
            "thresholds": {
                "brute_force_count": self.thresholds.brute_force_count,
                "brute_force_window_s": self.thresholds.brute_force_window,
            },
        }
