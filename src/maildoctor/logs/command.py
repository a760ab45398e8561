"""`maildoctor logs FILE...`: read the logs, summarise, find, render; return the exit status.

cli.py builds the typer command and calls `logs_command` with plain values. Exit status
(DESIGN.md "Contracts"): 0 no error finding, 1 an error or critical finding, 2 usage error
(one line on stderr: an unreadable file, a wrong --since...).
"""

from __future__ import annotations

import json as json_mod
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

from maildoctor.report import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, Finding, Severity

SCHEMA = "maildoctor.logs/1"


class _Usage(Exception):
    pass


def _check_files(files: list[str]) -> None:
    if not files:
        raise _Usage("give at least one log file (or - for standard input)")
    if files.count("-") > 1:
        raise _Usage("standard input (-) can be read only once")
    for path in files:
        if path == "-":
            continue
        if os.path.isdir(path):
            raise _Usage(f"{path}: is a directory (give the log files, e.g. {path}/mail.log*)")
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise _Usage(f"{path}: {exc.strerror or exc}") from None


def _time(flag: str, text: str | None) -> float | None:
    if text is None:
        return None
    from maildoctor.logs.clock import parse_time_arg

    try:
        return parse_time_arg(text)
    except ValueError as exc:
        raise _Usage(f"{flag} {exc}") from None


def summary_document(summary: Any, findings: list[Finding]) -> dict[str, Any]:
    """The `logs --json` object: the DESIGN.md contract plus more (docs/logs.schema.json)."""
    from maildoctor.render.json import finding_to_dict

    worst = max((f.severity for f in findings), default=Severity.OK)
    doc: dict[str, Any] = {"schema": SCHEMA, "verdict": worst.label}
    doc.update(summary.to_json())
    doc["findings"] = [finding_to_dict(f) for f in findings]
    return doc


def find(summary: Any) -> list[Finding]:
    """Findings for a LogSummary, through the registered log check and the catalogue."""
    from maildoctor import catalogue
    from maildoctor.checks import CheckContext
    from maildoctor.checks.logs import log_findings
    from maildoctor.report import sort_findings
    from maildoctor.settings import Settings

    ctx = CheckContext(Settings(), catalogue.load())
    return list(sort_findings(f for f in log_findings(ctx, summary) if isinstance(f, Finding)))


def logs_command(
    files: list[str],
    *,
    json: bool = False,
    html: Path | None = None,
    since: str | None = None,
    until: str | None = None,
    follow: bool = False,
    show_unparsed: bool = False,
    brute_force_threshold: int = 10,
    brute_force_window: float = 600.0,
    quiet: bool = False,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        return _run(
            files,
            json,
            html,
            since,
            until,
            follow,
            show_unparsed,
            brute_force_threshold,
            brute_force_window,
            quiet,
            out,
            err,
            stop,
        )
    except _Usage as exc:
        print(f"maildoctor: error: {exc}", file=err)
        return EXIT_USAGE


def _run(  # noqa: PLR0915 - flags in, output out, in the order the user reads them
    files: list[str],
    json: bool,
    html: Path | None,
    since_text: str | None,
    until_text: str | None,
    follow: bool,
    show_unparsed: bool,
    threshold: int,
    window: float,
    quiet: bool,
    out: IO[str],
    err: IO[str],
    stop: Callable[[], bool] | None,
) -> int:
    from maildoctor.logs.analyze import Options, analyze
    from maildoctor.logs.model import Thresholds
    from maildoctor.render.logs import render, render_event, render_unparsed
    from maildoctor.render.sanitize import inert
    from maildoctor.render.terminal import make_console

    _check_files(files)
    since = _time("--since", since_text)
    until = _time("--until", until_text)
    if since is not None and until is not None and until < since:
        raise _Usage("--until is before --since")
    if not 2 <= threshold <= 1_000_000:
        raise _Usage(f"--brute-force-threshold must be between 2 and 1000000, not {threshold}")
    if not 0 < window <= 30 * 86400:
        raise _Usage(f"--brute-force-window must be between 0 and 2592000 seconds, not {window:g}")
    if follow and files == ["-"]:
        follow = False  # stdin is read to its end anyway
    console = make_console(out)
    err_console = make_console(err)
    # Unparsed lines go to stdout, or to stderr when stdout carries JSON.
    unparsed_console = err_console if json else console

    def on_unparsed(line: str) -> None:
        unparsed_console.print(render_unparsed(line), soft_wrap=True)

    def on_error(message: str) -> None:
        print(f"maildoctor: warning: {inert(message, multiline=False)}", file=err)

    def on_event(ev: object, line: str) -> None:
        from maildoctor.logs import model as m

        if isinstance(ev, m.Delivery) and ev.status == "sent":
            return
        if isinstance(ev, m.Client | m.Sender | m.Removed | m.Dsn | m.LoginOk):
            return
        console.print(render_event(line), soft_wrap=True)

    interrupted = {"flag": False}
    previous: dict[signal.Signals, Any] = {}
    if follow:

        def handler(signum: int, frame: FrameType | None) -> None:
            interrupted["flag"] = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)

    def should_stop() -> bool:
        return interrupted["flag"] or (stop is not None and stop())

    options = Options(
        since=since,
        until=until,
        thresholds=Thresholds(brute_force_count=threshold, brute_force_window=window),
        on_unparsed=on_unparsed if show_unparsed else None,
        on_event=on_event if follow and not json else None,
        on_error=on_error,
        follow=follow,
        stop=should_stop,
    )
    try:
        summary = analyze(files, options)
    except OSError as exc:  # vanished between the check and the read
        raise _Usage(f"{getattr(exc, 'filename', '') or 'input'}: {exc.strerror or exc}") from None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    findings = find(summary)
    if html is not None:
        from maildoctor.render.logs import render_html

        try:
            html.write_text(render_html(summary, findings), encoding="utf-8")
        except OSError as exc:
            raise _Usage(f"--html {html}: {exc.strerror or exc}") from None
    if json:
        doc = summary_document(summary, findings)
        out.write(json_mod.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        render(summary, findings, console, quiet=quiet)
    worst = max((f.severity for f in findings), default=Severity.OK)
    return EXIT_PROBLEMS if worst >= Severity.ERROR else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m maildoctor.logs`: the same command without the typer CLI (for bench/)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m maildoctor.logs")
    ap.add_argument("files", nargs="*")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--html", type=Path)
    ap.add_argument("--since")
    ap.add_argument("--until")
    ap.add_argument("--follow", action="store_true")
    ap.add_argument("--show-unparsed", action="store_true")
    ap.add_argument("--brute-force-threshold", type=int, default=10)
    ap.add_argument("--brute-force-window", type=float, default=600.0)
    ap.add_argument("--quiet", "-q", action="store_true")
    a = ap.parse_args(argv)
    return logs_command(
        a.files,
        json=a.json,
        html=a.html,
        since=a.since,
        until=a.until,
        follow=a.follow,
        show_unparsed=a.show_unparsed,
        brute_force_threshold=a.brute_force_threshold,
        brute_force_window=a.brute_force_window,
        quiet=a.quiet,
    )
