"""The HTML report: one self-contained file, every string escaped, no script, no external asset."""

from __future__ import annotations

import html
from importlib import resources

from maildoctor.render.sanitize import inert
from maildoctor.render.terminal import AREA_TITLES, verdict
from maildoctor.report import Finding, Report


def _e(text: str) -> str:
    return html.escape(inert(text), quote=True)


def _finding(f: Finding) -> str:
    rows = [("subject", f.subject), ("evidence", f.evidence)]
    if f.severity.is_problem:
        rows += [("cause", f.cause), ("fix", f.fix), ("references", ", ".join(f.references))]
    if f.symptoms:
        rows.append(("explains", ", ".join(f.symptoms)))
    body = "".join(f"<dt>{_e(k)}</dt><dd><pre>{_e(v)}</pre></dd>" for k, v in rows if v)
    return (
        f'<section class="finding sev-{f.severity.label}">'
        f'<h3><span class="sev">{_e(f.severity.label)}</span> {_e(f.title)} '
        f"<code>{_e(f.code)}</code></h3><dl>{body}</dl></section>"
    )


def _diagnosis(report: Report) -> tuple[str, list[Finding]]:
    """A diagnosis opens with its ranked causes; the rest of the report follows by area."""
    d = report.diagnosis
    if d is None:
        return "", list(report.findings)
    causes = report.findings[: d.causes]
    head = f"<h2>Symptom: {_e(d.description)}</h2>"
    if causes:
        head += "<h2>Most likely cause first</h2>" + "".join(map(_finding, causes))
    else:
        head += "<p>No cause of this symptom found in what could be checked.</p>"
    for title, items in (
        ("Ruled out", d.ruled_out),
        ("To check more", d.hints),
        ("Beyond what maildoctor can see from here", d.by_hand),
    ):
        if items:
            head += f"<h2>{title}</h2><ul>" + "".join(f"<li>{_e(i)}</li>" for i in items)
            head += "</ul>"
    return head, list(report.findings[d.causes :])


def render(report: Report) -> str:
    css = resources.files("maildoctor.render").joinpath("report.css").read_text("utf-8")
    head, rest = _diagnosis(report)
    areas: dict[str, list[Finding]] = {}
    for f in rest:
        areas.setdefault(f.area, []).append(f)
    sections = head + "".join(
        f"<h2>{_e(AREA_TITLES.get(area, area.upper()))}</h2>" + "".join(map(_finding, found))
        for area, found in sorted(areas.items())
    )
    if report.not_checked:
        items = "".join(f"<li><b>{_e(n.what)}</b>: {_e(n.reason)}</li>" for n in report.not_checked)
        sections += f"<h2>Not checked</h2><ul>{items}</ul>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>maildoctor: {_e(report.target)}</title><style>{css}</style></head><body>"
        f'<h1 class="verdict sev-{report.worst.label}">{_e(verdict(report).plain)}</h1>'
        f'<p class="meta">started {_e(report.started.isoformat())}, '
        f"{report.duration_s:.2f} s</p>{sections}</body></html>\n"
    )
