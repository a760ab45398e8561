"""Evidence shared by every server conversation (SMTP, IMAP, POP3): where a session stopped."""

from __future__ import annotations

from dataclasses import dataclass

# Kinds of StepFailure, from net/stream.py's error tree plus protocol-level outcomes.
REFUSED = "refused"  # TCP RST: nothing listens
TIMEOUT = "timeout"  # no answer to the connection attempt: filtered / dropped
UNREACHABLE = "unreachable"  # no route to the address
READ_TIMEOUT = "read_timeout"  # connected, but no complete reply in time
TOO_LONG = "too_long"  # a reply beyond the byte bound
PROTOCOL = "protocol"  # bytes that are not the protocol
CLOSED = "closed"  # the server closed the connection
TLS = "tls"  # the handshake failed
RATE_LIMITED = "rate_limited"  # 421 / "too many connections": inconclusive
REJECTED = "rejected"  # a 5xx / -ERR / BYE greeting: the server refuses the session


@dataclass(frozen=True)
class StepFailure:
    """The step where a session stopped (connect, greeting, ehlo, starttls, tls...) and why."""

    step: str
    kind: str
    detail: str
    elapsed_s: float = 0.0

    @property
    def connect_failed(self) -> bool:
        return self.step == "connect"

    def describe(self) -> str:
        return f"{self.step}: {self.kind}: {self.detail}"
