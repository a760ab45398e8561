"""Runs probes concurrently under a global deadline, recording how long each took.

A probe that fails or overruns becomes a ProbeFailure, so the checks that needed it report
"not checked" with the reason instead of the run failing.
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
from maildoctor.settings import Settings

log = logging.getLogger(__name__)

ProbeFn = Callable[[], Awaitable[Any]]


class Runner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = Limits(settings.max_connections, settings.per_host)
        self.dns = DnsClient(settings, self.limits)
        self.timings: dict[str, float] = {}
        self._started = time.monotonic()

    def remaining(self) -> float:
        return self.settings.deadline - (time.monotonic() - self._started)

    async def run(self, name: str, probe: ProbeFn) -> Any:
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

    async def gather(self, probes: Mapping[str, ProbeFn]) -> dict[str, Any]:
        async with asyncio.TaskGroup() as group:
            tasks = {name: group.create_task(self.run(name, fn)) for name, fn in probes.items()}
        return {name: task.result() for name, task in tasks.items()}
