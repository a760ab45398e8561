"""One bound on open sockets per run, and a cap per host, shared by every probe and by DNS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Limits:
    def __init__(self, max_connections: int, per_host: int) -> None:
        self._total = asyncio.Semaphore(max_connections)
        self._per_host_max = per_host
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self.open = 0
        self.peak = 0

    @asynccontextmanager
    async def slot(self, host: str, cap: int | None = None) -> AsyncIterator[None]:
        """Hold one connection slot to `host` (at most `cap` at once, default per_host)."""
        host_sem = self._per_host.get(host)
        if host_sem is None:
            host_sem = self._per_host[host] = asyncio.Semaphore(cap or self._per_host_max)
        async with host_sem, self._total:
            self.open += 1
            self.peak = max(self.peak, self.open)
            try:
                yield
            finally:
                self.open -= 1
