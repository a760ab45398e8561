"""The command line: build the request, run it, render it, exit with the contract's status.

Heavy modules (dnspython, the engine, the renderers) are imported inside the commands so that
`maildoctor --help` starts fast. Usage errors print one line and exit 2; no traceback reaches
the user.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from maildoctor import __version__
from maildoctor.report import EXIT_INTERNAL, EXIT_USAGE

app = typer.Typer(
    name="maildoctor",
    help=(
        "Find out why a mail server does not work and how to fix it: DNS (MX, SPF, DKIM, "
        "DMARC, PTR), servers (SMTP, TLS, IMAP, POP3), accounts and logs.\n\n"
        "Exit status: 0 no error found, 1 an error or critical finding, 2 usage error."
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class UsageProblem(Exception):
    """A wrong flag or argument: one line to stderr, exit 2."""


def _version(value: bool) -> None:
    if value:
        print(f"maildoctor {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Root options."""


ResolverOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--resolver",
        metavar="IP[:PORT]",
        help="DNS resolver to ask (repeatable); default: the system's.",
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", metavar="S", help="Timeout of each network step, seconds.")
]
DeadlineOpt = Annotated[
    float, typer.Option("--deadline", metavar="S", help="Time limit of the whole run, seconds.")
]
CaFileOpt = Annotated[
    Path | None,
    typer.Option("--ca-file", metavar="PEM", help="Extra trust anchors for TLS checks."),
]
PrivateOpt = Annotated[
    bool,
    typer.Option("--allow-private", help="Do not report private/loopback addresses as faults."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON (the contract).")]
HtmlOpt = Annotated[
    Path | None, typer.Option("--html", metavar="FILE", help="Also write an HTML report.")
]
OnlyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--only", metavar="AREA", help="Run only these check areas (repeatable): mx, spf, smtp..."
    ),
]
SkipOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--skip",
        metavar="AREA",
        help="Skip these check areas (repeatable), e.g. --skip smtp when port 25 is blocked here.",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Show only problems (warning and worse).")
]


SelectorOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--dkim-selector",
        metavar="NAME",
        help="DKIM selector to look up besides the common ones (repeatable).",
    ),
]
SendingIpOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--sending-ip",
        metavar="IP",
        help="An address that sends mail for the domain, besides its MX (repeatable).",
    ),
]
DnsblOpt = Annotated[
    list[str] | None,
    typer.Option("--dnsbl", metavar="ZONE", help="Another IP blacklist zone to ask (repeatable)."),
]


def _domain_params(
    selectors: list[str] | None, sending_ips: list[str] | None, dnsbl: list[str] | None
) -> dict[str, tuple[str, ...]]:
    import re

    from maildoctor.addresses import parse_ip
    from maildoctor.targets import parse_domain

    out_selectors = []
    for sel in selectors or ():
        # RFC 6376 3.1: a selector is one or more dot-separated labels.
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*", sel):
            raise UsageProblem(f"--dkim-selector {sel!r} is not a selector name")
        out_selectors.append(sel.lower())
    ips = []
    for text in sending_ips or ():
        ip = parse_ip(text)
        if ip is None:
            raise UsageProblem(f"--sending-ip {text!r} is not an IP address")
        ips.append(str(ip))
    zones = []
    for zone in dnsbl or ():
        try:
            zones.append(parse_domain(zone))
        except ValueError as exc:
            raise UsageProblem(f"--dnsbl {exc}") from None
    return {
        "dkim_selectors": tuple(out_selectors),
        "sending_ips": tuple(ips),
        "dnsbl_zones": tuple(zones),
    }


def _settings(
    resolver: list[str] | None,
    timeout: float,
    deadline: float,
    ca_file: Path | None,
    allow_private: bool,
    **extra: tuple[str, ...],
) -> object:
    from maildoctor.settings import Settings, parse_resolver

    try:
        resolvers = tuple(parse_resolver(r) for r in resolver or ())
    except ValueError as exc:
        raise UsageProblem(f"--resolver {exc}") from None
    if not 0 < timeout <= 300:
        raise UsageProblem(f"--timeout must be between 0 and 300 seconds, not {timeout:g}")
    if not 0 < deadline <= 3600:
        raise UsageProblem(f"--deadline must be between 0 and 3600 seconds, not {deadline:g}")
    if ca_file is not None and not ca_file.is_file():
        raise UsageProblem(f"--ca-file {ca_file}: no such file")
    return Settings(
        resolvers=resolvers,
        step_timeout=timeout,
        deadline=deadline,
        ca_file=ca_file,
        allow_private=allow_private,
        dkim_selectors=extra.get("dkim_selectors", ()),
        sending_ips=extra.get("sending_ips", ()),
        dnsbl_zones=extra.get("dnsbl_zones", ()),
    )


HostOpt = Annotated[
    str | None,
    typer.Option(
        "--host",
        metavar="HOST",
        help="The server clients use (IMAP, POP3, submission), instead of finding it from "
        "DNS; alone, without DOMAIN, checks just that server.",
    ),
]


@app.command()
def check(
    domain: Annotated[
        str | None, typer.Argument(help="The mail domain to check, e.g. example.com.")
    ] = None,
    host: HostOpt = None,
    resolver: ResolverOpt = None,
    timeout: TimeoutOpt = 5.0,
    deadline: DeadlineOpt = 60.0,
    ca_file: CaFileOpt = None,
    allow_private: PrivateOpt = False,
    dkim_selector: SelectorOpt = None,
    sending_ip: SendingIpOpt = None,
    dnsbl: DnsblOpt = None,
    only: OnlyOpt = None,
    skip: SkipOpt = None,
    json: JsonOpt = False,
    html: HtmlOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Check a mail domain from outside: DNS records and its mail servers."""
    import asyncio

    from dataclasses import replace

    from maildoctor.engine import HOST_AREAS, check_domain, select_checks
    from maildoctor.settings import Settings
    from maildoctor.targets import parse_domain, parse_host

    if domain is None and host is None:
        raise UsageProblem("give a DOMAIN to check, or --host HOST for one server")
    try:
        server = parse_host(host) if host is not None else None
        name = parse_domain(domain) if domain is not None else None
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    extra = _domain_params(dkim_selector, sending_ip, dnsbl)
    settings = _settings(resolver, timeout, deadline, ca_file, allow_private, **extra)
    assert isinstance(settings, Settings)
    settings = replace(settings, host=server)
    areas = tuple(only or ())
    if name is None:  # one server, no domain: its own checks only
        outside = sorted(set(areas) - set(HOST_AREAS))
        if outside:
            raise UsageProblem(
                f"--only {', '.join(outside)} needs a DOMAIN; with --host alone the areas are "
                + ", ".join(HOST_AREAS)
            )
        areas = areas or HOST_AREAS
    try:
        select_checks(areas, skip or ())
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    target = name if name is not None else str(server)
    report = asyncio.run(check_domain(target, settings, areas, skip or ()))
    raise typer.Exit(_output(report, json=json, html=html, quiet=quiet))


def _output(report: object, *, json: bool, html: Path | None, quiet: bool) -> int:
    from maildoctor.report import Report, exit_code

    assert isinstance(report, Report)
    if html is not None:
        from maildoctor.render import html as html_render

        try:
            html.write_text(html_render.render(report), encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(f"--html {html}: {exc.strerror or exc}") from None
    if json:
        from maildoctor.render.json import dumps

        print(dumps(report))
    else:
        from maildoctor.render.terminal import make_console, render

        render(report, make_console(), quiet=quiet)
    return exit_code(report)


@app.command()
def findings(
    json: JsonOpt = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the reference page (docs/findings.md).")
    ] = False,
) -> None:
    """List every finding maildoctor can report, with its severity and title."""
    from maildoctor import catalogue

    cat = catalogue.load()
    if markdown:
        from maildoctor.render.findings import render_markdown

        sys.stdout.write(render_markdown(cat))
    elif json:
        import json as json_mod

        from maildoctor.render.json import jsonable

        print(json_mod.dumps([jsonable(cat[c]) for c in cat], indent=2, ensure_ascii=False))
    else:
        from maildoctor.render.findings import render_terminal
        from maildoctor.render.terminal import make_console

        render_terminal(cat, make_console())


_LATER = {"allow_extra_args": True, "ignore_unknown_options": True}
Rest = Annotated[list[str] | None, typer.Argument(hidden=True)]


def _not_built(command: str) -> NoReturn:
    raise UsageProblem(f"'maildoctor {command}' is not built yet in this version")


@app.command(context_settings=_LATER)
def auth(args: Rest = None) -> None:
    """Try an account the ways mail clients do (SMTP AUTH, IMAP, POP3). Not built yet."""
    _not_built("auth")


@app.command(context_settings=_LATER)
def logs(args: Rest = None) -> None:
    """Analyse Postfix, Exim, Sendmail and Dovecot logs. Not built yet."""
    _not_built("logs")


@app.command(context_settings=_LATER)
def explain(args: Rest = None) -> None:
    """Explain a pasted error message (SMTP reply, client error). Not built yet."""
    _not_built("explain")


@app.command(context_settings=_LATER)
def diagnose(args: Rest = None) -> None:
    """From a symptom a person reports to the cause and the fix. Not built yet."""
    _not_built("diagnose")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns (and with the console script, exits with) the contract's status."""
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    from typer.exceptions import Abort, TyperException

    command = typer.main.get_command(app)
    try:
        result = command.main(
            args=sys.argv[1:] if argv is None else argv,
            prog_name="maildoctor",
            standalone_mode=False,
        )
    except UsageProblem as exc:
        print(f"maildoctor: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TyperException as exc:  # wrong flag, missing argument...
        message = " ".join(exc.format_message().split())
        print(f"maildoctor: error: {message} (see --help)", file=sys.stderr)
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    except (Abort, KeyboardInterrupt):
        print("maildoctor: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in maildoctor: one line, not a traceback
        print(
            f"maildoctor: internal error: {type(exc).__name__}: {exc} "
            "(a bug in maildoctor; please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return result if isinstance(result, int) else 0
