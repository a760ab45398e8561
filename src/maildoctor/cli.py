"""The command line: build the request, run it, render it, exit with the contract's status.

Heavy modules (dnspython, the engine, the renderers) are imported inside the commands so that
`maildoctor --help` starts fast. Usage errors print one line and exit 2; no traceback reaches
the user.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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

        if report.diagnosis is not None:
            from maildoctor.render.diagnosis import render

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


UserOpt = Annotated[
    str,
    typer.Option(
        "--user",
        "-u",
        metavar="USER",
        help="The login name, exactly as the mail client sends it (often the full address).",
    ),
]
PasswordEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--password-env",
        metavar="VAR",
        help="Read the password from this environment variable. Never give a password on "
        "the command line: without this or --password-stdin it is asked for, hidden.",
    ),
]
PasswordStdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
InsecureOpt = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Send the password even over a connection whose certificate fails verification "
        "or that has no TLS (the report says so). Default: such ports are reported, not used.",
    ),
]


@app.command()
def auth(
    host: Annotated[
        str,
        typer.Argument(
            metavar="HOST", help="The mail server the client uses, e.g. mail.example.com."
        ),
    ],
    user: UserOpt,
    password_env: PasswordEnvOpt = None,
    password_stdin: PasswordStdinOpt = False,
    insecure: InsecureOpt = False,
    resolver: ResolverOpt = None,
    timeout: TimeoutOpt = 5.0,
    deadline: DeadlineOpt = 120.0,
    ca_file: CaFileOpt = None,
    allow_private: PrivateOpt = False,
    json: JsonOpt = False,
    html: HtmlOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Log in with an account the ways mail clients do, and say which settings work.

    Tries SMTP submission on 587 (STARTTLS) and 465 (SSL/TLS) with each AUTH mechanism
    offered, IMAP on 993 and 143, POP3 on 995 and 110. Tells apart a rejected password, TLS
    required first, no AUTH offered ("Relay access denied"), an unsupported mechanism, and an
    account that works on one protocol but not another (the Outlook password loop). Ends
    with the working settings in Outlook's and Thunderbird's terms. After 3 rejections it
    stops trying (fail2ban bans after 5). The password never appears in any output.
    """
    from maildoctor.account.command import auth_command

    raise typer.Exit(
        auth_command(
            host,
            user=user,
            password_env=password_env,
            password_stdin=password_stdin,
            insecure=insecure,
            resolver=resolver,
            timeout=timeout,
            deadline=deadline,
            ca_file=ca_file,
            allow_private=allow_private,
            json=json,
            html=html,
            quiet=quiet,
        )
    )


@app.command("send-test")
def send_test(
    host: Annotated[
        str,
        typer.Argument(
            metavar="HOST", help="The submission server the client uses, e.g. mail.example.com."
        ),
    ],
    user: UserOpt,
    mail_from: Annotated[
        str, typer.Option("--from", metavar="ADDRESS", help="Sender address (MAIL FROM, From:).")
    ],
    rcpt_to: Annotated[
        str, typer.Option("--to", metavar="ADDRESS", help="Recipient address (RCPT TO, To:).")
    ],
    size: Annotated[
        str | None,
        typer.Option(
            "--size",
            metavar="BYTES|find",
            help="Send a message of this size (2000000, 5M) to test the size limit; 'find' "
            "bisects the limit the server declares (MAIL FROM SIZE=, nothing sent) in at "
            "most 32 tries, then sends the small test message.",
        ),
    ] = None,
    imap_check: Annotated[
        bool,
        typer.Option(
            "--imap-check",
            help="Then log in to the recipient's mailbox over IMAP on HOST, wait for the "
            "message (bounded by --wait), report the delay, the folder (inbox or junk) "
            "and its Authentication-Results.",
        ),
    ] = False,
    to_user: Annotated[
        str | None,
        typer.Option(
            "--to-user", metavar="USER", help="IMAP login of the recipient (default: --to)."
        ),
    ] = None,
    to_password_env: Annotated[
        str | None,
        typer.Option(
            "--to-password-env",
            metavar="VAR",
            help="The recipient's password for --imap-check, from this environment variable "
            "(default: asked for, hidden; the sender's when it is the same account).",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", metavar="S", help="How long --imap-check waits for the message, seconds."
        ),
    ] = 30.0,
    password_env: PasswordEnvOpt = None,
    password_stdin: PasswordStdinOpt = False,
    insecure: InsecureOpt = False,
    resolver: ResolverOpt = None,
    timeout: TimeoutOpt = 5.0,
    deadline: DeadlineOpt = 120.0,
    ca_file: CaFileOpt = None,
    allow_private: PrivateOpt = False,
    json: JsonOpt = False,
    html: HtmlOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Send one test message through submission after AUTH and read the server's verdict.

    Names relay denied (554 5.7.1), rate or daily limits (421, 450/451 4.7.x), too large
    (552 5.3.4), mailbox full (552 5.2.2, 452 4.2.2) and unknown recipient (550 5.1.1). The
    message carries a unique token in its subject and Message-ID. Traffic goes only to HOST.
    """
    from maildoctor.account.command import send_test_command

    raise typer.Exit(
        send_test_command(
            host,
            user=user,
            mail_from=mail_from,
            rcpt_to=rcpt_to,
            size=size,
            imap_check=imap_check,
            to_user=to_user,
            to_password_env=to_password_env,
            wait=wait,
            password_env=password_env,
            password_stdin=password_stdin,
            insecure=insecure,
            resolver=resolver,
            timeout=timeout,
            deadline=deadline,
            ca_file=ca_file,
            allow_private=allow_private,
            json=json,
            html=html,
            quiet=quiet,
        )
    )


@app.command()
def logs(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE...",
            help=(
                "Mail logs to read (Postfix, Exim main/reject/paniclog, Sendmail, Dovecot; "
                "detected per line). Rotated and compressed ones (.gz, .bz2, .xz) are read "
                "transparently, oldest first; - reads standard input."
            ),
        ),
    ] = None,
    json: JsonOpt = False,
    html: HtmlOpt = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="T",
            help="Only lines from T on: 2026-11-28, '2026-11-28 06:00', an ISO time with "
            "offset, today, yesterday, or an age such as 2h, 30min, 7d.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="T", help="Only lines up to T (same forms as --since)."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep reading the last file as it grows, across rotation; print notable lines "
            "as they come; Ctrl-C prints the summary.",
        ),
    ] = False,
    show_unparsed: Annotated[
        bool,
        typer.Option(
            "--show-unparsed",
            help="List the lines maildoctor did not understand (to stderr with --json).",
        ),
    ] = False,
    brute_force_threshold: Annotated[
        int,
        typer.Option(
            "--brute-force-threshold",
            metavar="N",
            help="Failed logins from one address within the window that make a brute force "
            "(also: 5 x N in all, for slow attacks).",
        ),
    ] = 10,
    brute_force_window: Annotated[
        float,
        typer.Option("--brute-force-window", metavar="S", help="The brute-force window, seconds."),
    ] = 600.0,
    quiet: QuietOpt = False,
) -> None:
    """Analyse mail server logs: deliveries, bounces by cause, brute force, faults, fixes."""
    from maildoctor.logs.command import logs_command

    raise typer.Exit(
        logs_command(
            files or [],
            json=json,
            html=html,
            since=since,
            until=until,
            follow=follow,
            show_unparsed=show_unparsed,
            brute_force_threshold=brute_force_threshold,
            brute_force_window=brute_force_window,
            quiet=quiet,
        )
    )


@app.command()
def explain(
    text: Annotated[
        str,
        typer.Argument(
            help=(
                "The error text, quoted: an SMTP reply, a bounce, a client or Outlook error. "
                "'-' reads it from stdin (a whole bounce message is fine; the first 64 KiB "
                "are read)."
            ),
        ),
    ],
    json: Annotated[
        bool,
        typer.Option("--json", help="Print the answer as JSON (docs/explain.schema.json)."),
    ] = False,
) -> None:
    """Explain a pasted mail error: what it means, why, how to fix it, and what checks it.

    Works offline. Reads SMTP reply codes (550) and enhanced status codes (5.7.26),
    the texts of Gmail, Microsoft 365 / Outlook.com, Yahoo, blacklists, mail clients
    and libraries, and Outlook's error numbers (0x800CCC0E). The most specific answer
    comes first; an unknown text still gets the reading of its codes.

    Examples:

      maildoctor explain "550 5.7.1 <jo@example.org>: Relay access denied"

      maildoctor explain "Sending reported error (0x800CCC0E)"

      maildoctor explain - < bounce.eml

      maildoctor explain -- "-ERR [AUTH] Authentication failed."   (a text starting with -)

    Exit status: 0 when explained (also when nothing is known of the text), 2 when
    the text is empty.
    """
    from maildoctor.explain import explain_command

    raise typer.Exit(explain_command(text, json=json))


SYMPTOM_HELP = (
    "What the person reports: password-rejected, cannot-receive, webmail-login, "
    "client-ssl-error, cannot-send, spam-folder, overloaded, large-attachments. Without it, "
    "a menu asks (on a terminal)."
)


@app.command()
def diagnose(
    domain: Annotated[
        str | None, typer.Argument(help="The mail domain with the problem, e.g. example.com.")
    ] = None,
    symptom: Annotated[
        str | None, typer.Option("--symptom", "-s", metavar="NAME", help=SYMPTOM_HELP)
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="HOST",
            help="The server mail apps use (submission, IMAP, POP3), instead of finding it "
            "from DNS (SRV, mail./smtp. names, the MX).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            "-u",
            metavar="USER",
            help="An account to test (login, and for cannot-send / large-attachments one "
            "small test message to itself). The password: --password-env, --password-stdin "
            "or asked, hidden.",
        ),
    ] = None,
    password_env: PasswordEnvOpt = None,
    password_stdin: PasswordStdinOpt = False,
    insecure: InsecureOpt = False,
    mail_from: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="ADDRESS", help="Sender of the test message (default: USER)."
        ),
    ] = None,
    rcpt_to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="ADDRESS", help="Recipient of the test message (default: the sender)."
        ),
    ] = None,
    log: Annotated[
        list[str] | None,
        typer.Option(
            "--log",
            metavar="FILE",
            help="A mail log to read (repeatable): /var/log/mail.log, maillog, Exim mainlog...",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="T",
            help="Only log lines from T on (2h, 7d, today, 2026-11-28...; 'all' for whole "
            "files). Default: the last 24 hours.",
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="T", help="Only log lines up to T.")
    ] = None,
    webmail: Annotated[
        str | None,
        typer.Option(
            "--webmail",
            metavar="URL",
            help="The webmail login page (webmail-login); default https://webmail.DOMAIN/ "
            "when that name resolves.",
        ),
    ] = None,
    eml: Annotated[
        Path | None,
        typer.Option(
            "--eml", metavar="FILE", help="A message that landed in spam, with its headers."
        ),
    ] = None,
    postfix_config: Annotated[
        str | None,
        typer.Option(
            "--postfix-config",
            metavar="DIR",
            help="Postfix configuration directory whose queue to read (overloaded); default "
            "the system's when postqueue, exim or mailq is at hand. When the queue is "
            "readable, this is the mail server: its load, memory and disks are read too.",
        ),
    ] = None,
    resolver: ResolverOpt = None,
    timeout: TimeoutOpt = 5.0,
    deadline: DeadlineOpt = 120.0,
    ca_file: CaFileOpt = None,
    allow_private: PrivateOpt = False,
    dkim_selector: SelectorOpt = None,
    sending_ip: SendingIpOpt = None,
    dnsbl: DnsblOpt = None,
    json: JsonOpt = False,
    html: HtmlOpt = None,
    quiet: QuietOpt = False,
    no_input: Annotated[
        bool,
        typer.Option(
            "--no-input",
            help="Never ask: no menu, no questions, even on a terminal (for scripts).",
        ),
    ] = False,
) -> None:
    """From the symptom a person reports to the most likely cause and the fix.

    Runs only the checks whose findings can explain the symptom, plus what you give it: an
    account, a log, the webmail address, a message that landed in spam, the local queue.
    Ends with the most likely cause first, its evidence, the fix step by step, the other
    possible causes, and what was ruled out. On a terminal it asks for what the symptom can
    use and was not given (Enter skips each); --no-input never asks.

    Examples:

      maildoctor diagnose example.com --symptom cannot-receive

      maildoctor diagnose example.com -s password-rejected --user jo@example.com

      maildoctor diagnose example.com      (a menu asks what the problem is)
    """
    from maildoctor.diagnose.command import Request, diagnose_command

    raise typer.Exit(
        diagnose_command(
            Request(
                domain=domain,
                symptom=symptom,
                host=host,
                user=user,
                password_env=password_env,
                password_stdin=password_stdin,
                insecure=insecure,
                mail_from=mail_from,
                rcpt_to=rcpt_to,
                logs=list(log or ()),
                since=since,
                until=until,
                webmail=webmail,
                eml=str(eml) if eml is not None else None,
                postfix_config=postfix_config,
                resolver=resolver,
                timeout=timeout,
                deadline=deadline,
                ca_file=ca_file,
                allow_private=allow_private,
                dkim_selector=dkim_selector,
                sending_ip=sending_ip,
                dnsbl=dnsbl,
                json=json,
                html=html,
                quiet=quiet,
                no_input=no_input,
            )
        )
    )


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
