"""Probes: async I/O that returns typed evidence, registered with the evidence they build on.

A probe module registers its functions with `@probe(name, after=(...))`; the runner starts each
probe as soon as the probes it needs have answered, so a run costs its slowest dependency
chain, not the sum. Adding a probe touches only its own module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from maildoctor.net.dns import DnsClient
from maildoctor.net.limits import Limits
from maildoctor.settings import Settings

ProbeFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class ProbeContext:
    """What every probe may use: the target, the settings, the run's DNS client and limits."""

    target: str
    settings: Settings
    dns: DnsClient
    limits: Limits
    # Work shared between probes of this run (one SMTP session per IP:port...), by key.
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    after: tuple[str, ...]
    func: ProbeFn


PROBES: dict[str, ProbeSpec] = {}
_NOT_PROBES = {"runner"}


def probe(name: str, *, after: tuple[str, ...] = ()) -> Callable[[ProbeFn], ProbeFn]:
    """Register `func(ctx, *evidence_of_after)` as the probe that produces evidence `name`."""

    def register(func: ProbeFn) -> ProbeFn:
        if name in PROBES and PROBES[name].func is not func:
            raise ValueError(f"probe {name!r} registered twice")
        PROBES[name] = ProbeSpec(name, after, func)
        return func

    return register


def all_probes() -> dict[str, ProbeSpec]:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in _NOT_PROBES:
            importlib.import_module(f"{__name__}.{mod.name}")
    return dict(PROBES)


def closure(names: Iterable[str], specs: dict[str, ProbeSpec]) -> list[str]:
    """The probes needed for `names`, dependencies first; unknown names are skipped."""
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order or name not in specs:
            return
        if name in path:
            raise ValueError(f"probe dependency cycle: {' -> '.join((*path, name))}")
        for dep in specs[name].after:
            visit(dep, (*path, name))
        order.append(name)

    for name in names:
        visit(name, ())
    return order
