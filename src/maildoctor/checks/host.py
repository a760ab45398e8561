"""Machine rules (`diagnose --symptom overloaded` on the mail server): load, memory, disks.

No registered probe produces "host.resources", so `check` never plans this; diagnose merges
probes.host.host_probes() after the queue probe. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.host import DiskUse, HostEvidence
from maildoctor.report import Finding, NotChecked, Severity

CODES = ("host.ok", "host.load_high", "host.memory_low", "host.disk_full")
LOAD_WARN = 2.0  # 5-minute load average per CPU
LOAD_ERROR = 4.0
MEM_WARN = 0.10  # MemAvailable / MemTotal
MEM_ERROR = 0.05
SWAP_USED = 0.5  # swap this full while memory is low: the machine is paging
DISK_FREE = 0.05  # share of the file system available
DISK_MIN_BYTES = 100 * 1024 * 1024  # and below this, whatever the share
INODES_FREE = 0.05


def _size(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"


def _summary(ev: HostEvidence) -> str:
    parts = []
    if ev.load is not None:
        parts.append(f"load {ev.load[1]:.2f} on {ev.cpus} CPUs")
    if ev.mem_total_kb:
        parts.append(
            f"{_size(ev.mem_available_kb * 1024)} of {_size(ev.mem_total_kb * 1024)} memory free"
        )
    for d in ev.disks:
        parts.append(f"{d.role} {d.path}: {_size(d.avail_bytes)} free of {_size(d.total_bytes)}")
    return "; ".join(parts)


@check(needs=("host.resources",), codes=CODES)
def host_resources(ctx: CheckContext, ev: HostEvidence) -> Iterator[Finding | NotChecked]:
    for note in ev.notes:
        yield NotChecked("mail server machine", note)
    summary = _summary(ev)
    problems = 0
    if ev.load is not None and ev.cpus > 0:
        per_cpu = ev.load[1] / ev.cpus
        if per_cpu >= LOAD_WARN:
            problems += 1
            yield ctx.finding(
                "host.load_high",
                subject="this machine",
                evidence=summary,
                severity=Severity.ERROR if per_cpu >= LOAD_ERROR else None,
                load1=f"{ev.load[0]:.2f}",
                load5=f"{ev.load[1]:.2f}",
                load15=f"{ev.load[2]:.2f}",
                cpus=ev.cpus,
                per_cpu=f"{per_cpu:.1f}",
            )
    if ev.mem_total_kb > 0 and ev.mem_available_kb > 0:
        share = ev.mem_available_kb / ev.mem_total_kb
        swap_used = 1 - ev.swap_free_kb / ev.swap_total_kb if ev.swap_total_kb > 0 else 0.0
        paging = swap_used >= SWAP_USED and share < 2 * MEM_WARN
        if share < MEM_WARN or paging:
            problems += 1
            swap = (
                f", and {swap_used:.0%} of {_size(ev.swap_total_kb * 1024)} swap is in use"
                if ev.swap_total_kb > 0
                else " (no swap)"
            )
            yield ctx.finding(
                "host.memory_low",
                subject="this machine",
                evidence=summary,
                severity=Severity.ERROR if share < MEM_ERROR else None,
                available=f"{_size(ev.mem_available_kb * 1024)} ({share:.0%})",
                total=_size(ev.mem_total_kb * 1024),
                swap=swap,
            )
    for d in ev.disks:
        if _disk_short(d):
            problems += 1
            yield _disk(ctx, d, summary)
    if not problems and (ev.load is not None or ev.mem_total_kb or ev.disks):
        yield ctx.finding("host.ok", subject="this machine", evidence=summary, summary=summary)


def _disk_short(d: DiskUse) -> bool:
    if d.total_bytes <= 0:
        return False
    low_space = d.avail_bytes < DISK_FREE * d.total_bytes or d.avail_bytes < DISK_MIN_BYTES
    low_inodes = d.total_inodes > 0 and d.avail_inodes < INODES_FREE * d.total_inodes
    return low_space or low_inodes


def _disk(ctx: CheckContext, d: DiskUse, summary: str) -> Finding:
    inodes = ""
    if d.total_inodes > 0 and d.avail_inodes < INODES_FREE * d.total_inodes:
        inodes = f", and only {d.avail_inodes} of {d.total_inodes} inodes (files) left"
    return ctx.finding(
        "host.disk_full",
        subject=f"{d.path} ({d.role})",
        evidence=summary,
        # A full queue disk stops mail; full logs or mailboxes hurt, but less at once.
        severity=None if d.role in ("mail queue", "mailboxes") else Severity.WARNING,
        role=d.role,
        path=d.path,
        avail=_size(d.avail_bytes),
        total=_size(d.total_bytes),
        percent=f"{d.avail_bytes / d.total_bytes:.1%}",
        inodes=inodes,
    )
