"""The prefix of a log line: timestamp, host, program, and which mail software wrote it.

Formats (detected per line, so a mail.log mixing Postfix and Dovecot needs no flag):
  classic syslog   "Nov 28 05:44:45 mx postfix/smtpd[123]: msg"        (RFC 3164 4.1.2)
  Dovecot log_path "Nov 28 05:44:46 imap-login: Info: msg"             (no host)
  RFC 3339         "2026-11-28T05:44:45.123456+01:00 mx postfix/smtpd[123]: msg" (RFC 5424 6.2.3)
  short-iso        "2026-11-28T05:44:45+0100 mx postfix/smtpd[123]: msg" (journalctl -o short-iso)
  Exim main/reject/paniclog "2026-11-28 05:44:45[.fff][ +0100][ [pid]] msg"
Postfix's postlogd (maillog_file) writes the classic form with a full path of the program.
"""

from __future__ import annotations

from typing import NamedTuple

from maildoctor.logs.clock import MONTHS

DOVECOT_SERVICES = frozenset(
    {
        "imap-login",
        "pop3-login",
        "submission-login",
        "managesieve-login",
        "auth",
        "auth-worker",
        "lmtp",
        "lda",
        "imap",
        "pop3",
        "submission",
        "managesieve",
        "master",
        "config",
        "anvil",
        "log",
        "dict",
        "indexer",
        "indexer-worker",
        "doveadm",
        "stats",
        "quota-warning",
        "quota-status",
        "replicator",
        "aggregator",
        "director",
        "dovecot",
        "deliver",
        "imap-hibernate",
        "old-stats",
        "ssl-params",
        "imap-urlauth",
        "imap-urlauth-login",
        "dsync",
        "sieve",
        "lazy_expunge",
        "dns-client",
        "pop3c",
        "imapc",
    }
)
SENDMAIL_PROGRAMS = frozenset({"sendmail", "sm-mta", "sm-msp-queue", "sm-msp", "smmsp"})
EXIM_PROGRAMS = frozenset({"exim", "exim4"})
# Mail software whose lines are recognised but carry nothing maildoctor counts.
OTHER_MAIL = frozenset(
    {
        "opendkim",
        "opendmarc",
        "postgrey",
        "policyd-spf",
        "policyd-spf-python",
        "amavis",
        "amavisd",
        "amavisd-new",
        "spamd",
        "rspamd",
        "clamd",
        "clamav-milter",
        "saslauthd",
        "spamass-milter",
        "milter-greylist",
        "postfwd",
        "sqlgrey",
    }
)


class Header(NamedTuple):
    fmt: str  # "syslog" | "iso" | "exim" | "dovecot"
    ts: str
    host: str
    program: str  # without [pid]
    msg: str


def split(line: str) -> Header | None:
    """Split one line into its prefix parts; None when it has no recognisable prefix."""
    n = len(line)
    if n > 16 and line[3] == " " and line[9] == ":" and line[15] == " " and line[:3] in MONTHS:
        ts = line[:15]
        rest = line[16:]
        fmt = "syslog"
    elif n > 20 and line[4] == "-" and line[10] == "T" and line[13] == ":":
        sp = line.find(" ", 19)
        if sp < 0:
            return None
        ts = line[:sp]
        rest = line[sp + 1 :]
        fmt = "iso"
    elif n > 20 and line[4] == "-" and line[10] == " " and line[13] == ":" and line[16] == ":":
        return _exim(line)
    else:
        return None
    sp = rest.find(" ")
    if sp <= 0:
        return None
    first = rest[:sp]
    if first[-1] == ":":
        # Dovecot's own log file: "imap-login: Info: ..." with no host name.
        return Header("dovecot", ts, "", first[:-1], rest[sp + 1 :])
    colon = rest.find(": ", sp + 1)
    if colon < 0:
        if rest.endswith(":"):
            colon = len(rest) - 1
        else:
            return None
    program = rest[sp + 1 : colon]
    br = program.find("[")
    if br > 0:
        program = program[:br]
    return Header(fmt, ts, first, program, rest[colon + 2 :])


def _exim(line: str) -> Header | None:
    # "2026-11-28 05:44:45[.fff][ +0100][ [pid]] message"
    i = 19
    n = len(line)
    if i < n and line[i] == ".":
        i += 1
        while i < n and line[i].isdigit():
            i += 1
    if i + 6 <= n and line[i] == " " and line[i + 1] in "+-" and line[i + 2 : i + 6].isdigit():
        i += 6
    ts = line[:i]
    if i < n and line[i] == " ":
        i += 1
    if i < n and line[i] == "[":
        end = line.find("] ", i)
        if end > 0 and line[i + 1 : end].isdigit():
            i = end + 2
    return Header("exim", ts, "", "exim", line[i:])


def software(program: str) -> str | None:
    """Which mail software a syslog program name belongs to (postfix, dovecot...)."""
    if "postfix" in program:
        return "postfix"
    base = program
    paren = base.find("(")
    if paren > 0:
        base = base[:paren]
    if base in DOVECOT_SERVICES:
        return "dovecot"
    if base in SENDMAIL_PROGRAMS:
        return "sendmail"
    if base in EXIM_PROGRAMS:
        return "exim"
    if base in OTHER_MAIL or base.split("/")[0] in OTHER_MAIL:
        return "other"
    return None
