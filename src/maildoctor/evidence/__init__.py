"""Frozen, typed evidence: what a probe asked, what came back, how long it took."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeFailure:
    """A probe that produced no evidence: the reason is data, never an exception."""

    probe: str
    kind: str  # timeout | deadline | refused | unreachable | tls | protocol | dns | internal
    detail: str
