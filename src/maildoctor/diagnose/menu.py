"""The interactive part of `diagnose`: the symptom menu and the questions, on a terminal only.

Without a terminal nothing is asked: the command says which flag to give instead, so a
script never hangs on a prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from maildoctor.symptoms import BY_NAME


class NoTerminal(Exception):
    """A question would be needed but there is no terminal to ask on."""


@dataclass
class Answers:
    user: str | None = None
    logs: list[str] = field(default_factory=list)
    webmail: str | None = None
    eml: str | None = None


Ask = Callable[[str], str]


def menu_text() -> str:
    lines = ["What is the problem?"]
    for i, s in enumerate(BY_NAME.values(), 1):
        lines.append(f"  {i}. {s.menu}")
    return "\n".join(lines)


def choose_symptom(ask: Ask, out: IO[str], tries: int = 3) -> str:
    """Print the menu and read a number or a symptom name; three wrong answers end it."""
    names = list(BY_NAME)
    print(menu_text(), file=out)
    for _ in range(tries):
        answer = ask(f"Number (1-{len(names)}): ").strip().lower()
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        if answer in BY_NAME:
            return answer
        print(f"  Please answer with a number from 1 to {len(names)}.", file=out)
    raise NoTerminal(f"no symptom chosen; give --symptom NAME ({', '.join(names)})")


def ask_inputs(
    symptom: str, domain: str, ask: Ask, answers: Answers, local_log: str | None = None
) -> Answers:
    """Ask for what this symptom can use and was not given; an empty answer skips it (or, for
    the log, takes `local_log`, the mail log found on this machine)."""
    uses = BY_NAME[symptom].uses
    if ("account" in uses or "send" in uses) and answers.user is None:
        user = ask(
            f"Mail account to test, e.g. someone@{domain} (Enter to skip; the password is "
            "asked next, hidden): "
        ).strip()
        answers.user = user or None
    if "log" in uses and not answers.logs:
        if local_log:
            path = ask(f"Mail log to read (Enter for {local_log}, - to skip): ").strip()
            path = local_log if not path else "" if path == "-" else path
        else:
            path = ask(
                "Mail log to read, e.g. /var/log/mail.log, when you run this on the server "
                "(Enter to skip): "
            ).strip()
        if path:
            answers.logs = [path]
    if "webmail" in uses and answers.webmail is None:
        url = ask(
            f"Webmail address, e.g. https://webmail.{domain}/ (Enter to try that one): "
        ).strip()
        answers.webmail = url or None
    if "message" in uses and answers.eml is None:
        path = ask(
            "A message that landed in spam, saved with its headers as .eml (Enter to skip): "
        ).strip()
        answers.eml = path or None
    return answers
