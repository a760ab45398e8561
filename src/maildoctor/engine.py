"""The run engine: plan the probes for a target, run them, apply the checks, build the report."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from maildoctor import catalogue
from maildoctor.checks import Check, CheckContext, all_checks, apply
from maildoctor.probes import ProbeSpec, all_probes, closure
from maildoctor.probes.runner import Runner
from maildoctor.report import Report, sort_findings
from maildoctor.settings import Settings


async def run_checks(
    target: str,
    settings: Settings,
    checks: Iterable[Check],
    runner: Runner | None = None,
    specs: Mapping[str, ProbeSpec] | None = None,
) -> Report:
    """Run exactly the probes that `checks` need (and what those build on), then the checks.

    `specs` replaces the registered probes: commands such as `auth` bring probes of their own
    that `check` must never plan (it would log in).
    """
    chosen = tuple(checks)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    runner = runner or Runner(settings)
    specs = dict(specs) if specs is not None else all_probes()
    plan = closure([need for c in chosen for need in c.inputs], specs)
    evidence = await runner.run_plan(plan, specs, runner.context(target))
    ctx = CheckContext(settings, catalogue.load())
    findings, not_checked = apply(chosen, evidence, ctx)
    return Report(
        target=target,
        started=started,
        duration_s=round(time.perf_counter() - t0, 6),
        findings=sort_findings(findings),
        not_checked=tuple(not_checked),
        timings=dict(runner.timings),
        evidence=evidence,
    )


# What `check --host HOST` runs without a domain: the server itself, not DNS policy.
HOST_AREAS = ("port", "smtp", "tls", "mailbox")


def runnable_checks() -> tuple[Check, ...]:
    """The checks a probe plan can feed (log checks, fed by `logs`, are not among them)."""
    specs = all_probes()
    return tuple(
        c
        for c in all_checks()
        if all(need in specs for need in c.needs)
        and (not c.optional or any(o in specs for o in c.optional))
    )


def check_areas() -> tuple[str, ...]:
    """The names `--only` and `--skip` take: one per checks module (mx, spf, smtp, tls...)."""
    return tuple(sorted({c.area for c in runnable_checks()}))


def select_checks(only: Iterable[str] = (), skip: Iterable[str] = ()) -> tuple[Check, ...]:
    wanted, unwanted = set(only), set(skip)
    unknown = (wanted | unwanted) - set(check_areas())
    if unknown:
        raise ValueError(
            f"unknown check area {', '.join(sorted(unknown))} (one of {', '.join(check_areas())})"
        )
    return tuple(
        c for c in all_checks() if (not wanted or c.area in wanted) and c.area not in unwanted
    )


async def check_domain(
    domain: str, settings: Settings, only: Iterable[str] = (), skip: Iterable[str] = ()
) -> Report:
    return await run_checks(domain, settings, select_checks(only, skip))
