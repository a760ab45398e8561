"""`maildoctor diagnose DOMAIN --symptom NAME`: from what a person reports to the cause and fix.

The symptom picks the checks (those whose findings can explain it, from the catalogue), the
inputs given add probes (an account to log in with, a log, a webmail URL, a sample message,
the local queue), and the findings come back ranked: the most likely cause first.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from maildoctor.account.command import Usage, _finish, read_password
from maildoctor.diagnose.menu import Answers, NoTerminal, ask_inputs, choose_symptom
from maildoctor.protocols.sasl import Secret
from maildoctor.report import EXIT_USAGE, Diagnosis, Report
from maildoctor.settings import Settings

HINTS = {
    "account": "--user USER --password-env VAR: log in the ways mail apps do (SMTP, IMAP, POP3)",
    "send": "--user USER (--from, --to): send one small test message through submission",
    "log": "--log /var/log/mail.log (run on the mail server): read the server's own record",
    "webmail": "--webmail URL: load the webmail login page and test its certificate and cookies",
    "message": "--eml FILE: read a message that landed in spam, saved with all its headers",
    "queue": "run diagnose on the mail server itself (postqueue, exim or mailq at hand; "
    "--postfix-config DIR for one Postfix instance of several): read the mail queue and the "
    "machine's load, memory and disks",
}


@dataclass
class Request:
    """Everything `diagnose` was given, as plain values (cli.py fills it from the flags)."""

    domain: str | None
    symptom: str | None = None
    host: str | None = None
    user: str | None = None
    password_env: str | None = None
    password_stdin: bool = False
    insecure: bool = False
    mail_from: str | None = None
    rcpt_to: str | None = None
    logs: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    webmail: str | None = None
    eml: str | None = None
    postfix_config: str | None = None
    resolver: list[str] | None = None
    timeout: float = 5.0
    deadline: float = 120.0
    ca_file: Path | None = None
    allow_private: bool = False
    dkim_selector: list[str] | None = None
    sending_ip: list[str] | None = None
    dnsbl: list[str] | None = None
    json: bool = False
    html: Path | None = None
    quiet: bool = False
    no_input: bool = False  # never ask, even on a terminal


@dataclass
class Io:
    """Where the command talks: swapped in tests for a scripted terminal."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    interactive: bool | None = None  # None: when stdin and stderr are terminals
    ask: Callable[[str], str] | None = None
    ask_secret: Callable[[str], str] | None = None

    def is_interactive(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        return self.stdin.isatty() and self.stderr.isatty()

    def question(self, prompt: str) -> str:
        if self.ask is not None:
            return self.ask(prompt)
        print(prompt, end="", file=self.stderr, flush=True)
        line = self.stdin.readline()
        if not line:
            raise NoTerminal("no answer (end of input)")
        return line.rstrip("\r\n")


def diagnose_command(req: Request, io: Io | None = None) -> int:
    io = io or Io()
    try:
        return _run(req, io)
    except (Usage, NoTerminal) as exc:
        print(f"maildoctor: error: {exc}", file=io.stderr)
        return EXIT_USAGE


def _run(req: Request, io: Io) -> int:
    from maildoctor import catalogue, symptoms
    from maildoctor.evidence.queue import READ, QueueEvidence
    from maildoctor.targets import parse_domain

    if req.domain is None:
        raise Usage("give the DOMAIN whose mail has the problem, e.g. example.com")
    try:
        domain = parse_domain(req.domain)
    except ValueError as exc:
        raise Usage(str(exc)) from None
    asking = io.is_interactive() and not req.no_input
    if req.symptom is None:
        if not asking:
            why = "--no-input" if req.no_input else "no terminal to ask on"
            raise Usage(
                f"no --symptom given and {why}: give --symptom NAME, one of "
                + ", ".join(symptoms.BY_NAME)
            )
        req = replace(req, symptom=choose_symptom(io.question, io.stderr))
    assert req.symptom is not None
    try:
        symptom = symptoms.get(req.symptom.strip().lower())
    except ValueError as exc:
        raise Usage(f"--symptom: {exc}") from None
    if asking:  # what this symptom can use and was not given; Enter skips each
        answers = Answers(user=req.user, logs=list(req.logs), webmail=req.webmail, eml=req.eml)
        ask_inputs(symptom.name, domain, io.question, answers, _local_log())
        req = replace(
            req, user=answers.user, logs=answers.logs, webmail=answers.webmail, eml=answers.eml
        )
    settings = _settings(req)
    inputs, used, secrets_ = _inputs(req, symptom.name, symptom.uses, domain, io)
    settings = _with_sender(settings, inputs, used)
    report = asyncio.run(_diagnose(domain, symptom.name, settings, inputs))
    queue = report.evidence.get("queue.local")
    if isinstance(queue, QueueEvidence) and queue.status == READ:  # found without a flag
        used.setdefault("queue", queue.command)
    cat = catalogue.load()
    ranked = symptoms.rank(symptom.name, report.findings, {c: cat[c].step for c in cat})
    given = {_use_key(u) for u in used}
    hints = tuple(HINTS[u] for u in symptom.uses if u not in given and u in HINTS)
    report = replace(
        report,
        findings=(*ranked.causes, *ranked.other_problems, *ranked.rest),
        diagnosis=Diagnosis(
            symptom=symptom.name,
            causes=len(ranked.causes),
            ruled_out=symptoms.ruled_out(ranked),
            used=used,
            hints=hints,
            by_hand=symptom.by_hand,
        ),
    )
    public = " ".join([domain, *(v for v in used.values())])
    return _finish(report, secrets_, public, req.json, req.html, req.quiet)


# Where the mail log of this machine usually is (Debian/Ubuntu, RHEL, Exim on Debian, FreeBSD).
LOCAL_LOGS = ("/var/log/mail.log", "/var/log/maillog", "/var/log/exim4/mainlog")


def _local_log() -> str | None:
    import os

    return next((p for p in LOCAL_LOGS if os.access(p, os.R_OK) and Path(p).is_file()), None)


def _use_key(used_key: str) -> str:
    return {"send-test": "send", "logs": "log"}.get(used_key, used_key)


def _settings(req: Request) -> Settings:
    from maildoctor.cli import UsageProblem, _domain_params
    from maildoctor.cli import _settings as cli_settings
    from maildoctor.targets import parse_host

    try:
        extra = _domain_params(req.dkim_selector, req.sending_ip, req.dnsbl)
        settings = cli_settings(
            req.resolver, req.timeout, req.deadline, req.ca_file, req.allow_private, **extra
        )
    except UsageProblem as exc:
        raise Usage(str(exc)) from None
    assert isinstance(settings, Settings)
    if req.host is not None:
        try:
            settings = replace(settings, host=str(parse_host(req.host)))
        except ValueError as exc:
            raise Usage(f"--host {exc}") from None
    return settings


def _inputs(
    req: Request, symptom: str, uses: tuple[str, ...], domain: str, io: Io
) -> tuple[object, dict[str, str], list[tuple[str, Secret]]]:
    """The extra probes' requests, what the report says was used, and the secrets to guard."""
    from maildoctor.account.command import _address
    from maildoctor.probes.account import AuthRequest, SendRequest
    from maildoctor.probes.diagnose import DiagnoseInputs

    used: dict[str, str] = {}
    secrets_: list[tuple[str, Secret]] = []
    auth = send = None
    if req.host:
        used["host"] = req.host
    wants_account = "account" in uses or "send" in uses
    if req.user is not None and wants_account:
        user = req.user.strip()
        if not user or any(c.isspace() for c in user) or len(user) > 254:
            raise Usage(f"--user {req.user!r} is not a user name")
        where = req.host or f"the {domain} mail server"
        password = read_password(
            env=req.password_env,
            use_stdin=req.password_stdin,
            prompt=f"Password for {user} on {where}: ",
            what="password",
            stdin=io.stdin,
            ask=io.ask_secret or (None if not io.is_interactive() else _getpass),
        )
        secrets_.append((user, password))
        used["account"] = user
        if "account" in uses:
            auth = AuthRequest("", user, password, req.insecure)
        if "send" in uses and req.mail_from is None and "@" not in user:
            used["send-test"] = (
                f"not sent: the login {user} is not a mail address; give --from ADDRESS"
            )
        elif "send" in uses:
            sender = _address("--from", req.mail_from or user)
            rcpt = _address("--to", req.rcpt_to or sender)
            send = SendRequest(
                host="",
                user=user,
                password=password,
                mail_from=sender,
                rcpt_to=rcpt,
                find_size=symptom == "large-attachments",
                insecure=req.insecure,
            )
            used["send-test"] = f"{sender} -> {rcpt}"
    elif req.user is not None:
        used["account"] = f"{req.user} (not used for this symptom)"
    logs: tuple[str, ...] = ()
    since = until = None
    if req.logs and "log" in uses:
        logs, since, until = _logs(req)
        window = "whole files" if req.since == "all" else f"since {req.since or LOG_WINDOW}"
        used["logs"] = f"{', '.join(logs)} ({window})"
    message = None
    if req.eml is not None and "message" in uses:
        message = Path(req.eml)
        if not message.is_file():
            raise Usage(f"--eml {req.eml}: no such file (save the message with its headers)")
        used["message"] = req.eml
    webmail_url = None
    if "webmail" in uses:
        webmail_url = _webmail_url(req.webmail, domain)
        if webmail_url:
            used["webmail"] = webmail_url
        else:
            used["webmail (guessed)"] = f"https://webmail.{domain}/"
    inputs = DiagnoseInputs(
        auth=auth,
        send=send,
        logs=logs,
        log_since=since,
        log_until=until,
        message=message,
        webmail="webmail" in uses,
        webmail_url=webmail_url,
        queue="queue" in uses,
        postfix_config=_postfix_config(req.postfix_config, used) if "queue" in uses else None,
    )
    return inputs, used, secrets_


def _postfix_config(text: str | None, used: dict[str, str]) -> str | None:
    if text is None:
        return None
    if not Path(text, "main.cf").is_file():
        raise Usage(f"--postfix-config {text}: no main.cf there (give Postfix's config directory)")
    used["queue"] = f"postqueue -c {text}"
    return text


def _webmail_url(text: str | None, domain: str) -> str | None:
    from maildoctor.records.webmail import join_url, split_url

    if text is None or not text.strip():
        return None
    parts = split_url(text)
    if parts is None:
        raise Usage(f"--webmail {text!r} is not an http:// or https:// address with a host name")
    return join_url(*parts)


def _with_sender(settings: Settings, inputs: object, used: dict[str, str]) -> Settings:
    """The server that handed the sample message to its receiver is a sending server of the
    domain: the SPF and blacklist checks judge it too."""
    from maildoctor.probes.diagnose import DiagnoseInputs
    from maildoctor.probes.message import sending_ip_of

    assert isinstance(inputs, DiagnoseInputs)
    if inputs.message is None:
        return settings
    ip = sending_ip_of(inputs.message)
    if not ip or ip in settings.sending_ips:
        return settings
    used["sending IP (from the message)"] = ip
    return replace(settings, sending_ips=(*settings.sending_ips, ip))


def _getpass(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


# A symptom is reported now: old incidents in a long log are not its cause.
LOG_WINDOW = "24h"


def _logs(req: Request) -> tuple[tuple[str, ...], float | None, float | None]:
    from maildoctor.logs.command import _check_files, _time, _Usage

    if "-" in req.logs:
        raise Usage("--log -: diagnose reads log files, not standard input")
    window = None if req.since == "all" else req.since or LOG_WINDOW
    try:
        _check_files(req.logs)
        since = _time("--since", window)
        until = _time("--until", req.until)
    except _Usage as exc:
        raise Usage(str(exc)) from None
    return tuple(req.logs), since, until


async def _diagnose(domain: str, symptom: str, settings: Settings, inputs: object) -> Report:
    from maildoctor import catalogue, symptoms
    from maildoctor.checks import all_checks
    from maildoctor.engine import run_checks
    from maildoctor.probes import all_probes
    from maildoctor.probes.diagnose import DiagnoseInputs, diagnose_probes

    assert isinstance(inputs, DiagnoseInputs)
    specs = {**all_probes(), **diagnose_probes(inputs)}
    checks = symptoms.plan(symptom, all_checks(), catalogue.load())
    return await run_checks(domain, settings, checks, specs=specs)
