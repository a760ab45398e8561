"""Runs a plan of probes concurrently under a global deadline, recording how long each took.

Each probe starts when the probes it builds on have answered. A probe that fails or overruns
becomes a ProbeFailure, and so do the probes that needed it, so the checks that needed them
report "not checked" with the reason instead of the run failing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from maildoctor.evidence import ProbeFailure
from maildoctor.net.dns import DnsClient
from maildoctor.net.limits import Limits
from maildoctor.probes import ProbeContext, ProbeSpec
from maildoctor.settings import Settings

log = logging.getLogger(__name__)


class Runner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = Limits(settings.max_connections, settings.per_host)
        self.dns = DnsClient(settings, self.limits)
        self.timings: dict[str, float] = {}
        self._started = time.monotonic()

    def context(self, target: str) -> ProbeContext:
        return ProbeContext(target, self.settings, self.dns, self.limits)

    def remaining(self) -> float:
        return self.settings.deadline - (time.monotonic() - self._started)

    async def run(self, name: str, probe: Callable[[], Awaitable[Any]]) -> Any:
        remaining = self.remaining()
        if remaining <= 0:
            return ProbeFailure(name, "deadline", "the run's deadline passed before it started")
        start = time.perf_counter()
        try:
            async with asyncio.timeout(remaining):
                return await probe()
        except TimeoutError:
            return ProbeFailure(
                name, "deadline", f"stopped at the run's deadline ({self.settings.deadline:g} s)"
            )
        except Exception as exc:  # a bug in a probe must not take the run down
            log.debug("probe %s failed", name, exc_info=True)
            return ProbeFailure(name, "internal", f"{type(exc).__name__}: {exc}")
        finally:
            self.timings[name] = round(time.perf_counter() - start, 6)

    async def gather(self, probes: Mapping[str, Callable[[], Awaitable[Any]]]) -> dict[str, Any]:
        """Run independent probes at once."""
        async with asyncio.TaskGroup() as group:
            tasks = {name: group.create_task(self.run(name, fn)) for name, fn in probes.items()}
        return {name: task.result() for name, task in tasks.items()}

    async def run_plan(
        self, plan: list[str], specs: Mapping[str, ProbeSpec], ctx: ProbeContext
    ) -> dict[str, Any]:
        """Run `plan` (dependencies first), each probe as soon as its inputs are known."""
        tasks: dict[str, asyncio.Task[Any]] = {}

        async def one(spec: ProbeSpec) -> Any:
            inputs = [await tasks[dep] for dep in spec.after]
            failed = [i for i in inputs if isinstance(i, ProbeFailure)]
            if failed:
                why = "; ".join(f"{f.probe}: {f.detail}" for f in failed)
                return ProbeFailure(spec.name, "skipped", f"needs what failed: {why}")
            return await self.run(spec.name, lambda: spec.func(ctx, *inputs))

        async with asyncio.TaskGroup() as group:
            for name in plan:
                tasks[name] = group.create_task(one(specs[name]))
        return {name: task.result() for name, task in tasks.items()}
