"""The mail server's machine: /proc and statvfs readings, and the rules on them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.host import CODES, host_resources
from maildoctor.evidence import ProbeFailure
from maildoctor.evidence.host import DiskUse, HostEvidence
from maildoctor.evidence.queue import NOT_FOUND, POSTFIX, READ, QueueEvidence
from maildoctor.probes.host import probe_host, read_host
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

GIB = 1024**3
MEMINFO = """MemTotal:        8000000 kB
MemFree:          100000 kB
MemAvailable:    {avail} kB
SwapTotal:       2000000 kB
SwapFree:        {swapfree} kB
"""


def _proc(
    tmp_path: Path,
    load: str = "0.50 0.40 0.30 1/200 12345",
    avail: int = 4000000,
    swapfree: int = 2000000,
) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir(exist_ok=True)
    (proc / "loadavg").write_text(load + "\n")
    (proc / "meminfo").write_text(MEMINFO.format(avail=avail, swapfree=swapfree))
    return proc


def _judge(ev: HostEvidence) -> list[Finding | NotChecked]:
    return list(host_resources(CheckContext(Settings(), catalogue.load()), ev))


def _codes(found: list[Finding | NotChecked]) -> list[str]:
    return [f.code for f in found if isinstance(f, Finding)]


def _disk(
    avail: int,
    total: int = 100 * GIB,
    inodes: tuple[int, int] = (1000, 900),
    role: str = "mail queue",
) -> DiskUse:
    return DiskUse("/var/spool/postfix", role, total, avail, inodes[0], inodes[1])


def test_read_host_from_proc_files(tmp_path: Path) -> None:
    ev = read_host(str(_proc(tmp_path)), str(tmp_path))
    assert ev.load == (0.5, 0.4, 0.3)
    assert ev.mem_total_kb == 8000000 and ev.mem_available_kb == 4000000
    assert ev.swap_total_kb == 2000000 and ev.notes == ()
    assert ev.disks and ev.disks[0].path == str(tmp_path) and ev.disks[0].role == "mail queue"
    assert ev.cpus >= 1
    assert _codes(_judge(ev)) == ["host.ok"]


def test_garbage_and_missing_proc_files_become_notes(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "loadavg").write_bytes(b"\xff\xfe garbage")
    (proc / "meminfo").write_text("MemTotal: lots\n" + "x" * 200_000)
    ev = read_host(str(proc), str(tmp_path / "no-such-queue"))
    assert ev.load is None and ev.mem_total_kb == 0
    assert any("loadavg" in n for n in ev.notes)
    assert any("no-such-queue" in n for n in ev.notes)
    found = _judge(ev)
    assert all(isinstance(f, NotChecked) for f in found if not isinstance(f, Finding))
    assert "host.load_high" not in _codes(found)
    empty = read_host(str(tmp_path / "nothing"), "")
    assert any("loadavg" in n for n in empty.notes) and any("meminfo" in n for n in empty.notes)


@pytest.mark.parametrize(
    ("load5", "cpus", "severity"),
    [(4.5, 2, Severity.WARNING), (9.0, 2, Severity.ERROR), (3.0, 2, None)],
)
def test_load_per_cpu(load5: float, cpus: int, severity: Severity | None) -> None:
    found = _judge(HostEvidence(cpus=cpus, load=(load5, load5, load5)))
    busy = [f for f in found if isinstance(f, Finding) and f.code == "host.load_high"]
    if severity is None:
        assert _codes(found) == ["host.ok"]
    else:
        assert busy[0].severity is severity
        assert f"load {load5:.2f} on {cpus} CPUs" in busy[0].title
        assert busy[0].symptoms == ("overloaded",)


def test_memory_low_and_paging(tmp_path: Path) -> None:
    low = read_host(str(_proc(tmp_path, avail=600000)), "")
    (f,) = [x for x in _judge(low) if isinstance(x, Finding)]
    assert f.code == "host.memory_low" and f.severity is Severity.WARNING
    assert "(8%)" in f.title and "0% of" in f.cause
    critical = HostEvidence(mem_total_kb=8000000, mem_available_kb=200000)
    (g,) = [x for x in _judge(critical) if isinstance(x, Finding)]
    assert g.code == "host.memory_low" and g.severity is Severity.ERROR and "(no swap)" in g.cause
    paging = read_host(str(_proc(tmp_path, avail=1200000, swapfree=400000)), "")
    assert _codes(_judge(paging)) == ["host.memory_low"]  # 15% free, swap 80% used


def test_disk_full_space_or_inodes() -> None:
    full = _judge(HostEvidence(disks=(_disk(avail=2 * GIB),)))
    (f,) = [x for x in full if isinstance(x, Finding)]
    assert f.code == "host.disk_full" and f.severity is Severity.ERROR
    assert "2.0 GiB free (2.0%) at /var/spool/postfix" in f.title
    assert set(f.symptoms) == {"overloaded", "cannot-receive", "cannot-send"}
    inodes = _judge(HostEvidence(disks=(_disk(avail=50 * GIB, inodes=(1000, 10)),)))
    (g,) = [x for x in inodes if isinstance(x, Finding)]
    assert g.code == "host.disk_full" and "10 of 1000 inodes" in g.cause
    logs = _judge(HostEvidence(disks=(_disk(avail=GIB // 20, total=GIB, role="logs"),)))
    (h,) = [x for x in logs if isinstance(x, Finding)]
    assert h.severity is Severity.WARNING  # full logs hurt, a full queue stops mail
    small_but_fine = _judge(HostEvidence(disks=(_disk(avail=GIB // 2, total=GIB),)))
    assert _codes(small_but_fine) == ["host.ok"]


def test_every_code_is_reachable() -> None:
    assert set(CODES) == {"host.ok", "host.load_high", "host.memory_low", "host.disk_full"}


async def test_away_from_the_mail_server_the_machine_is_not_judged(tmp_path: Path) -> None:
    not_here = QueueEvidence(NOT_FOUND, detail="postqueue not found")
    got = await probe_host(None, not_here, postfix_config=None, proc=str(_proc(tmp_path)))  # type: ignore[arg-type]
    assert isinstance(got, ProbeFailure) and "not taken for the mail server" in got.detail


async def test_on_the_mail_server_the_postfix_queue_directory_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A postconf that answers with a directory of this test.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "postconf").write_text(f"#!/bin/sh\necho {tmp_path}\n")
    (bindir / "postconf").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    here = QueueEvidence(READ, mta=POSTFIX)
    got = await asyncio.wait_for(
        probe_host(None, here, postfix_config=None, proc=str(_proc(tmp_path))),  # type: ignore[arg-type]
        10,
    )
    assert isinstance(got, HostEvidence)
    assert got.disks[0].path == str(tmp_path) and got.disks[0].role == "mail queue"
