"""What the mail server's own machine says about its load, memory and disks.

Read only when diagnose runs on the mail server itself (its mail queue was readable): the
load of the machine running maildoctor says nothing about a server elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiskUse:
    path: str  # the directory asked about (the queue, the logs, the mailboxes)
    role: str  # "mail queue", "logs", "mailboxes"
    total_bytes: int
    avail_bytes: int  # for unprivileged processes (what Postfix's checks see)
    total_inodes: int
    avail_inodes: int


@dataclass(frozen=True)
class HostEvidence:
    cpus: int = 0
    load: tuple[float, float, float] | None = None  # 1, 5, 15 minutes (/proc/loadavg)
    mem_total_kb: int = 0
    mem_available_kb: int = 0  # /proc/meminfo MemAvailable
    swap_total_kb: int = 0
    swap_free_kb: int = 0
    disks: tuple[DiskUse, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read, and why
