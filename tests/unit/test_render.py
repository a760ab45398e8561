import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from maildoctor import catalogue
from maildoctor.checks import CheckContext, all_checks, apply
from maildoctor.render import html as html_render
from maildoctor.render.json import dumps, report_to_dict
from maildoctor.render.sanitize import inert
from maildoctor.render.terminal import make_console, render
from maildoctor.report import Finding, NotChecked, Report, Severity, sort_findings
from maildoctor.settings import Settings

from .evidence_samples import GOOD, host, mx

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/report.schema.json").read_text())
HOSTILE = (
    "220 \x1b]52;c;ZWNobyBwd25lZA==\x07 hi \x1b[2J\x1b[31m"
    "[bold]red[/bold] :smile: \u202egnp.exe\x9b"
)


def hostile_report() -> Report:
    f = Finding(
        "smtp.bad_banner",
        Severity.ERROR,
        "mx.example:25 <script>alert(1)</script>",
        "Bad <b>banner</b>",
        HOSTILE + "\n<script>alert('x')</script>",
        "cause [link=http://evil]x[/link]",
        "fix & <img src=x onerror=alert(1)>",
        ("RFC 5321 4.3.1",),
        ("cannot-receive",),
    )
    return Report(
        "exa\x1b[2Jmple.com",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        0.25,
        (f,),
        (NotChecked("smtp <x>", "timeout \x1b[2J"),),
        {"dns.mx": 0.01},
    )


def real_report() -> Report:
    ev = {"dns.mx": mx("lan.example", host(10, "mx.lan.example", "10.0.0.1")), "other": GOOD}
    findings, nc = apply(all_checks(), ev, CheckContext(Settings(), catalogue.load()))
    return Report("lan.example", datetime.now(UTC), 0.5, sort_findings(findings), tuple(nc), {}, ev)


def terminal_text(report: Report, quiet: bool = False, color: bool = False) -> str:
    buf = io.StringIO()
    render(report, make_console(buf, color=color), quiet=quiet)
    return buf.getvalue()


def test_inert_escapes_controls_and_keeps_text() -> None:
    out = inert(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\u202e" not in out
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in out and "\\u202e" in out
    assert inert("line1\r\nline2") == "line1\nline2"
    assert inert("a\nb", multiline=False) == "a\\x0ab"


def test_terminal_output_is_inert_and_markup_is_literal() -> None:
    coloured = terminal_text(hostile_report(), color=True)
    # Only our own SGR colour codes may reach the terminal: no OSC, no clear-screen, no C1.
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured).count("\x1b") == 0
    assert "\x07" not in coloured and "\x9b" not in coloured
    out = terminal_text(hostile_report())
    assert "\x1b" not in out
    assert "[bold]red[/bold]" in out  # printed literally, not interpreted
    assert ":smile:" in out and "😄" not in out
    assert "[link=http://evil]x[/link]" in out
    assert "\\x1b]52;c;" in out


def test_terminal_groups_verdict_quiet() -> None:
    r = real_report()
    out = terminal_text(r)
    first = out.splitlines()[0]
    assert "lan.example: problems found: 1 error" in first
    assert "MX (incoming mail routing)" in out
    assert "fix " in out and "<public address>" in out
    ok = Report(
        "good.example",
        datetime.now(UTC),
        0.1,
        (Finding("mx.ok", Severity.OK, "good.example", "fine", "MX 10 a", "c", "f"),),
    )
    assert "no problems found" in terminal_text(ok)
    assert "MX 10 a" in terminal_text(ok)
    assert len(terminal_text(ok, quiet=True).strip().splitlines()) == 1  # the verdict only


def test_json_matches_schema_and_contract() -> None:
    for report in (hostile_report(), real_report()):
        data = json.loads(dumps(report))
        jsonschema.validate(data, SCHEMA)
        assert data["schema"] == "maildoctor.report/1"
    data = report_to_dict(real_report())
    assert data["findings"][0]["severity"] == "error"
    assert data["evidence"]["dns.mx"]["mx"]["status"] == "NOERROR"


def test_schema_rejects_wrong_shapes() -> None:
    data = report_to_dict(real_report())
    data["findings"][0]["severity"] = "ERROR"
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("uppercase severity passed the schema")


def test_html_is_self_contained_and_escaped() -> None:
    page = html_render.render(hostile_report())
    assert "<script>" not in page and "<img" not in page and "<b>banner" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "\x1b" not in page
    assert "http" not in page.replace("http://evil", "").replace("http-equiv", "")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
