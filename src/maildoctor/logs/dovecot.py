"""Dovecot message text -> events (imap-login, pop3-login, submission-login, auth, lmtp, lda,
imap, pop3, master), from its own log file ("imap-login: Info: ...") or from syslog
("dovecot: imap-login: ...").
"""

from __future__ import annotations

import re

from maildoctor.logs.model import (
    AuthBackendFailure,
    AuthFailure,
    Event,
    Fault,
    LoginOk,
    MailboxFull,
    PlaintextRefused,
    RateLimited,
    TlsFailure,
    Warning_,
)

_LEVELS = ("Info: ", "Warning: ", "Error: ", "Fatal: ", "Panic: ", "Debug: ")
_USER = re.compile(r"user=<([^>]*)>")
_RIP = re.compile(r"rip=([0-9A-Fa-f:.]+)")
_ATTEMPTS = re.compile(r"auth failed, (\d+) attempts")
_BACKEND = re.compile(r"^[\w-]+\(([^,)]*)(?:,([0-9A-Fa-f:.]+))?(?:,<[^>]*>)?\): (.*)$")
_BACKEND_FAIL = (
    "Password mismatch",
    "unknown user",
    "pam_authenticate() failed",
    "Authentication failure",
    "auth failed",
)


def _service(program: str) -> str:
    paren = program.find("(")
    return program[:paren] if paren > 0 else program


def parse(program: str, msg: str, line: str) -> Event | None:
    """`program` is the Dovecot service ("imap-login", "imap(alice)<pid><session>") or
    "dovecot" when the service is at the start of `msg` (syslog form)."""
    if program.startswith("dovecot"):
        colon = msg.find(": ")
        if colon > 0 and " " not in msg[:colon]:
            program, msg = msg[:colon], msg[colon + 2 :]
    level = "Info"
    if msg.startswith(_LEVELS):
        colon = msg.index(": ")
        level, msg = msg[:colon], msg[colon + 2 :]
    service = _service(program)
    if level in ("Fatal", "Panic"):
        return Fault(level.lower(), f"dovecot/{service}", line)
    if service.endswith("-login"):
        proto = service[:-6]
        if msg.startswith("Login: "):
            return LoginOk(_rip(msg), _user(msg), proto)
        if "auth failed, " in msg:
            m = _ATTEMPTS.search(msg)
            return AuthFailure(_rip(msg), _user(msg), proto, int(m.group(1)) if m else 1)
        if "SSL_accept()" in msg or "TLS handshaking: " in msg:
            return TlsFailure(_rip(msg), "in", line)
        if msg.startswith("Login failed: Plaintext authentication disabled") or (
            "disallowed plaintext auth" in msg
        ):
            return PlaintextRefused(_rip(msg), proto)
        if "Maximum number of connections" in msg:
            return RateLimited(_rip(msg), "connections per user and IP", line)
    elif service in ("auth", "auth-worker"):
        m = _BACKEND.match(msg)
        if m and any(w in m.group(3) for w in _BACKEND_FAIL):
            return AuthBackendFailure(m.group(2) or "", m.group(1))
    elif "Quota exceeded" in msg or "quota exceeded" in msg or "Mailbox is full" in msg:
        user = program[program.find("(") + 1 : program.find(")")] if "(" in program else ""
        return MailboxFull(user, line)
    if service == "master" and "process_limit" in msg and "reached" in msg:
        return RateLimited("", "process limit", line)
    if level == "Warning" and "process_limit" in msg:
        return RateLimited("", "process limit", line)
    if level in ("Error", "Warning"):
        return (
            Warning_(f"dovecot/{service}", line)
            if level == "Warning"
            else Fault("error", f"dovecot/{service}", line)
        )
    return None


def _rip(msg: str) -> str:
    m = _RIP.search(msg)
    return m.group(1) if m else ""


def _user(msg: str) -> str:
    m = _USER.search(msg)
    return m.group(1) if m else ""
