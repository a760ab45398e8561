"""The report model: severities, findings, what could not be checked, and the exit-code rule.

Everything a probe observed and every verdict a check reached ends up here; renderers and the
JSON contract (DESIGN.md, "Contracts") read only this model.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHEMA = "maildoctor.report/1"


class Severity(enum.IntEnum):
    """Ordered so that `max()` over findings gives the worst one."""

    OK = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def is_problem(self) -> bool:
        return self >= Severity.WARNING

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of {names})") from None


SYMPTOMS: Mapping[str, str] = {
    # The eight common errors of the mission, in the words a person reports them.
    "password-rejected": "Outlook (or another mail app) keeps saying the password is wrong",
    "cannot-receive": "We can send, but mail from outside does not arrive",
    "webmail-login": "Cannot log in to webmail",
    "client-ssl-error": "Outlook will not open, or shows certificate / SSL warnings",
    "cannot-send": "Cannot send mail",
    "spam-folder": "Our mail lands in the recipients' spam folder",
    "overloaded": "The mail server is overloaded or very slow",
    "large-attachments": "Mail with large attachments fails",
}


@dataclass(frozen=True)
class Finding:
    """One verdict about one subject, with the evidence behind it and the fix."""

    code: str
    severity: Severity
    subject: str
    title: str
    evidence: str
    cause: str
    fix: str
    references: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.code.split(".", 1)[0]


@dataclass(frozen=True)
class NotChecked:
    """A check that could not run, and why (a probe failed, a port was filtered...)."""

    what: str
    reason: str


@dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` adds to a report: the symptom, how many of the report's first findings
    are its likely causes (ranked), what the run ruled out, and what else would help."""

    symptom: str
    causes: int
    ruled_out: tuple[str, ...] = ()
    used: Mapping[str, str] = field(default_factory=dict)
    hints: tuple[str, ...] = ()
    by_hand: tuple[str, ...] = ()  # what no probe sees (the PC, the browser, the server's CPU)

    @property
    def description(self) -> str:
        return SYMPTOMS.get(self.symptom, self.symptom)


@dataclass(frozen=True)
class Report:
    target: str
    started: datetime
    duration_s: float
    findings: tuple[Finding, ...]
    not_checked: tuple[NotChecked, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)
    diagnosis: Diagnosis | None = None

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.OK)

    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity.is_problem)

    def counts(self) -> dict[Severity, int]:
        out = dict.fromkeys(Severity, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Worst first, then by area and subject, so reports read the same on every run."""
    return tuple(sorted(findings, key=lambda f: (-f.severity, f.area, f.code, f.subject)))


EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def exit_code(report: Report) -> int:
    """0 when no finding is error or critical, 1 when one is (DESIGN.md, "Contracts")."""
    return EXIT_PROBLEMS if report.worst >= Severity.ERROR else EXIT_OK
