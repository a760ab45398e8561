from datetime import UTC, datetime

import pytest

from maildoctor.report import (
    EXIT_OK,
    EXIT_PROBLEMS,
    Finding,
    Report,
    Severity,
    exit_code,
    sort_findings,
)


def finding(code: str, sev: Severity, subject: str = "s") -> Finding:
    return Finding(code, sev, subject, "t", "e", "c", "f")


def report(*sevs: Severity) -> Report:
    found = tuple(finding(f"x.c{i}", s) for i, s in enumerate(sevs))
    return Report("example.com", datetime.now(UTC), 0.1, found)


def test_severity_order_and_labels() -> None:
    assert Severity.OK < Severity.INFO < Severity.WARNING < Severity.ERROR < Severity.CRITICAL
    assert [s.label for s in Severity] == ["ok", "info", "warning", "error", "critical"]
    assert Severity.parse(" Warning ") is Severity.WARNING
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("fatal")


@pytest.mark.parametrize(
    ("sevs", "code"),
    [
        ((), EXIT_OK),
        ((Severity.OK, Severity.INFO, Severity.WARNING), EXIT_OK),
        ((Severity.OK, Severity.ERROR), EXIT_PROBLEMS),
        ((Severity.CRITICAL,), EXIT_PROBLEMS),
    ],
)
def test_exit_code_rule(sevs: tuple[Severity, ...], code: int) -> None:
    assert exit_code(report(*sevs)) == code


def test_worst_counts_and_problems() -> None:
    r = report(Severity.OK, Severity.WARNING, Severity.WARNING, Severity.ERROR)
    assert r.worst is Severity.ERROR
    assert r.counts()[Severity.WARNING] == 2
    assert [f.severity for f in r.problems()] == [
        Severity.WARNING,
        Severity.WARNING,
        Severity.ERROR,
    ]
    assert report().worst is Severity.OK


def test_sort_findings_worst_first_then_stable_by_area() -> None:
    found = [
        finding("mx.ok", Severity.OK),
        finding("spf.a", Severity.WARNING),
        finding("dns.b", Severity.WARNING),
        finding("mx.c", Severity.CRITICAL),
    ]
    assert [f.code for f in sort_findings(found)] == ["mx.c", "dns.b", "spf.a", "mx.ok"]
