"""DNS-side checks of many lab domains: maildoctor beside checkdmarc, direct and at 20 ms RTT.

Needs the lab (make lab-up). Prints, for maildoctor: domains per second with every domain at
once, per-domain latency one domain at a time (median, p95), DNS queries per domain; and the
same domains through checkdmarc (installed in bench/.venv-checkdmarc, its own environment),
which checks them one after another. "rtt 20ms" goes through bench/dns_delay_proxy.py, which
holds every DNS answer for 20 ms, as a real network would.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from maildoctor.checks import all_checks
from maildoctor.engine import run_checks
from maildoctor.probes.runner import Runner
from maildoctor.settings import Resolver, Settings

ROOT = Path(__file__).resolve().parents[1]
CHECKDMARC = ROOT / "bench/.venv-checkdmarc/bin/checkdmarc"
PROXY = ("127.0.53.54", 53)


def lab_domains() -> list[str]:
    rows = (ROOT / "lab/scenarios.tsv").read_text().splitlines()
    return [r.split("\t")[0] for r in rows if r.strip() and not r.startswith("#")]


def dns_checks() -> list:  # type: ignore[type-arg]
    """The checks that need DNS evidence only (no SMTP, TLS or HTTPS probes)."""
    return [c for c in all_checks() if all(n.startswith("dns.") for n in c.inputs)]


async def one(domain: str, settings: Settings) -> tuple[float, int]:
    runner = Runner(settings)
    start = time.perf_counter()
    await run_checks(domain, settings, dns_checks(), runner)
    return time.perf_counter() - start, runner.dns.queries


async def run_maildoctor(domains: list[str], settings: Settings) -> dict[str, float]:
    start = time.perf_counter()
    together = await asyncio.gather(*(one(d, settings) for d in domains))
    wall = time.perf_counter() - start
    alone = [await one(d, settings) for d in domains]
    lat = sorted(t for t, _ in alone)
    return {
        "domains_per_s": len(domains) / wall,
        "wall_all_at_once_s": wall,
        "median_ms": statistics.median(lat) * 1000,
        "p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000,
        "queries_per_domain": statistics.mean(q for _, q in together),
    }


def run_checkdmarc(domains: list[str], nameserver: str) -> dict[str, float] | None:
    if not CHECKDMARC.exists():
        return None
    start = time.perf_counter()
    subprocess.run(
        [str(CHECKDMARC), "-n", nameserver, "-t", "5", "-f", "json", *domains],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=900,
    )
    wall = time.perf_counter() - start
    return {"domains_per_s": len(domains) / wall, "per_domain_ms": wall / len(domains) * 1000}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--resolver", default="127.0.53.53")
    p.add_argument("--delay-ms", type=float, default=20.0)
    args = p.parse_args()
    domains = lab_domains()
    proxy = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench/dns_delay_proxy.py"),
            "--listen",
            PROXY[0],
            "--upstream",
            args.resolver,
            "--delay-ms",
            str(args.delay_ms),
            "--seconds",
            "900",
        ]
    )
    time.sleep(0.5)
    try:
        print(f"{len(domains)} lab domains, DNS-side checks ({len(dns_checks())} rules)")
        for label, resolver in (
            ("direct", Resolver(args.resolver)),
            (f"rtt {args.delay_ms:g}ms", Resolver(*PROXY)),
        ):
            settings = Settings(resolvers=(resolver,), allow_private=True)
            md = asyncio.run(run_maildoctor(domains, settings))
            print(
                f"maildoctor  {label:<10} {md['domains_per_s']:8.1f} domains/s (all at once, "
                f"{md['wall_all_at_once_s']:.2f} s)  per domain: median {md['median_ms']:.0f} ms,"
                f" p95 {md['p95_ms']:.0f} ms, {md['queries_per_domain']:.1f} DNS queries"
            )
            cd = run_checkdmarc(domains, resolver.address)
            if cd is None:
                print(
                    "checkdmarc  (not installed: python3 -m venv bench/.venv-checkdmarc && "
                    "bench/.venv-checkdmarc/bin/pip install checkdmarc)"
                )
            else:
                print(
                    f"checkdmarc  {label:<10} {cd['domains_per_s']:8.1f} domains/s (one after "
                    f"another)  per domain: {cd['per_domain_ms']:.0f} ms"
                )
    finally:
        proxy.terminate()
        proxy.wait(5)


if __name__ == "__main__":
    main()
