"""Exim mainlog / rejectlog / paniclog text (after the timestamp and optional [pid]) -> events.

Message lines start with the message id: old form "1tGhXb-000123-AB" (6-6-2), Exim 4.97+
"1tGhXb-00000001aB-ABCD" (6-11-4). Flags: "<=" arrival, "=>" delivery, "->" further
recipient of the same delivery, "*>" delivery suppressed by -N, "==" deferral, "**" failure.
rejectlog entries are followed by the message's envelope and headers, one per line without a
timestamp: `continuation()` recognises those.
"""

from __future__ import annotations

import re

from maildoctor.logs.model import (
    AuthFailure,
    Client,
    Delivery,
    Event,
    Fault,
    RateLimited,
    Reject,
    Removed,
    Sender,
    SizeRejected,
    TlsFailure,
)

MSGID = re.compile(r"^([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) ")
_IP = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::\d+)?")
_A = re.compile(r" A=[\w-]+:(\S+)")
_S = re.compile(r" S=(\d+)")
_HOST_IP = re.compile(r"H=.*?\[([0-9A-Fa-f:.]+)\]")
_F = re.compile(r" F=<([^>]*)>")
_REJECTED = re.compile(
    r" rejected (?P<stage>RCPT|MAIL|EHLO|HELO|connection|after DATA|DATA|"
    r"VRFY|AUTH|\w+)(?: <(?P<rcpt>[^>]*)>)?:? ?(?P<text>.*)$"
)
_AUTH_FAIL = re.compile(
    r"^(\S+) authenticator failed for .*?\[([0-9A-Fa-f:.]+)\](?::\d+)?: "
    r"(?P<text>.*?)(?: \(set_id=(?P<user>[^)]*)\))?$"
)
_CODE = re.compile(r"(\d{3}[- ]\d\.\d{1,3}\.\d{1,3}|\d\.\d{1,3}\.\d{1,3})")
_BENIGN = (
    "Start queue run",
    "End queue run",
    "SMTP connection from",
    "no host name found",
    "no IP address found",
    "unexpected disconnection",
    "SMTP protocol synchronization error",
    "SMTP command timeout",
    "SMTP syntax error",
    "exim ",
    "daemon started",
    "Connection from",
    "SMTP data timeout",
    "ident connection",
    "TLS session",
    "Warning: ACL",
    "cwd=",
    "Completed",
    "Spool file",
    "Message is frozen",
    "Frozen",
    "Unfrozen",
    "removed by",
    "H=",
    "host name ",
    "Sender identification",
    "SMTP call from",
    "DKIM:",
    "sender verify",
    "ACL ",
    "unqualified",
    "Received from",
    "= ",
    "SMTP error",
    "retry time not reached",
    "rejected",
    "Connection refused",
    "failed to expand",
    "Cancelled",
)


def parse(msg: str, line: str, paniclog: bool = False) -> Event | object | None:
    from maildoctor.logs.postfix import UNPARSED

    if paniclog:
        return Fault("panic", "exim", line)
    m = MSGID.match(msg)
    if m:
        qid = m.group(1)
        rest = msg[m.end() :]
        return _message(qid, rest, line)
    if " authenticator failed for " in msg:
        a = _AUTH_FAIL.match(msg)
        if a:
            return AuthFailure(a.group(2), a.group("user") or "", "smtp", 1)
    if msg.startswith("TLS error on connection "):
        ip = _IP.search(msg)
        direction = "out" if msg.startswith("TLS error on connection to") else "in"
        return TlsFailure(ip.group(1) if ip else "", direction, line)
    if "refused: too many connections" in msg or "too many connections from" in msg:
        ip = _IP.search(msg)
        return RateLimited(ip.group(1) if ip else "", "too many connections", line)
    if "rejected " in msg and msg.startswith(("H=", "SMTP call", "[")):
        return _reject(msg, "", line)
    if msg.startswith(("panic", "PANIC", "failed to open", "Cannot open", "cannot open")):
        return Fault("panic", "exim", line)
    if "Local delivery failed" in msg or ("spool file" in msg.lower() and "error" in msg.lower()):
        return Fault("error", "exim", line)
    if msg.startswith(_BENIGN):
        return None
    return UNPARSED


def _message(qid: str, rest: str, line: str) -> Event | object | None:
    from maildoctor.logs.postfix import UNPARSED

    flag = rest[:3]
    if flag == "<= ":
        sp = rest.find(" ", 3)
        sender = rest[3:sp] if sp > 0 else rest[3:]
        if sender == "<>":
            sender = ""
        h = _HOST_IP.search(rest)
        a = _A.search(rest)
        s = _S.search(rest)
        ip = h.group(1) if h else "local"
        return [
            Client(qid, ip, a.group(1) if a else None),
            Sender(qid, sender, int(s.group(1)) if s else 0, 0),
        ]
    if flag in ("=> ", "-> ", "*> "):
        return Delivery(qid, _rcpt(rest[3:]), "sent", "", "", 0.0)
    if flag == "== ":
        reason = _reason(rest)
        return Delivery(qid, _rcpt(rest[3:]), "deferred", _code(reason), reason, 0.0)
    if flag == "** ":
        reason = _reason(rest)
        status = "expired" if "retry timeout exceeded" in reason else "bounced"
        return Delivery(qid, _rcpt(rest[3:]), status, _code(reason), reason, 0.0)
    if rest == "Completed" or rest.startswith("Completed "):
        return Removed(qid)
    if rest.startswith(("H=", "F=", "SMTP call")) and "rejected" in rest:
        return _reject(rest, qid, line)
    if "message too big" in rest or "message too large" in rest.lower():
        h = _HOST_IP.search(rest)
        return SizeRejected(h.group(1) if h else "", qid, line)
    if rest.startswith(_BENIGN) or rest.startswith(
        ("Message is frozen", "frozen", "SMTP error", "error ignored", "Error while", "=> ")
    ):
        return None
    if rest.startswith("removed"):
        return Removed(qid)
    return UNPARSED


def _rcpt(text: str) -> str:
    sp = text.find(" ")
    addr = text[:sp] if sp > 0 else text
    # "user@dom <orig@dom>" forms: the first address is the final recipient.
    return addr.rstrip(":").strip("<>")


def _reason(rest: str) -> str:
    # "== x@y R=dnslookup T=remote_smtp defer (-44) H=mx [1.2.3.4]: SMTP error from remote
    #  mail server after RCPT TO:<x@y>: 451 4.7.1 Greylisted"; the reply is after the last ": "
    for marker in (": SMTP error from remote mail server after ", ": "):
        i = rest.find(marker)
        if i > 0:
            return rest[i + 2 :]
    return rest


def _code(text: str) -> str:
    m = _CODE.search(text)
    if not m:
        return ""
    code = m.group(1)
    return code.split()[-1] if " " in code or "-" in code[:4] else code


def _reject(msg: str, qid: str, line: str) -> Event | object | None:
    from maildoctor.logs.postfix import UNPARSED

    h = _HOST_IP.search(msg) or _IP.search(msg)
    ip = h.group(1) if h else ""
    r = _REJECTED.search(msg)
    if not r:
        return UNPARSED
    text = r.group("text")
    low = text.lower()
    if "message too big" in low or "size exceeds" in low or "too large" in low:
        return SizeRejected(ip, qid, line)
    if "rate" in low and ("overlimit" in low or "limit" in low):
        return RateLimited(ip, "sender rate", line)
    f = _F.search(msg)
    code = _code(text)
    return Reject(
        ip,
        r.group("stage").upper(),
        code,
        text,
        f.group(1) if f else "",
        r.group("rcpt") or "",
        qid,
    )


def continuation(line: str) -> bool:
    """A rejectlog line without timestamp: the rejected message's envelope or a header."""
    if line.startswith(("Envelope-from:", "Envelope-to:")):
        return True
    # Header lines: a flag character, a space, the header ("P Received: ..."), or a folded
    # continuation starting with white space.
    if len(line) > 2 and line[1] == " " and line[0] in "*BCFIPRST ":
        return True
    return line[:1] in (" ", "\t")
