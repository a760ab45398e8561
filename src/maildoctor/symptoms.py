"""From a symptom a person reports to the checks that can explain it, and back to a ranking.

The symptom -> finding mapping lives in the catalogue only (each entry names the symptoms it
explains); this module derives the plan from it and holds what is knowledge of the symptom
itself: the menu wording, which inputs help, and where to look first when two findings are
equally severe. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from maildoctor.catalogue import Catalogue
from maildoctor.checks import Check
from maildoctor.report import SYMPTOMS, Finding, Severity


@dataclass(frozen=True)
class Symptom:
    name: str
    # Finding areas (code prefixes) in the order a cause in them is most likely: the ranking's
    # tie-break between findings of the same severity. Areas not named come last.
    look_first: tuple[str, ...]
    # Inputs beyond the domain that let diagnose test more: account, send, log, webmail,
    # message, queue.
    uses: tuple[str, ...]
    # What no probe can see from here (the PC, the browser, the server's CPU): checked by hand.
    by_hand: tuple[str, ...] = ()

    @property
    def menu(self) -> str:
        """The words a person reports it in (report.SYMPTOMS), shown in the menu."""
        return SYMPTOMS[self.name]


_ALL = (
    Symptom(
        "password-rejected",
        ("auth", "log", "smtp", "imap", "pop3", "tls", "autoconfig", "send"),
        ("account", "log"),
        by_hand=(
            "Remove the saved password and type it again: Outlook keeps it in Windows "
            "Credential Manager (Control Panel > Credential Manager > Windows Credentials), "
            "macOS in Keychain Access.",
            "Providers with two-factor sign-in (Microsoft 365, Google) want an app password or "
            "modern authentication (OAuth) from the mail app, not the account password.",
        ),
    ),
    Symptom(
        "cannot-receive",
        ("dns", "mx", "port", "smtp", "tls", "mta_sts", "imap", "pop3", "log", "send"),
        ("log",),
        by_hand=(
            "Test port 25 from another network (a phone hotspot, an outside VPS): "
            "nc -vz MX-HOST 25. Some ISPs and cloud providers block it inbound.",
            "Ask a sender for the bounce they got and paste it: maildoctor explain - < bounce.eml",
        ),
    ),
    Symptom(
        "webmail-login",
        ("webmail", "auth", "imap", "log", "tls"),
        ("webmail", "account", "log"),
        by_hand=(
            "Clear the browser's cookies for the webmail site or try a private window: a stale "
            "session cookie sends the login back to the login page.",
            "Read the webmail's own log (Roundcube: logs/errors.log; the PHP-FPM and web server "
            "error logs) for the moment of the failed login.",
        ),
    ),
    Symptom(
        "client-ssl-error",
        ("tls", "auth", "smtp", "imap", "pop3", "autoconfig", "log", "webmail"),
        ("account", "log"),
        by_hand=(
            "When the servers are fine, the fault is on the PC: start Outlook in safe mode "
            "(outlook.exe /safe) to rule out add-ins, repair or recreate the profile (Control "
            "Panel > Mail > Show Profiles), and update Office.",
            "Outlook 2010 and older and Windows 7 without updates cannot speak TLS 1.2: they "
            "fail against any current server.",
        ),
    ),
    Symptom(
        "cannot-send",
        ("auth", "send", "smtp", "port", "dnsbl", "log", "queue", "spf", "ptr", "dns", "tls"),
        ("account", "send", "log"),
        by_hand=(
            "Home and office ISPs block outgoing port 25: mail apps must send on 587 "
            "(STARTTLS) or 465 (SSL/TLS) with authentication.",
            'Paste the exact error or bounce: maildoctor explain "TEXT"',
        ),
    ),
    Symptom(
        "spam-folder",
        ("message", "dnsbl", "spf", "dkim", "dmarc", "ptr", "smtp", "log", "send", "dns"),
        ("message", "log"),
        by_hand=(
            "Ask a recipient for one message from their spam folder, saved with all headers "
            "(.eml), and give it with --eml: the receiver's own verdict is in its headers.",
            "Watch reputation where the big providers publish it: Google Postmaster Tools, "
            "Microsoft SNDS, Yahoo Sender Hub.",
        ),
    ),
    Symptom(
        "overloaded",
        ("queue", "log", "smtp", "send"),
        ("queue", "log"),
        by_hand=(
            "On the server: top, free -m, vmstat 1 and df -h for CPU, memory, swap and a full "
            "disk (a full /var stops Postfix queueing).",
            "Count the SMTP processes against the limit: ps -C smtpd --no-headers | wc -l and "
            "postconf default_process_limit.",
        ),
    ),
    Symptom(
        "large-attachments",
        ("send", "smtp", "log"),
        ("account", "send", "log"),
        by_hand=(
            "The recipient's server has its own limit (Gmail 25 MB, Outlook.com about 20 MB "
            "for attachments); base64 makes a file about 37% bigger on the wire.",
            "For big files, send a link (a file share) rather than an attachment.",
        ),
    ),
)
BY_NAME: Mapping[str, Symptom] = {s.name: s for s in _ALL}
assert tuple(BY_NAME) == tuple(SYMPTOMS), "symptoms.py and report.SYMPTOMS must list the same"


def get(name: str) -> Symptom:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown symptom {name!r} (one of {', '.join(BY_NAME)})") from None


def plan(symptom: str, checks: Iterable[Check], catalogue: Catalogue) -> tuple[Check, ...]:
    """The checks that can emit a finding explaining `symptom` (and so also rule it out)."""
    return tuple(c for c in checks if any(symptom in catalogue[code].symptoms for code in c.codes))


@dataclass(frozen=True)
class Ranked:
    causes: tuple[Finding, ...]  # problems that explain the symptom, most likely first
    other_problems: tuple[Finding, ...]  # problems that do not explain it
    rest: tuple[Finding, ...]  # info and ok


def rank(
    symptom: str, findings: Iterable[Finding], steps: Mapping[str, int] | None = None
) -> Ranked:
    """Most likely cause first: the worse finding first; among equals, the area a cause of
    this symptom usually sits in (Symptom.look_first), then the earlier step of a session
    (`steps`: the catalogue's Entry.step; a failure there explains the later ones), then the
    code and subject."""
    order = {area: i for i, area in enumerate(get(symptom).look_first)}
    last = len(order)
    steps = steps or {}

    def key(f: Finding) -> tuple[int, int, int, str, str]:
        return (-f.severity, order.get(f.area, last), steps.get(f.code, 0), f.code, f.subject)

    everything = sorted(findings, key=key)
    causes = tuple(f for f in everything if f.severity.is_problem and symptom in f.symptoms)
    others = tuple(f for f in everything if f.severity.is_problem and symptom not in f.symptoms)
    rest = tuple(f for f in everything if not f.severity.is_problem)
    return Ranked(causes, others, rest)


def ruled_out(ranked: Ranked) -> tuple[str, ...]:
    """What was checked and found working, in words: the titles of the ok findings."""
    seen: list[str] = []
    for f in ranked.rest:
        if f.severity is not Severity.OK:
            continue
        line = f"{f.title} ({f.subject})" if f.subject else f.title
        if line not in seen:
            seen.append(line)
    return tuple(seen)
