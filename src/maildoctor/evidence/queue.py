"""Evidence from the local mail queue (`postqueue -j`, `postqueue -p`, `exim -bp`, `mailq`).

Read on the mail server itself by `maildoctor diagnose` (probes/queue.py); `check`, which
looks at a domain from outside, never has it.
"""

from __future__ import annotations

from dataclasses import dataclass

# How reading the queue went.
READ = "read"  # the queue was listed (possibly empty)
NOT_FOUND = "not_found"  # no queue command on this machine: not the mail server
DENIED = "denied"  # the command exists but this user may not list the queue
DOWN = "down"  # the MTA is not running, so it cannot list its queue
TIMEOUT = "timeout"  # the command did not finish in time (killed)
ERROR = "error"  # it failed otherwise, or printed nothing we understand

POSTFIX = "postfix"
EXIM = "exim"
SENDMAIL = "sendmail"

# Postfix's queues (postqueue -j "queue_name"); Exim and Sendmail have one queue, "queue".
POSTFIX_QUEUES = ("active", "deferred", "hold", "incoming", "maildrop")


@dataclass(frozen=True)
class Count:
    """One line of a top-N table: a value and how many queued messages have it."""

    value: str
    count: int
    example: str = ""  # for a normalised reason: one reason as the MTA wrote it


@dataclass(frozen=True)
class QueueEvidence:
    status: str  # READ, NOT_FOUND, DENIED, DOWN, TIMEOUT, ERROR
    mta: str = ""  # POSTFIX, EXIM, SENDMAIL; "" when none was found
    command: str = ""  # the command line run (the last one, when a fallback was used)
    detail: str = ""  # why it was not READ; notes on the reading (fallback, bounds)
    fmt: str = ""  # "json" (postqueue -j), "text" (postqueue -p / mailq / exim -bp)
    total: int = 0  # messages in the queue
    queues: tuple[Count, ...] = ()  # per queue: active, deferred, hold, incoming, maildrop
    oldest_s: float | None = None  # age of the oldest message, seconds
    oldest_id: str = ""
    frozen: int = 0  # Exim: messages frozen (not tried again until thawed)
    size_bytes: int = 0
    reasons: tuple[Count, ...] = ()  # deferral reasons, normalised, most frequent first
    domains: tuple[Count, ...] = ()  # recipient domains, most frequent first
    senders: tuple[Count, ...] = ()  # envelope senders ("<>" for bounces), most first
    parsed: int = 0  # messages whose details were read (<= total when truncated)
    truncated: bool = False  # the output bound was reached: tables are of the first part
    skipped_lines: int = 0  # lines that were neither a message nor known noise
    # Thresholds the checks judge by (from the request; carried so checks stay pure).
    backlog_threshold: int = 500
    flood_min: int = 100
    flood_share: float = 0.5
    old_after_s: float = 86400.0

    def in_queue(self, name: str) -> int:
        return next((c.count for c in self.queues if c.value == name), 0)

    @property
    def waiting(self) -> int:
        """Messages waiting for delivery: Postfix active + deferred; the whole queue else."""
        if self.mta == POSTFIX and self.queues:
            return self.in_queue("active") + self.in_queue("deferred")
        return self.total
