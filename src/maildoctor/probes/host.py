"""The mail server's machine: load, memory, and free space where mail is queued and logged.

A REQUEST probe (see probes/account.py): not registered with @probe. `diagnose --symptom
overloaded` plans it after the queue probe and reads the machine only when the queue was
listed, i.e. when it runs on the mail server itself. Linux /proc files, read with a size bound;
statvfs for the disks; `postconf -h queue_directory` (with a timeout) for Postfix's queue.
"""

from __future__ import annotations

import asyncio
import os
from functools import partial
from pathlib import Path

from maildoctor.evidence import ProbeFailure
from maildoctor.evidence.host import DiskUse, HostEvidence
from maildoctor.evidence.queue import EXIM, POSTFIX, READ, SENDMAIL, QueueEvidence
from maildoctor.probes import ProbeContext, ProbeSpec

KEY = "host.resources"
PROC_BYTES = 64 * 1024  # /proc/meminfo is about 1.5 KiB
POSTCONF_TIMEOUT_S = 5.0
QUEUE_DIRS = {
    POSTFIX: "/var/spool/postfix",
    EXIM: "/var/spool/exim4",
    SENDMAIL: "/var/spool/mqueue",
}
OTHER_DIRS = (("/var/log", "logs"), ("/var/mail", "mailboxes"), ("/var/vmail", "mailboxes"))


def host_probes(postfix_config: str | None = None, proc: str = "/proc") -> dict[str, ProbeSpec]:
    func = partial(probe_host, postfix_config=postfix_config, proc=proc)
    return {KEY: ProbeSpec(KEY, ("queue.local",), func)}


async def probe_host(
    ctx: ProbeContext, queue: QueueEvidence, *, postfix_config: str | None, proc: str
) -> HostEvidence | ProbeFailure:
    if queue.status != READ:
        return ProbeFailure(
            KEY,
            "skipped",
            "the mail queue could not be read here, so this machine is not taken for the mail "
            "server: its load, memory and disks were not judged",
        )
    queue_dir = await _queue_dir(queue.mta, postfix_config)
    return await asyncio.to_thread(read_host, proc, queue_dir)


async def _queue_dir(mta: str, config: str | None) -> str:
    """Postfix says where its queue is; the others have their Debian default."""
    if mta != POSTFIX:
        return QUEUE_DIRS.get(mta, "")
    args = ["postconf", *(["-c", config] if config else []), "-h", "queue_directory"]
    try:
        p = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return QUEUE_DIRS[POSTFIX]
    try:
        out, _ = await asyncio.wait_for(p.communicate(), POSTCONF_TIMEOUT_S)
    except TimeoutError:
        p.kill()
        await p.wait()
        return QUEUE_DIRS[POSTFIX]
    found = out[:4096].decode(errors="replace").strip()
    return found if p.returncode == 0 and found.startswith("/") else QUEUE_DIRS[POSTFIX]


def _read(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.read(PROC_BYTES).decode(errors="replace")


def read_host(proc: str, queue_dir: str) -> HostEvidence:
    notes: list[str] = []
    load = None
    try:
        parts = _read(Path(proc, "loadavg")).split()
        load = (float(parts[0]), float(parts[1]), float(parts[2]))
    except (OSError, ValueError, IndexError) as exc:
        notes.append(f"{proc}/loadavg: {exc}")
    mem: dict[str, int] = {}
    try:
        for line in _read(Path(proc, "meminfo")).splitlines()[:200]:
            name, _, rest = line.partition(":")
            fields = rest.split()
            if fields and fields[0].isdigit():
                mem[name.strip()] = int(fields[0])
    except OSError as exc:
        notes.append(f"{proc}/meminfo: {exc}")
    if mem and "MemAvailable" not in mem:
        notes.append(f"{proc}/meminfo has no MemAvailable (Linux before 3.14)")
    return HostEvidence(
        cpus=os.cpu_count() or 0,
        load=load,
        mem_total_kb=mem.get("MemTotal", 0),
        mem_available_kb=mem.get("MemAvailable", 0),
        swap_total_kb=mem.get("SwapTotal", 0),
        swap_free_kb=mem.get("SwapFree", 0),
        disks=tuple(_disks(queue_dir, notes)),
        notes=tuple(notes),
    )


def _disks(queue_dir: str, notes: list[str]) -> list[DiskUse]:
    """statvfs of each place mail lives, once per file system."""
    seen: set[int] = set()
    out: list[DiskUse] = []
    wanted = [(queue_dir, "mail queue")] if queue_dir else []
    for path, role in (*wanted, *OTHER_DIRS):
        try:
            dev = os.stat(path).st_dev
            if dev in seen:
                continue
            st = os.statvfs(path)
        except OSError as exc:
            if role == "mail queue":
                notes.append(f"{path}: {exc.strerror or exc}")
            continue
        seen.add(dev)
        out.append(
            DiskUse(
                path=path,
                role=role,
                total_bytes=st.f_blocks * st.f_frsize,
                avail_bytes=st.f_bavail * st.f_frsize,
                total_inodes=st.f_files,
                avail_inodes=st.f_favail,
            )
        )
    return out
