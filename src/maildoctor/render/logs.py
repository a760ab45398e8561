"""The terminal rendering of a log summary (maildoctor logs): figures first, then the findings.

Every string taken from a log (addresses, users, reasons, example lines) goes through
`inert()` into a rich Text: a log line carrying terminal escapes cannot act on the terminal.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from maildoctor.logs.clock import iso_utc
from maildoctor.logs.model import LogSummary, Reason
from maildoctor.render.sanitize import inert
from maildoctor.render.terminal import MARK, STYLE, render_finding
from maildoctor.report import Finding, Severity


def _t(text: object, style: str = "") -> Text:
    return Text(inert(str(text), multiline=False), style=style)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def verdict(s: LogSummary, findings: Iterable[Finding]) -> Text:
    found = list(findings)
    worst = max((f.severity for f in found), default=Severity.OK)
    counts = {sev: sum(1 for f in found if f.severity is sev) for sev in Severity}
    parts = [
        _plural(counts[sev], sev.label)
        for sev in (Severity.CRITICAL, Severity.ERROR, Severity.WARNING)
        if counts[sev]
    ]
    if worst >= Severity.ERROR:
        head = f"{MARK[worst]} logs: problems found: {', '.join(parts)}"
    elif worst is Severity.WARNING:
        head = f"! logs: no errors, {', '.join(parts)}"
    else:
        head = "✓ logs: no problems found"
    line = _t(head, "bold " + STYLE[worst] if worst < Severity.CRITICAL else STYLE[worst])
    line.append(
        f"  [{s.lines} lines, {s.unparsed} not understood, {', '.join(s.mtas) or 'no MTA'}]",
        style="dim",
    )
    return line


def _section(console: Console, title: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))


def _reasons(console: Console, title: str, reasons: tuple[Reason, ...]) -> None:
    if not reasons:
        return
    _section(console, title)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right")
    grid.add_column()
    for r in reasons[:10]:
        grid.add_row(_t(r.count), _t(r.reason))
        grid.add_row(Text(""), _t(r.example, "dim"))
    console.print(Padding(grid, (0, 0, 0, 2)))


def _top(by: dict[str, int], n: int = 5) -> str:
    return ", ".join(f"{k or 'unknown'} {v}" for k, v in list(by.items())[:n])


def render_summary(s: LogSummary, console: Console) -> None:
    _section(console, "Summary")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(
        "lines",
        _t(
            f"{s.lines} read: {s.parsed} understood, {s.unparsed} not understood"
            + (f", {s.out_of_range} outside --since/--until" if s.out_of_range else "")
            + (f", {s.overlong} over-long (cut)" if s.overlong else "")
        ),
    )
    grid.add_row("files", _t(", ".join(s.files)))
    if s.first_seen is not None:
        grid.add_row("period", _t(f"{iso_utc(s.first_seen)} to {iso_utc(s.last_seen)}"))
    d = s.deliveries
    grid.add_row(
        "deliveries",
        _t(
            f"{s.messages} messages; sent {d.get('sent', 0)}, deferred {d.get('deferred', 0)}, "
            f"bounced {d.get('bounced', 0)}, expired {d.get('expired', 0)}"
            + (f"; {s.deferred_pending} still deferred at the end" if s.deferred_pending else "")
        ),
    )
    if s.delay_avg is not None:
        grid.add_row("delay", _t(f"average {s.delay_avg:g} s, max {s.delay_max:g} s"))
    if s.auth_failures:
        grid.add_row(
            "failed logins",
            _t(
                f"{s.auth_failures}: by address {_top(s.auth_by_ip)}; by user "
                f"{_top(s.auth_by_user)}"
            ),
        )
    for label, c in (
        ("relay denied", s.relay_denied),
        ("too large", s.size_rejected),
        ("mailbox full", s.mailbox_full),
        ("TLS failures", s.tls_failures),
        ("rate limits", s.rate_limited),
        ("DNSBL rejects", s.dnsbl_rejections),
        ("faults", s.faults),
        ("warnings", s.warnings),
    ):
        if c.total:
            grid.add_row(label, _t(f"{c.total}: {_top(c.by_key)}"))
    if s.top_senders:
        grid.add_row("top senders", _t(", ".join(f"{a} {n}" for a, n in s.top_senders[:5])))
    if s.accounts:
        grid.add_row(
            "accounts",
            _t(", ".join(f"{a.user} {a.messages} msg/{a.recipients} rcpt" for a in s.accounts[:5])),
        )
    if s.evictions:
        grid.add_row("capped", _t(f"tables full, approximate counts: {_top(s.evictions)}"))
    console.print(Padding(grid, (0, 0, 0, 2)))
    if s.brute_force:
        _section(console, "Brute force")
        table = Table.grid(padding=(0, 2))
        for b in s.brute_force[:20]:
            table.add_row(
                _t(b.ip, "bold"),
                _t(
                    f"{b.failures - b.failures_error} to {b.failures} failures (approximate)"
                    if b.failures_error
                    else f"{b.failures} failures"
                ),
                _t(f"{iso_utc(b.first_seen)} to {iso_utc(b.last_seen)}"),
                _t(", ".join(b.users[:5])),
            )
        console.print(Padding(table, (0, 0, 0, 2)))
    _reasons(console, "Bounces by cause", s.bounce_reasons)
    _reasons(console, "Deferrals by cause", s.deferral_reasons)
    _reasons(console, "Rejected by this server, by cause", s.reject_reasons)


def render(
    s: LogSummary, findings: Iterable[Finding], console: Console, *, quiet: bool = False
) -> None:
    found = sorted(findings, key=lambda f: (-f.severity, f.code, f.subject))
    console.print(verdict(s, found))
    if not quiet:
        render_summary(s, console)
    shown = [f for f in found if f.severity.is_problem] if quiet else found
    if shown:
        _section(console, "Findings")
        for f in shown:
            render_finding(console, f)


def render_unparsed(line: str) -> Text:
    """One --show-unparsed line, inert."""
    return Text("unparsed: ", style="dim") + _t(line)


def render_event(line: str) -> Text:
    """One notable line in --follow mode, inert."""
    return _t(line)


def render_html(s: LogSummary, findings: Iterable[Finding]) -> str:
    """The HTML report of the findings, with the summary figures above them (all escaped)."""
    import html as html_mod
    from datetime import UTC, datetime

    from maildoctor.render import html as html_render
    from maildoctor.report import Report, sort_findings

    found = sort_findings(findings)
    report = Report(
        target="logs: " + ", ".join(s.files),
        started=datetime.now(UTC),
        duration_s=0.0,
        findings=found,
    )
    page = html_render.render(report)
    console = Console(
        record=True, width=110, markup=False, emoji=False, highlight=False, file=io.StringIO()
    )
    render_summary(s, console)
    text = console.export_text()
    block = f'<h2>Summary</h2><pre class="summary">{html_mod.escape(inert(text))}</pre>'
    marker = "<h2>"
    i = page.find(marker)
    return page[:i] + block + page[i:] if i >= 0 else page.replace("</body>", block + "</body>")
