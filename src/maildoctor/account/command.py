"""`maildoctor auth HOST --user USER` and `maildoctor send-test HOST ...`: plain values in, the
contract's exit status out (0 no error, 1 an error finding, 2 usage error, 3 a bug).

cli.py builds the typer commands and calls `auth_command` / `send_test_command`. The password
comes from an environment variable, standard input or a hidden prompt, never from the
command line (it would be in the shell history and in `ps`). It travels only inside a
`sasl.Secret`; before anything is printed or written, the JSON form of the report is searched
for the password and its encoded forms, and a hit stops the run as an internal error instead
of showing it.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from maildoctor.protocols.sasl import Secret, secret_forms
from maildoctor.report import EXIT_USAGE, Report
from maildoctor.settings import Settings

MAX_SIZE = 100 * 1024 * 1024
MAX_WAIT = 600.0
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


class Usage(Exception):
    """A wrong flag or value: one line on stderr, exit 2."""


class SecretLeak(RuntimeError):
    """The report would show a password: a bug in maildoctor, never printed."""


def read_password(
    *,
    env: str | None,
    use_stdin: bool,
    prompt: str,
    what: str,
    stdin: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    ask: Callable[[str], str] | None = None,
) -> Secret:
    """From --password-env VAR, --password-stdin (one line), or a hidden prompt on a terminal."""
    environ = os.environ if environ is None else environ
    stdin = stdin or sys.stdin
    if env is not None and use_stdin:
        raise Usage(f"give the {what} either with an environment variable or on standard input")
    if env is not None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
            raise Usage(f"{env!r} is not an environment variable name")
        if env not in environ:
            raise Usage(f"environment variable {env} is not set (it should hold the {what})")
        value = environ[env]
    elif use_stdin:
        value = stdin.readline().rstrip("\r\n")
    else:
        if ask is None and not stdin.isatty():
            raise Usage(
                f"no {what}: give --password-env VAR or --password-stdin (no terminal to ask on)"
            )
        value = (ask or getpass.getpass)(prompt)
    if not value:
        raise Usage(f"the {what} is empty")
    return Secret(value)


def _settings(
    resolver: list[str] | None,
    timeout: float,
    deadline: float,
    ca_file: Path | None,
    allow_private: bool,
) -> Settings:
    from maildoctor.cli import UsageProblem
    from maildoctor.cli import _settings as cli_settings

    try:
        settings = cli_settings(resolver, timeout, deadline, ca_file, allow_private)
    except UsageProblem as exc:
        raise Usage(str(exc)) from None
    assert isinstance(settings, Settings)
    return settings


def _host(text: str) -> str:
    from maildoctor.targets import parse_host

    try:
        return str(parse_host(text))
    except ValueError as exc:
        raise Usage(str(exc)) from None


def _address(flag: str, text: str) -> str:
    if not _ADDRESS.match(text) or len(text) > 254:
        raise Usage(f"{flag} {text!r} is not a mail address (local@domain)")
    return text


def parse_size(text: str | None) -> tuple[int, bool]:
    """--size BYTES (K/M suffixes: KiB/MiB) or "find": (bytes, find)."""
    if text is None:
        return 0, False
    raw = text.strip().lower()
    if raw == "find":
        return 0, True
    m = re.fullmatch(r"(\d+)\s*([km]?)i?b?", raw)
    if not m:
        raise Usage(f"--size {text!r}: give a number of bytes (e.g. 2000000, 5M) or 'find'")
    size = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]
    if not 0 < size <= MAX_SIZE:
        raise Usage(f"--size must be between 1 byte and {MAX_SIZE} bytes (100 MiB)")
    return size, False


async def _run(
    target: str,
    settings: Settings,
    specs: Mapping[str, object],
    area: str,
) -> Report:
    """Run this command's own probe plan (see probes/account.py) and its area's checks."""
    from maildoctor.checks import all_checks
    from maildoctor.engine import run_checks
    from maildoctor.probes import ProbeSpec

    plan = {k: v for k, v in specs.items() if isinstance(v, ProbeSpec)}
    checks = [c for c in all_checks() if c.area == area]
    return await run_checks(target, settings, checks, specs=plan)


def _no_server(report: Report, key: str) -> None:
    """HOST has no address to talk to (a typo, or loopback without --allow-private): exit 2."""
    ev = report.evidence.get(key)
    note = getattr(ev, "note", "")
    if note and not getattr(ev, "tries", ()) and not getattr(ev, "ip", ""):
        raise Usage(note)


def guard(report: Report, users_and_secrets: list[tuple[str, Secret]], public: str = "") -> None:
    """Raise SecretLeak when the report holds a password in any form (RFC 4616 PLAIN, LOGIN).

    The raw password is looked for when it is long enough to be told from ordinary words and
    is not part of what the user typed in the open (a password "good" is in "good.test");
    its encoded forms are distinctive and always looked for.
    """
    from maildoctor.render.json import dumps

    text = dumps(report)
    for user, secret in users_and_secrets:
        raw = secret.reveal()
        for form in secret_forms(user, raw):
            if form == raw and (len(raw) < 8 or raw in public):
                continue
            if len(form) >= 8 and form in text:
                raise SecretLeak("the report would contain a password; nothing was printed")


def _finish(
    report: Report,
    secrets_: list[tuple[str, Secret]],
    public: str,
    json: bool,
    html: Path | None,
    quiet: bool,
) -> int:
    from maildoctor.cli import UsageProblem, _output

    guard(report, secrets_, public)
    try:
        return _output(report, json=json, html=html, quiet=quiet)
    except UsageProblem as exc:
        raise Usage(str(exc)) from None


def _usage(exc: Usage, err: IO[str] | None) -> int:
    print(f"maildoctor: error: {exc}", file=err or sys.stderr)
    return EXIT_USAGE


def auth_command(
    host: str,
    *,
    user: str,
    password_env: str | None = None,
    password_stdin: bool = False,
    insecure: bool = False,
    resolver: list[str] | None = None,
    timeout: float = 5.0,
    deadline: float = 120.0,
    ca_file: Path | None = None,
    allow_private: bool = False,
    json: bool = False,
    html: Path | None = None,
    quiet: bool = False,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
    ask: Callable[[str], str] | None = None,
) -> int:
    from maildoctor.probes.account import AuthRequest, auth_probes

    try:
        name = _host(host)
        if not user or any(c.isspace() for c in user) or len(user) > 254:
            raise Usage(f"--user {user!r} is not a user name")
        settings = _settings(resolver, timeout, deadline, ca_file, allow_private)
        password = read_password(
            env=password_env,
            use_stdin=password_stdin,
            prompt=f"Password for {user} on {name}: ",
            what="password",
            stdin=stdin,
            ask=ask,
        )
        req = AuthRequest(name, user, password, insecure)
        report = asyncio.run(_run(name, settings, auth_probes(req), "account"))
        _no_server(report, "account.auth")
        return _finish(report, [(user, password)], f"{user} {name}", json, html, quiet)
    except Usage as exc:
        return _usage(exc, stderr)


def send_test_command(
    host: str,
    *,
    user: str,
    mail_from: str,
    rcpt_to: str,
    size: str | None = None,
    imap_check: bool = False,
    to_user: str | None = None,
    to_password_env: str | None = None,
    wait: float = 30.0,
    password_env: str | None = None,
    password_stdin: bool = False,
    insecure: bool = False,
    resolver: list[str] | None = None,
    timeout: float = 5.0,
    deadline: float = 120.0,
    ca_file: Path | None = None,
    allow_private: bool = False,
    json: bool = False,
    html: Path | None = None,
    quiet: bool = False,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
    ask: Callable[[str], str] | None = None,
) -> int:
    from maildoctor.probes.account import SendRequest, send_probes

    try:
        name = _host(host)
        sender = _address("--from", mail_from)
        rcpt = _address("--to", rcpt_to)
        nbytes, find = parse_size(size)
        if not 0 < wait <= MAX_WAIT:
            raise Usage(f"--wait must be between 0 and {MAX_WAIT:g} seconds, not {wait:g}")
        if (to_user or to_password_env) and not imap_check:
            raise Usage("--to-user and --to-password-env go with --imap-check")
        # The IMAP wait runs inside the run's deadline: make room for it.
        if imap_check:
            deadline = max(deadline, wait + 10 * timeout)
        settings = _settings(resolver, timeout, deadline, ca_file, allow_private)
        password = read_password(
            env=password_env,
            use_stdin=password_stdin,
            prompt=f"Password for {user} on {name}: ",
            what="password",
            stdin=stdin,
            ask=ask,
        )
        secrets_ = [(user, password)]
        to_password: Secret | None = None
        mailbox = to_user or rcpt
        if imap_check:
            if to_password_env is None and mailbox == user:
                to_password = password
            else:
                to_password = read_password(
                    env=to_password_env,
                    use_stdin=False,
                    prompt=f"Password for the mailbox {mailbox}: ",
                    what="recipient's password (--to-password-env VAR)",
                    stdin=stdin,
                    ask=ask,
                )
            secrets_.append((mailbox, to_password))
        req = SendRequest(
            host=name,
            user=user,
            password=password,
            mail_from=sender,
            rcpt_to=rcpt,
            size=nbytes,
            find_size=find,
            imap_check=imap_check,
            to_user=mailbox,
            to_password=to_password,
            wait_s=wait,
            insecure=insecure,
        )
        report = asyncio.run(_run(name, settings, send_probes(req), "send"))
        _no_server(report, "account.send")
        public = f"{user} {name} {sender} {rcpt} {mailbox}"
        return _finish(report, secrets_, public, json, html, quiet)
    except Usage as exc:
        return _usage(exc, stderr)
