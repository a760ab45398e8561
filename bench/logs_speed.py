"""Log analysis speed and memory: maildoctor logs vs pflogsumm on the same large Postfix log.

    .venv/bin/python bench/logs_speed.py [--size 1G] [--dir /tmp] [--keep] [--reuse FILE]
                                         [--unique-ips] [--unique-domains]

Builds the log from the lab's real Postfix logs ($LAB_RUN/log/postfix-*.log, written by the
real servers, e.g. after lab/logdriver): the lines are merged in time order, then repeated
with times shifted forward and every queue id replaced by a fresh one at each pass, so the
message table sees new messages all along, as on a real server. Then it runs, one after the
other in fresh processes, `maildoctor logs FILE --json` and `pflogsumm FILE` (Debian package
pflogsumm), and prints MB/s, lines/s and the peak RSS of each (os.wait4's ru_maxrss).

--unique-ips gives every client address in the log a fresh one at each occurrence (a botnet, or
a scan of the whole Internet), and --unique-domains every sender and recipient domain: the
worst case for the summariser's per-key tables, which must stay within their caps
(summary.MAX_KEYS), with the memory they take bounded whatever the size of the log.

The file goes to --dir (default /tmp), never into the repository; it is deleted at the end
unless --keep.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

RUN = Path(os.environ.get("MAILDOCTOR_LAB_RUN", "/run/maildoctor-lab"))
SYSLOG_TS = re.compile(r"^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) ", re.M)
QID = re.compile(r"\b[0-9A-F]{10,12}\b")
IP = re.compile(r"\[\d{1,3}(?:\.\d{1,3}){3}\]")
DOMAIN = re.compile(r"(?<=@)[A-Za-z0-9.-]+(?=>)")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    mult = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def template() -> list[str]:
    lines: list[str] = []
    for path in sorted(RUN.glob("log/postfix-*.log")):
        lines += path.read_text(errors="replace").splitlines()
    if not lines:
        sys.exit(f"no lab Postfix logs under {RUN}/log: bring the lab up and run lab/logdriver")
    # Merge the servers' logs in time order (stable: same-second lines keep their order).
    return sorted(lines, key=lambda line: line[:15])


_EPOCHS: dict[str, int] = {}


def to_seconds(m: re.Match[str]) -> int:
    """A template timestamp -> epoch seconds (this year, local time)."""
    known = _EPOCHS.get(m.group(0))
    if known is not None:
        return known
    month = MONTHS.index(m.group(1)) + 1
    t = (
        time.localtime().tm_year,
        month,
        int(m.group(2)),
        int(m.group(3)),
        int(m.group(4)),
        int(m.group(5)),
        0,
        0,
        -1,
    )
    _EPOCHS[m.group(0)] = int(time.mktime(t))
    return _EPOCHS[m.group(0)]


def build(
    path: Path, size: int, unique_ips: bool = False, unique_domains: bool = False
) -> tuple[int, int]:
    lines = template()
    text = "\n".join(lines) + "\n"
    stamps = [to_seconds(m) for m in SYSLOG_TS.finditer(text)]
    span = (max(stamps) - min(stamps) + 60) if stamps else 60
    cache: dict[int, str] = {}
    counter = itertools.count(0x10000000000)
    ips = itertools.count(1 << 24)  # 1.0.0.0 onwards, one per occurrence
    domains = itertools.count(1)

    def fresh_ip(m: re.Match[str]) -> str:
        n = next(ips)
        return f"[{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}]"

    def fresh_domain(m: re.Match[str]) -> str:
        return f"d{next(domains)}.example"

    written = 0
    n_lines = 0
    with open(path, "w", encoding="utf-8") as out:
        shift = 0
        while written < size:
            fresh: dict[str, str] = {}

            def qid(m: re.Match[str], fresh: dict[str, str] = fresh) -> str:
                q = fresh.get(m.group(0))
                if q is None:
                    q = fresh[m.group(0)] = f"{next(counter):011X}"
                return q

            def stamp(m: re.Match[str], shift: int = shift) -> str:
                secs = to_seconds(m) + shift
                s = cache.get(secs)
                if s is None:
                    t = time.localtime(secs)
                    s = f"{time.strftime('%b', t)} {t.tm_mday:2d} {time.strftime('%H:%M:%S', t)} "
                    if len(cache) > 100_000:
                        cache.clear()
                    cache[secs] = s
                return s

            chunk = SYSLOG_TS.sub(stamp, QID.sub(qid, text))
            if unique_ips:
                chunk = IP.sub(fresh_ip, chunk)
            if unique_domains:
                chunk = DOMAIN.sub(fresh_domain, chunk)
            out.write(chunk)
            written += len(chunk.encode())
            n_lines += len(lines)
            shift += span
    return written, n_lines


def _tree_peaks(root: int, peaks: dict[int, int]) -> None:
    """Update `peaks` (pid -> VmHWM KiB) for `root` and its descendants (maildoctor's workers).

    VmHWM is the peak RSS of a process's own memory since its exec; ru_maxrss from wait4 would
    not do: it keeps the RSS the child had when forked from this (large) process."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peaks[pid] = max(peaks.get(pid, 0), int(line.split()[1]))
        except OSError:
            pass


def run(argv: list[str]) -> tuple[float, int, int, int]:
    """Wall seconds, peak RSS of the largest process and the sum of the peaks of all its
    processes (KiB, sampled every 0.1 s), and the exit status, of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        _tree_peaks(proc.pid, peaks)
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace").strip()
    if err:
        print(f"    stderr: {err[:300]}")
    return elapsed, max(peaks.values(), default=0), sum(peaks.values()), proc.returncode


def maildoctor_argv(path: Path) -> list[str]:
    script = Path(sys.executable).parent / "maildoctor"
    probe = subprocess.run(
        [str(script), "logs", "--help"], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0 and "--follow" in probe.stdout:
        return [str(script), "logs", str(path), "--json"]
    return [sys.executable, "-m", "maildoctor.logs", str(path), "--json"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=parse_size, default=parse_size("1G"), help="default 1G")
    ap.add_argument("--dir", type=Path, default=Path("/tmp"))
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--reuse", type=Path, help="use this log instead of building one")
    ap.add_argument(
        "--unique-ips", action="store_true", help="a fresh client address at every occurrence"
    )
    ap.add_argument(
        "--unique-domains",
        action="store_true",
        help="a fresh sender and recipient domain at every occurrence",
    )
    ap.add_argument("--no-pflogsumm", action="store_true", help="run maildoctor only")
    args = ap.parse_args()
    if args.reuse:
        path = args.reuse
        size = path.stat().st_size
        with open(path, "rb") as f:
            n_lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    else:
        path = args.dir / f"maildoctor-bench-{os.getpid()}.log"
        t0 = time.perf_counter()
        size, n_lines = build(path, args.size, args.unique_ips, args.unique_domains)
        print(
            f"built {path}: {size / 1e6:.0f} MB, {n_lines} lines in "
            f"{time.perf_counter() - t0:.1f} s"
        )
    tools = [("maildoctor logs", maildoctor_argv(path))]
    pflogsumm = None if args.no_pflogsumm else shutil.which("pflogsumm")
    if args.no_pflogsumm:
        pass
    elif pflogsumm:
        tools.append(("pflogsumm", [pflogsumm, str(path)]))
    else:
        print("pflogsumm not installed (apt-get install pflogsumm): skipped")
    results = {}
    try:
        for name, argv in tools:
            elapsed, rss, tree, code = run(argv)
            results[name] = elapsed
            print(
                f"{name:16s} {elapsed:7.2f} s  {size / 1e6 / elapsed:7.1f} MB/s  "
                f"{n_lines / elapsed / 1e3:7.0f}k lines/s  peak RSS {rss / 1024:5.0f} MB "
                f"(largest process), {tree / 1024:5.0f} MB (all processes)  exit {code}"
            )
    finally:
        if not args.keep and not args.reuse:
            path.unlink(missing_ok=True)
    if "pflogsumm" in results:
        ratio = results["pflogsumm"] / results["maildoctor logs"]
        print(f"maildoctor is {ratio:.1f}x pflogsumm's speed (target: at least 3x)")


if __name__ == "__main__":
    main()
