"""The run engine: plan the probes for a target, run them, apply the checks, build the report."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from maildoctor import catalogue
from maildoctor.checks import CheckContext, all_checks, apply
from maildoctor.probes.mx import probe_mx
from maildoctor.probes.runner import Runner
from maildoctor.report import Report, sort_findings
from maildoctor.settings import Settings


async def check_domain(domain: str, settings: Settings) -> Report:
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    runner = Runner(settings)
    evidence = await runner.gather({"dns.mx": lambda: probe_mx(runner.dns, domain)})
    ctx = CheckContext(settings, catalogue.load())
    findings, not_checked = apply(all_checks(), evidence, ctx)
    return Report(
        target=domain,
        started=started,
        duration_s=round(time.perf_counter() - t0, 6),
        findings=sort_findings(findings),
        not_checked=tuple(not_checked),
        timings=dict(runner.timings),
        evidence=evidence,
    )
