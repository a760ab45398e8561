"""The terminal form of a diagnosis: the most likely cause first, its fix as numbered steps,
then the other possible causes, what else was found, what was ruled out and what would help.

Same rules as render/terminal.py: every outside string through `inert()`, rich Text only.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from maildoctor.render.sanitize import inert
from maildoctor.render.terminal import MARK, STYLE, finding_grid, finding_head
from maildoctor.report import Finding, Report, Severity


def steps(fix: str) -> list[tuple[str, list[str]]]:
    """Split a catalogue fix into steps: each prose line starts one, the indented lines under
    it (commands, records) belong to it. A fix of one paragraph is one step; a prose line that
    starts in lower case ("and in Exim...", "then: postfix reload") goes on with the step."""
    out: list[tuple[str, list[str]]] = []
    for line in fix.splitlines():
        if not line.strip():
            continue
        if out and (line[:1].isspace() or line[:1].islower()):
            out[-1][1].append(line.rstrip())
        elif line[:1].isspace():
            out.append(("", [line.rstrip()]))
        else:
            out.append((line.strip(), []))
    return out


def _cause(console: Console, f: Finding, n: int, shown: dict[str, int]) -> None:
    """One ranked cause; a code already shown gets its subject and evidence, not the fix
    again."""
    console.print(finding_head(f, f"  {n}. "))
    grid = finding_grid(f)
    first = shown.setdefault(f.code, n)
    if first != n:
        grid.add_row("fix", Text(f"as for cause {first} above"))
        console.print(Padding(grid, (0, 0, 0, 7)))
        return
    grid.add_row("why", Text(inert(f.cause)))
    console.print(Padding(grid, (0, 0, 0, 7)))
    fix = Table.grid(padding=(0, 1))
    fix.add_column(style="bold", no_wrap=True)
    fix.add_column(overflow="fold")
    for i, (text, literal) in enumerate(steps(f.fix), 1):
        body = Text(inert(text), style="bold") if text else Text()
        for line in literal:
            if len(body):
                body.append("\n")
            body.append(inert(line))
        fix.add_row(f"step {i}", body)
    console.print(Padding(fix, (0, 0, 0, 7)))
    if f.references:
        console.print(Padding(Text("see " + inert(", ".join(f.references)), style="dim"), (0, 7)))


def _items(console: Console, mark: str, lines: Iterable[str | Text]) -> None:
    """A list whose wrapped lines stay under their text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in lines:
        grid.add_row(mark, line if isinstance(line, Text) else Text(inert(line, multiline=False)))
    console.print(Padding(grid, (0, 0, 0, 2)))


def _others(console: Console, others: list[Finding]) -> None:
    """Problems that do not explain the symptom: one line each."""
    for f in others:
        row = Text("  ")
        row.append(f"{MARK[f.severity]} {f.severity.label.upper():<8}", style=STYLE[f.severity])
        row.append(" " + inert(f.title, multiline=False))
        row.append(f"  ({f.code})", style="dim")
        row.append("  " + inert(f.subject, multiline=False), style="dim")
        console.print(row)


def _heading(console: Console, text: str) -> None:
    console.print()
    console.print(Text(text, style="bold underline"))


def render(report: Report, console: Console, *, quiet: bool = False) -> None:
    d = report.diagnosis
    if d is None:  # not a diagnosis: nothing of this page applies
        from maildoctor.render.terminal import render as plain

        plain(report, console, quiet=quiet)
        return
    causes = report.findings[: d.causes]
    rest = report.findings[d.causes :]
    others = [f for f in rest if f.severity.is_problem]
    title = Text(f"maildoctor diagnose {inert(report.target, multiline=False)}: ", style="bold")
    title.append(f'"{d.description}"', style="bold")
    title.append(f"  [{report.duration_s:.2f} s]", style="dim")
    console.print(title)
    if not causes:
        line = "✓ No cause of this symptom found in what could be checked"
        console.print(Text(line, style="bold green"))
    else:
        worst = max(f.severity for f in causes)
        many = f"{len(causes)} possible causes" if len(causes) > 1 else "1 likely cause"
        console.print(Text(f"{MARK[worst]} {many} found", style="bold " + STYLE[worst]))
        shown: dict[str, int] = {}
        _heading(console, "Most likely cause")
        _cause(console, causes[0], 1, shown)
        if len(causes) > 1:
            _heading(console, "Other possible causes, most likely first")
            for n, f in enumerate(causes[1:], 2):
                _cause(console, f, n, shown)
    if others:
        _heading(
            console, "Also found (does not explain this symptom; maildoctor check has the fix)"
        )
        _others(console, others)
    if d.ruled_out and not quiet:
        _heading(console, "Ruled out (checked and working)")
        _items(console, MARK[Severity.OK], d.ruled_out)
    if report.not_checked:
        _heading(console, "Not checked")
        rows = []
        for nc in report.not_checked:
            text = Text(inert(nc.what, multiline=False), style="yellow")
            rows.append(text.append(": " + inert(nc.reason, multiline=False)))
        _items(console, "-", rows)
    if d.used:
        _heading(console, "Used")
        for key, value in d.used.items():
            console.print(Text(f"  {key}: " + inert(value, multiline=False)))
    if d.hints:
        _heading(console, "To check more")
        _items(console, "-", d.hints)
    if d.by_hand and not quiet:
        _heading(console, "Beyond what maildoctor can see from here")
        _items(console, "-", d.by_hand)
