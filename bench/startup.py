"""Start-up time of `maildoctor --help` and `maildoctor findings` (target: well under 0.5 s).

Prints the median and best of N runs of the installed console script, each a fresh process.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 20


def measure(argv: list[str]) -> tuple[float, float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    script = shutil.which("maildoctor") or str(Path(sys.executable).parent / "maildoctor")
    for args in (["--help"], ["findings"], ["--version"]):
        median, best = measure([script, *args])
        label = " ".join(args)
        print(
            f"maildoctor {label:<10} median {median * 1000:6.1f} ms"
            f"  best {best * 1000:6.1f} ms  ({RUNS} runs)"
        )


if __name__ == "__main__":
    main()
