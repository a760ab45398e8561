"""Wall time of `maildoctor diagnose` per symptom, on the lab scenario built for each.

Run as root with the lab up (make lab-up). Each symptom runs RUNS times as a fresh process
(the installed console script), with the inputs docs/symptoms.md uses; prints the median and
the slowest run, and the cause named first (which must be the planted one).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 5
LAB = ["--resolver", "127.0.53.53", "--allow-private", "--ca-file", "/run/maildoctor-lab/ca/ca.crt"]
ACCOUNT = ["--user", "alice@good.test", "--password-env", "MAIL_PW"]
RUN = "/run/maildoctor-lab"
CASES = [
    ("password-rejected", "sub-mismatch.test", ACCOUNT),
    ("cannot-receive", "closed.test", []),
    ("webmail-login", "webmail-down.test", []),
    ("client-ssl-error", "cert-expired.test", []),
    ("cannot-send", "sub-noauth.test", ACCOUNT),
    ("spam-folder", "dnsbl.test", []),
    (
        "overloaded",
        "busy.test",
        ["--postfix-config", f"{RUN}/postfix-busy/etc", "--log", f"{RUN}/log/postfix-busy.log"],
    ),
    (
        "large-attachments",
        "size-1mb.test",
        [*ACCOUNT, "--to", "postmaster@size-1mb.test"],
    ),
]


def main() -> int:
    script = shutil.which("maildoctor") or str(Path(sys.executable).parent / "maildoctor")
    env = dict(os.environ, MAIL_PW="alice-Lab-2026")
    print(f"{'symptom':<18} {'scenario':<18} {'median s':>9} {'max s':>7}  first cause")
    for symptom, domain, extra in CASES:
        times, first = [], ""
        for _ in range(RUNS):
            argv = [script, "diagnose", domain, "-s", symptom, *LAB, *extra, "--json"]
            start = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                print(f"{symptom}: exit {done.returncode}: {done.stderr.strip()}", file=sys.stderr)
                return 1
            first = (json.loads(done.stdout)["diagnosis"]["causes"] or ["-"])[0]
        print(
            f"{symptom:<18} {domain:<18} {statistics.median(times):>9.2f} {max(times):>7.2f}"
            f"  {first}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
