"""Show an explanation: terminal (rich Text only, the user's text made inert), JSON, Markdown.

The JSON shape is docs/explain.schema.json ("maildoctor.explain/1").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from maildoctor.explain.knowledge import CLASS_MEANING, FAMILIES, Entry, Tier
from maildoctor.explain.matcher import Explanation, Match
from maildoctor.render.sanitize import inert
from maildoctor.report import SYMPTOMS

SCHEMA = "maildoctor.explain/1"
ECHO_CHARS = 300
UNKNOWN = (
    "maildoctor knows nothing of this text: it holds no SMTP status code and matches no "
    "known server, provider or client message."
)
UNKNOWN_HINT = (
    "Paste the whole line as the server or client printed it: the 3-digit reply code (550) "
    "and the enhanced code (5.7.1) carry most of the meaning. To look for the fault directly: "
    "maildoctor check example.com"
)
FAMILY_TITLES = {
    "gmail": "Gmail / Google Workspace",
    "microsoft": "Microsoft 365, Outlook.com, Exchange",
    "yahoo": "Yahoo and AOL",
    "dnsbl": "Blacklists and reputation filters",
    "clients": "Client and server messages",
    "outlook": "Outlook error numbers",
    "enhanced": "Enhanced status codes (RFC 3463, IANA registry)",
    "smtp_basic": "SMTP reply codes (RFC 5321 4.2)",
}
_TIER_LABEL = {
    Tier.TEXT: "text",
    Tier.DETAIL: "enhanced code",
    Tier.SUBJECT: "enhanced code subject",
    Tier.BASIC: "reply code",
    Tier.CLASS: "code class",
}


def summary(exp: Explanation) -> str:
    if not exp.matches:
        return UNKNOWN
    return exp.matches[0].entry.title


def answer_json(m: Match) -> dict[str, Any]:
    e = m.entry
    return {
        "id": e.id,
        "family": e.family,
        "tier": m.tier.label,
        "code": m.code,
        "matched": m.matched,
        "title": e.title,
        "meaning": e.meaning,
        "causes": list(e.causes),
        "fix": [m.fill(step) for step in e.fix],
        "check": [m.fill(c) for c in e.check],
        "findings": list(e.findings),
        "symptoms": list(e.symptoms),
        "references": list(e.references),
    }


def to_json(exp: Explanation) -> dict[str, Any]:
    p = exp.parsed
    return {
        "schema": SCHEMA,
        "input": {"chars": len(p.text), "truncated": p.truncated},
        "codes": {
            "basic": list(p.basic),
            "enhanced": list(p.enhanced),
            "unregistered": list(exp.unregistered),
        },
        "known": exp.known,
        "summary": summary(exp),
        "answers": [answer_json(m) for m in exp.matches],
    }


def dumps(exp: Explanation) -> str:
    # ASCII only: the user's text (in "matched") may hold C1 or bidi controls, which JSON
    # would otherwise carry raw to a terminal that shows the output.
    return json.dumps(to_json(exp), indent=2, ensure_ascii=True)


def _primary(exp: Explanation) -> tuple[list[Match], list[Match]]:
    """Full answers: every provider/client text found; else the most specific code reading
    and, when there is one, the reply code's (550 says more than the 5.7.0 "other" detail)."""
    texts = [m for m in exp.matches if m.tier is Tier.TEXT]
    rest = [m for m in exp.matches if m.tier is not Tier.TEXT]
    if texts:
        return texts, rest
    full = rest[:1]
    basic = next((m for m in rest[1:] if m.tier is Tier.BASIC), None)
    if basic is not None:
        full.append(basic)
    return full, [m for m in rest if m not in full]


def _at(console: Console, indent: int, text: Text | Table) -> None:
    """Print `text` so that its wrapped lines stay under its first one."""
    console.print(Padding(text, (0, 0, 0, indent)))


def _block(console: Console, heading: str, items: Iterable[str], style: str = "") -> None:
    lines = list(items)
    if not lines:
        return
    _at(console, 3, Text(heading, style="bold"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    numbered = len(lines) > 1
    for i, item in enumerate(lines, 1):
        grid.add_row(f"{i}." if numbered else "", Text(inert(item), style=style))
    _at(console, 5, grid)


def _labelled(console: Console, label: str, value: str) -> None:
    _at(console, 3, Text(f"{label}: ", style="bold").append(value))


def _full(console: Console, n: int, m: Match) -> None:
    e = m.entry
    where = f"{FAMILY_TITLES[e.family]}" + (f", {m.code}" if m.code else "")
    line = Text(f"{n}. ", style="bold")
    line.append(inert(e.title), style="bold")
    line.append(f"  [{e.id}; {where}]", style="dim")
    console.print(line)
    _labelled(console, "What it means", inert(e.meaning))
    _block(console, "Likely causes (most likely first):", e.causes)
    _block(console, "Fix:", (m.fill(s) for s in e.fix))
    _block(console, "Check it with:", (m.fill(c) for c in e.check), style="cyan")
    if e.findings:
        _labelled(console, "Related findings", ", ".join(e.findings))
    if e.symptoms:
        _labelled(console, "Explains", "; ".join(SYMPTOMS[s] for s in e.symptoms))
    if e.references:
        _labelled(console, "References", ", ".join(e.references))
    console.print()


def render(exp: Explanation, console: Console) -> None:
    p = exp.parsed
    echo = inert(p.flat[:ECHO_CHARS], multiline=False)
    more = " …" if len(p.flat) > ECHO_CHARS else ""
    console.print(Text("Text: ", style="bold").append(echo + more))
    if p.truncated:
        console.print(Text(f"(only the first {len(p.text)} characters were read)", style="dim"))
    codes = [f"{c} (reply code)" for c in p.basic] + [
        f"{c} (enhanced; class {c[0]}: {CLASS_MEANING[c[0]]})" for c in p.enhanced
    ]
    if codes:
        console.print(Text("Codes found: ", style="bold").append(", ".join(codes)))
    console.print()
    if not exp.matches:
        console.print(Text(UNKNOWN, style="yellow"))
        console.print(Text(UNKNOWN_HINT))
        return
    full, brief = _primary(exp)
    for n, m in enumerate(full, 1):
        _full(console, n, m)
    if brief:
        console.print(Text("What the codes say:", style="bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(overflow="fold")
        for m in brief:
            grid.add_row(
                m.code or "",
                Text(inert(m.entry.title), style="bold").append(" — " + inert(m.entry.meaning)),
            )
        _at(console, 2, grid)
    if exp.unregistered:
        console.print(
            Text(
                "Not in the registries maildoctor knows (read by class and subject only): "
                + ", ".join(exp.unregistered),
                style="dim",
            )
        )


def _md_entry(e: Entry) -> list[str]:
    how = (
        f"matches the text: `{' | '.join(p.pattern for p in e.patterns)}`"
        if e.patterns
        else f"code `{e.basic or e.enhanced}`"
    )
    out = [
        f"### {e.title}",
        "",
        f"`{e.id}` — {how}",
        "",
        f"Example: `{' '.join(e.example.split())}`",
        "",
    ]
    out += [e.meaning, "", "Likely causes:", ""]
    out += [f"{i}. {c}" for i, c in enumerate(e.causes, 1)]
    out += ["", "Fix:", ""]
    for i, step in enumerate(e.fix, 1):
        first, *rest = step.splitlines()
        out.append(f"{i}. {first}")
        out += [f"   {line}" for line in rest]
    if e.check:
        out += ["", "Check: " + "; ".join(f"`{c}`" for c in e.check)]
    if e.findings:
        out += ["", "Findings: " + ", ".join(f"`{f}`" for f in e.findings)]
    if e.symptoms:
        out += ["", "Explains: " + "; ".join(SYMPTOMS[s] for s in e.symptoms)]
    if e.references:
        out += ["", "References: " + ", ".join(e.references)]
    return [*out, ""]


def render_markdown(entries: Iterable[Entry]) -> str:
    items = list(entries)
    out = [
        "# What error messages mean",
        "",
        "Generated by `python -m maildoctor.explain --markdown` from the knowledge data "
        '(src/maildoctor/explain/data/); do not edit by hand. `maildoctor explain "TEXT"` '
        "finds these entries in a pasted error: provider and client texts first, then the "
        "enhanced status code (detail, subject), the reply code, and the classes. In fixes "
        "and commands, {domain}, {ip} and {host} are filled from the text when it names them "
        "(else example.com, 192.0.2.1, mail.example.com).",
        "",
        f"{len(items)} entries.",
        "",
    ]
    order = {f: i for i, f in enumerate(FAMILIES)}
    items.sort(key=lambda e: order[e.family])
    for family, group in groupby(items, key=lambda e: e.family):
        out += [f"## {FAMILY_TITLES[family]}", ""]
        for e in group:
            out += _md_entry(e)
    return "\n".join(out).rstrip() + "\n"
