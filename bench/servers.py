"""Server checks: a full `maildoctor check` of lab domains beside testssl.sh and swaks.

Needs the lab (make lab-up). Prints, from one run:
  - for each domain, the wall time of a full check (every probe: DNS, SMTP on 25, submission
    on 587/465, IMAP 143/993, POP3 110/995), the slowest single probe and the sum of all
    probe times: concurrency means wall ~ slowest, not ~ sum;
  - `testssl --starttls smtp` on the control's port 25 (TLS only, one port) and swaks on the
    same server (one SMTP session to RCPT with STARTTLS), when those tools are installed.

    .venv/bin/python bench/servers.py [--domain good.test ...] [--no-testssl]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import time
from pathlib import Path

from maildoctor.checks import all_checks
from maildoctor.engine import run_checks
from maildoctor.settings import Resolver, Settings

CA = Path("/run/maildoctor-lab/ca/ca.crt")
SERVER = "127.0.10.1"


def settings() -> Settings:
    return Settings(
        resolvers=(Resolver("127.0.53.53"),),
        allow_private=True,
        ca_file=CA if CA.exists() else None,
    )


async def one(domain: str) -> None:
    t0 = time.perf_counter()
    report = await run_checks(domain, settings(), all_checks())
    wall = time.perf_counter() - t0
    timings = dict(report.timings)
    slowest = max(timings.items(), key=lambda kv: kv[1])
    servers = {k: v for k, v in timings.items() if k.split(".")[0] in ("smtp", "mailbox")}
    print(
        f"{domain:22} wall {wall:6.2f} s | slowest probe {slowest[0]} {slowest[1]:.2f} s | "
        f"sum of probes {sum(timings.values()):6.2f} s | server probes "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(servers.items()))
    )


def timed(cmd: list[str], label: str) -> None:
    if shutil.which(cmd[0]) is None:
        print(f"{label:22} not installed ({cmd[0]})")
        return
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    print(f"{label:22} wall {time.perf_counter() - t0:6.2f} s (exit {proc.returncode})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", action="append", help="lab domain(s); default good.test")
    ap.add_argument("--no-testssl", action="store_true", help="skip testssl (it takes minutes)")
    args = ap.parse_args()
    for domain in args.domain or ["good.test"]:
        asyncio.run(one(domain))
    swaks = [
        "swaks", "--server", SERVER, "--port", "25", "--to", "postmaster@good.test",
        "--quit-after", "RCPT", "--tls", "--tls-sni", "mx.good.test",
    ]  # fmt: skip
    timed(swaks, "swaks 25 STARTTLS")
    if not args.no_testssl:
        testssl = ["testssl", "--quiet", "--color", "0", "--warnings", "batch"]
        timed([*testssl, "--starttls", "smtp", f"{SERVER}:25"], "testssl --starttls smtp")


if __name__ == "__main__":
    main()
