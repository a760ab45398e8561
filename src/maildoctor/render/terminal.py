"""The terminal report: a verdict line first, findings grouped by area, the fix under each problem.

Every string is wrapped in a rich Text after `inert()`, and the console parses neither markup
nor emoji codes, so nothing a server sends can style, move or hide output.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import IO

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from maildoctor.render.sanitize import inert
from maildoctor.report import Finding, Report, Severity

STYLE = {
    Severity.OK: "green",
    Severity.INFO: "cyan",
    Severity.WARNING: "yellow",
    Severity.ERROR: "red",
    Severity.CRITICAL: "bold white on red",
}
MARK = {
    Severity.OK: "✓",
    Severity.INFO: "i",
    Severity.WARNING: "!",
    Severity.ERROR: "✗",
    Severity.CRITICAL: "✗",
}
AREA_TITLES = {
    "dns": "DNS",
    "mx": "MX (incoming mail routing)",
    "spf": "SPF",
    "dkim": "DKIM",
    "dmarc": "DMARC",
    "ptr": "Reverse DNS",
    "smtp": "SMTP",
    "tls": "TLS and certificates",
    "imap": "IMAP",
    "pop3": "POP3",
    "port": "Ports",
    "dnsbl": "Blacklists",
    "auth": "Accounts",
    "send": "Sending test",
    "log": "Logs",
    "mta_sts": "MTA-STS",
    "tlsrpt": "TLS reporting (TLS-RPT)",
    "autoconfig": "Client autoconfiguration",
    "webmail": "Webmail",
    "message": "The sample message",
    "queue": "Mail queue",
    "host": "The mail server's machine",
}


def make_console(file: IO[str] | None = None, *, color: bool | None = None) -> Console:
    return Console(
        file=file,
        markup=False,
        emoji=False,
        highlight=False,
        force_terminal=color,
        no_color=color is False,
        soft_wrap=False,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def verdict(report: Report) -> Text:
    counts = report.counts()
    target = inert(report.target, multiline=False)
    worst = report.worst
    parts = [
        _plural(counts[sev], sev.label)
        for sev in (Severity.CRITICAL, Severity.ERROR, Severity.WARNING)
        if counts[sev]
    ]
    if worst >= Severity.ERROR:
        text = f"{MARK[worst]} {target}: problems found: {', '.join(parts)}"
    elif worst is Severity.WARNING:
        text = f"! {target}: no errors, {', '.join(parts)}"
    else:
        text = f"✓ {target}: no problems found"
    if report.not_checked:
        text += f" ({_plural(len(report.not_checked), 'check')} could not run)"
    line = Text(text, style="bold " + STYLE[worst] if worst < Severity.CRITICAL else STYLE[worst])
    line.append(f"  [{report.duration_s:.2f} s]", style="dim")
    return line


def finding_head(f: Finding, prefix: str = "  ") -> Text:
    """The title line: mark, severity, title, code."""
    head = Text(prefix)
    head.append(f"{MARK[f.severity]} {f.severity.label.upper():<8}", style=STYLE[f.severity])
    head.append(" " + inert(f.title, multiline=False), style="bold")
    head.append(f"  ({f.code})", style="dim")
    return head


def finding_grid(f: Finding) -> Table:
    """Subject and evidence; a two-column grid keeps wrapped lines under their text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("subject", Text(inert(f.subject, multiline=False)))
    if f.evidence:
        grid.add_row("evidence", Text(inert(f.evidence)))
    return grid


def render_finding(console: Console, f: Finding) -> None:
    """One finding: the title line, then subject, evidence and, for a problem, cause and fix."""
    console.print(finding_head(f))
    grid = finding_grid(f)
    if f.severity.is_problem:
        grid.add_row("cause", Text(inert(f.cause)))
        grid.add_row("fix", Text(inert(f.fix), style="bold"))
        if f.references:
            grid.add_row("see", Text(inert(", ".join(f.references))))
    console.print(Padding(grid, (0, 0, 0, 6)))


def render(report: Report, console: Console, *, quiet: bool = False) -> None:
    console.print(verdict(report))
    shown: Iterable[Finding] = report.problems() if quiet else report.findings
    by_area = sorted(shown, key=lambda f: (f.area, -f.severity, f.code, f.subject))
    for area, group in groupby(by_area, key=lambda f: f.area):
        console.print()
        console.print(Text(AREA_TITLES.get(area, area.upper()), style="bold underline"))
        for f in group:
            render_finding(console, f)
    if report.not_checked:
        console.print()
        console.print(Text("Not checked", style="bold underline"))
        for n in report.not_checked:
            line = Text("  - " + inert(n.what, multiline=False), style="yellow")
            line.append(": " + inert(n.reason, multiline=False))
            console.print(line)
