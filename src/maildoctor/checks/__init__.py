"""Pure rules from evidence to findings, registered with the evidence they need.

A check declares the evidence keys it reads and every code it may emit; the engine refuses a
finding whose code the check did not declare, and the conventions tests hold the declared
codes equal to the catalogue.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from maildoctor.catalogue import Catalogue, CatalogueError
from maildoctor.evidence import ProbeFailure
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

# A check yields findings, and NotChecked where its evidence cannot decide (a DNS timeout is
# never "record missing").
CheckFn = Callable[..., Iterable[Finding | NotChecked]]


@dataclass(frozen=True)
class CheckContext:
    settings: Settings
    catalogue: Catalogue

    def finding(
        self,
        code: str,
        *,
        subject: str,
        evidence: str,
        severity: Severity | None = None,
        only_symptoms: tuple[str, ...] | None = None,
        **params: object,
    ) -> Finding:
        return self.catalogue.finding(
            code,
            subject=subject,
            evidence=evidence,
            severity=severity,
            only_symptoms=only_symptoms,
            **params,
        )


# What a server of each role can explain: a fault on the MX (port 25) stops mail coming in; a
# fault on the client-facing host stops people sending and logging in. Passed as
# `only_symptoms` by checks that know the role.
ROLE_SYMPTOMS: dict[str, tuple[str, ...]] = {
    "mx": ("cannot-receive", "spam-folder", "overloaded", "large-attachments"),
    "submission": (
        "cannot-send",
        "password-rejected",
        "client-ssl-error",
        "overloaded",
        "large-attachments",
    ),
}


@dataclass(frozen=True)
class Check:
    name: str
    needs: tuple[str, ...]
    codes: frozenset[str]
    func: CheckFn
    # Evidence used when the run has it: passed as None when it is not planned or its probe
    # failed. A check with only optional evidence runs when any of it was planned.
    optional: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        return (*self.needs, *self.optional)

    @property
    def area(self) -> str:
        """The checks module the rule lives in: what `--only` / `--skip` select by."""
        return self.name.split(".", 1)[0]


REGISTRY: dict[str, Check] = {}


def check(
    *, needs: tuple[str, ...], codes: Iterable[str], optional: tuple[str, ...] = ()
) -> Callable[[CheckFn], CheckFn]:
    def register(func: CheckFn) -> CheckFn:
        name = f"{func.__module__.removeprefix('maildoctor.checks.')}.{func.__name__}"
        REGISTRY[name] = Check(name, needs, frozenset(codes), func, optional)
        return func

    return register


def all_checks() -> tuple[Check, ...]:
    """Every check; importing a topic module registers its checks."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return tuple(REGISTRY[name] for name in sorted(REGISTRY))


def _usable(ev: object) -> bool:
    return ev is not None and not isinstance(ev, ProbeFailure)


def apply(
    checks: Iterable[Check], evidence: Mapping[str, Any], ctx: CheckContext
) -> tuple[list[Finding], list[NotChecked]]:
    """Run every check whose evidence was gathered; a failed probe makes its checks not run."""
    findings: list[Finding] = []
    not_checked: list[NotChecked] = []
    for chk in checks:
        if any(need not in evidence for need in chk.needs):
            continue  # not in this run's plan
        if not chk.needs and not any(o in evidence for o in chk.optional):
            continue
        failures = [evidence[n] for n in chk.inputs if isinstance(evidence.get(n), ProbeFailure)]
        if failures:
            reason = "; ".join(f"{f.probe}: {f.kind}: {f.detail}" for f in failures)
            not_checked.append(NotChecked(chk.name, reason))
        required_failed = any(isinstance(evidence[n], ProbeFailure) for n in chk.needs)
        nothing_to_read = not chk.needs and not any(_usable(evidence.get(o)) for o in chk.optional)
        if required_failed or nothing_to_read:
            continue
        args = [evidence[n] for n in chk.needs]
        args += [evidence.get(o) if _usable(evidence.get(o)) else None for o in chk.optional]
        for item in chk.func(ctx, *args):
            if isinstance(item, NotChecked):
                not_checked.append(item)
                continue
            if item.code not in chk.codes:
                raise CatalogueError(f"check {chk.name} emitted undeclared code {item.code}")
            findings.append(item)
    return findings, not_checked
