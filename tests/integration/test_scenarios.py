"""Every lab scenario yields exactly its codes, across all areas at once.

lab/scenarios.tsv names, for each domain, the codes its planted fault yields: each must appear,
and no other finding of severity warning or worse may. This is the full `maildoctor check`
(DNS, servers, TLS), so a fault that leaks into another area, or a false alarm on the
control domain, fails here even when each area's own tests pass.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from maildoctor.engine import check_domain
from maildoctor.report import Report
from maildoctor.settings import Resolver, Settings

from .conftest import LAB_DIR, Lab

pytestmark = pytest.mark.lab

CODE = re.compile(r"\b[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\b")
# Scenarios that need an option to show what they plant.
OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "dkim-ed25519.test": {"dkim_selectors": ("brisbane",)},
}
# Checks run a few domains at a time: a real server is not hit by the whole lab at once.
CONCURRENCY = 6
# Codes that other commands report (auth, send-test, diagnose's webmail, message and queue
# evidence): `check` must find nothing on those.
OTHER_COMMANDS = ("auth.", "send.", "webmail.", "message.", "queue.")


def scenarios() -> list[tuple[str, frozenset[str]]]:
    rows = []
    for line in (LAB_DIR / "scenarios.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        domain, _fault, expected = [*line.split("\t"), "", ""][:3]
        rows.append((domain, frozenset(CODE.findall(expected))))
    return rows


SCENARIOS = scenarios()


@pytest.fixture(scope="module")
def reports(lab: Lab) -> dict[str, Report]:
    async def all_reports() -> dict[str, Report]:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(domain: str) -> Report:
            settings = Settings(
                resolvers=(Resolver(lab.resolver, lab.resolver_port),),
                allow_private=True,
                ca_file=Path(lab.ca_file),
                **OPTIONS.get(domain, {}),  # type: ignore[arg-type]
            )
            async with gate:
                return await check_domain(domain, settings)

        found = await asyncio.gather(*(one(d) for d, _ in SCENARIOS))
        return {d: r for (d, _), r in zip(SCENARIOS, found, strict=True)}

    return asyncio.run(all_reports())


def test_the_table_names_every_domain_with_codes() -> None:
    assert len(SCENARIOS) >= 60
    assert [d for d, codes in SCENARIOS if not codes and d != "good.test"] == []


@pytest.mark.parametrize(("domain", "expected"), SCENARIOS, ids=[d for d, _ in SCENARIOS])
def test_scenario_yields_exactly_its_codes(
    reports: dict[str, Report], domain: str, expected: frozenset[str]
) -> None:
    report = reports[domain]
    # Faults that show in another command are tested there (tests/integration/test_auth_*...).
    expected = frozenset(c for c in expected if not c.startswith(OTHER_COMMANDS))
    codes = {f.code for f in report.findings}
    problems = {f.code for f in report.problems()}
    assert expected <= codes, (
        f"missing {sorted(expected - codes)}; not checked: {report.not_checked}"
    )
    assert problems <= expected, f"unexpected {sorted(problems - expected)}"


def test_the_control_domain_is_clean_and_fully_checked(reports: dict[str, Report]) -> None:
    report = reports["good.test"]
    assert report.problems() == ()
    assert report.not_checked == ()
    areas = {f.area for f in report.findings}
    assert {"mx", "spf", "dkim", "dmarc", "ptr", "dnsbl", "smtp", "tls", "imap", "pop3"} <= areas
