"""Postfix message text -> events (smtpd, postscreen, smtp, lmtp, local, virtual, pipe, error,
qmgr, cleanup, bounce, pickup, anvil, master, postsuper, tlsmgr...).

`parse(daemon, msg)` returns an event, None for a line that is understood but carries nothing
to count (connect, disconnect, TLS established...), or UNPARSED. Cheap tests (first character,
`startswith`, `in`) run before any regular expression: most lines never reach one.
"""

from __future__ import annotations

import re

from maildoctor.logs.model import (
    AuthFailure,
    Client,
    Delivery,
    DnsblHit,
    Dsn,
    Event,
    Expired,
    Fault,
    RateLimited,
    Reject,
    Removed,
    Sender,
    SizeRejected,
    TlsFailure,
    Warning_,
)

UNPARSED = object()

_HOST_IP = re.compile(r"\[([0-9A-Fa-f:.]+)\]")
_REJECT = re.compile(
    r"(?:milter-)?reject: (?P<stage>[A-Z-]+(?: [A-Z-]+)?) from (?P<client>\S+?)"
    r"(?::\d+)?: (?P<code>\d{3}(?: \d\.\d{1,3}\.\d{1,3})?) (?P<text>.*?)"
    r"(?:; from=<(?P<from>[^>]*)>(?: to=<(?P<to>[^>]*)>)?.*)?$"
)
_HEADER_REJECT = re.compile(
    r"(?:milter-)?reject: (?P<stage>header|body|END-OF-MESSAGE|DATA|CONNECT|HELO|MAIL|RCPT)"
    r"\b.*? from (?P<client>\S+?); from=<(?P<from>[^>]*)>(?: to=<(?P<to>[^>]*)>)?"
    r".*?: (?P<code>\d\.\d{1,3}\.\d{1,3}|\d{3}(?: \d\.\d{1,3}\.\d{1,3})?) ?(?P<text>.*)$"
)
_DELAY = re.compile(r", delay=([\d.]+)")
_DSN = re.compile(r", dsn=([\d.]+)")
_STATUS = re.compile(r", status=(\w+)(?: \((.*)\))?")
_FROM = re.compile(r"from=<([^>]*)>, size=(\d+), nrcpt=(\d+)")
_SASL_FAIL = re.compile(r"warning: (\S+): SASL (\S+) authentication failed(?:: (.*))?")
_SASL_USER = re.compile(r"sasl_username=(\S+)")
_RATE = re.compile(
    r"warning: (?P<kind>Connection rate|Connection concurrency|Message delivery request rate"
    r"|Recipient address rate|New TLS session rate|AUTH command rate) limit exceeded: \d+ from "
    r"(?P<client>\S+)"
)

# Understood, nothing to count. Checked with startswith on the text after "QID: " or on the
# whole message.
_BENIGN = (
    "connect from",
    "disconnect from",
    "lost connection after",
    "timeout after",
    "Anonymous TLS connection",
    "Trusted TLS connection",
    "Untrusted TLS connection",
    "Verified TLS connection",
    "too many errors after",
    "improper command pipelining",
    "CONNECT from",
    "PASS NEW",
    "PASS OLD",
    "PREGREET",
    "HANGUP after",
    "DISCONNECT",
    "COMMAND",
    "BARE NEWLINE",
    "NON-SMTP COMMAND",
    "WHITELISTED",
    "ALLOWLISTED",
    "BLACKLISTED",
    "DENYLISTED",
    "WHITELIST VETO",
    "ALLOWLIST VETO",
    "cache ",
    "statistics:",
    "daemon started",
    "reload",
    "terminating on signal",
    "starting the Postfix",
    "stopping the Postfix",
    "refreshing the Postfix",
    "Postfix is running",
    "Postfix is using",
    "Deleted:",
    "Requeued:",
    "setting up TLS connection",
    "Host offered STARTTLS",
    "connect to ",
    "host ",
    "enabling PIX",
    "SSL_accept:",
    "SSL_connect:",
    "NOQUEUE: filter:",
    "NOQUEUE: discard:",
    "NOQUEUE: hold:",
    "NOQUEUE: redirect:",
    "NOQUEUE: reject_warning:",
    "NOQUEUE: warn:",
    "NOQUEUE: client=",
    "auto_clean",
    "Trusted TLS",
    "mapping DSN",
    "postfix-script",
    "queue file size limit",  # without a queue id; counted with one below
    "using backwards-compatible",
    "Postfix is",
    "Postfix has",
    "Postfix mail system",
    "fatal: usage:",
    "table ",
    "looking for plugins",
    "lookup ",
    "getting ",
)
_QID_BENIGN = (
    "message-id=",
    "resent-message-id=",
    "uid=",
    "sender delay notification:",
    "sender delivery status notification:",
    "postmaster non-delivery notification:",
    "postmaster delay notification:",
    "hold:",
    "filter:",
    "redirect",
    "discard:",
    "warn:",
    "info:",
    "replace:",
    "prepend:",
    "reject_warning:",
    "enabling PIX",
    "skipped, still being delivered",
    "conversation with",
    "lost connection with",
    "host ",
    "passing ",
    "Cannot start TLS",
    "enabling",
    "client=",
    "orig_client=",
)


def _ip(client: str) -> str:
    """ "host[192.0.2.1]", "[192.0.2.1]:4321", "unknown[2001:db8::1]" -> the address."""
    i = client.find("[")
    if i < 0:
        return client
    j = client.find("]", i)
    return client[i + 1 : j] if j > 0 else client


def _qid_len(msg: str) -> int:
    """Length of a leading queue id ("4F9D2 " short hex, 10-15 chars long form), else 0."""
    colon = msg.find(": ", 0, 20)
    if colon < 5:
        return 0
    head = msg[:colon]
    if head.isalnum() and (head.isupper() or head.isdigit() or not head.isalpha()):
        return colon
    return 0


# Fast path: the commonest lines, recognised by their first four characters (or by the four
# after "QID: "), then confirmed by a full prefix. Anything else takes the general path.
_FAST_BENIGN = {
    "conn": "connect from ",
    "disc": "disconnect from ",
    "Anon": "Anonymous TLS connection",
    "Trus": "Trusted TLS connection",
    "Untr": "Untrusted TLS connection",
    "Veri": "Verified TLS connection",
    "lost": "lost connection after ",
    "CONN": "CONNECT from ",
    "PASS": "PASS ",
    "DISC": "DISCONNECT ",
}


def parse(daemon: str, msg: str, line: str) -> Event | object | None:
    head = msg[:4]
    prefix = _FAST_BENIGN.get(head)
    if prefix is not None and msg.startswith(prefix):
        return None
    if head == "warn" and msg.startswith("warning: "):
        return _warning(daemon, msg)
    if head == "NOQU" and msg.startswith("NOQUEUE: reject: "):
        return _reject(msg[9:], "")
    if head == "SSL_" and msg.startswith("SSL_accept error from "):
        return TlsFailure(_ip(msg[22:]), "in", msg)
    c = msg.find(": ", 5, 20)
    if c > 0:
        tag = msg[c + 2 : c + 6]
        if tag in ("to=<", "clie", "from", "remo", "mess"):
            qid = msg[:c]
            if qid.isalnum() and qid != "NOQUEUE":
                return _queued(daemon, qid, msg[c + 2 :], msg)
    return _general(daemon, msg, line)


def _general(daemon: str, msg: str, line: str) -> Event | object | None:
    if not msg:
        return UNPARSED
    c0 = msg[0]
    # Level prefixes first (any daemon).
    if c0 == "w" and msg.startswith("warning: "):
        return _warning(daemon, msg)
    if c0 in "fpe" and msg.startswith(("fatal: ", "panic: ", "error: ")):
        return Fault(msg[: msg.index(":")], daemon, msg)
    if msg.startswith("NOQUEUE: "):
        rest = msg[9:]
        if rest.startswith(("reject: ", "milter-reject: ")):
            return _reject(rest, "")
        if rest.startswith(_BENIGN_NOQUEUE):
            return None
        return UNPARSED
    qlen = _qid_len(msg)
    if qlen:
        qid = msg[:qlen]
        rest = msg[qlen + 2 :]
        return _queued(daemon, qid, rest, msg)
    if c0 == "S" and msg.startswith("SSL_accept error from "):
        return TlsFailure(_ip(msg[22:]), "in", msg)
    if c0 == "S" and msg.startswith("SSL_connect error to "):
        return TlsFailure(_ip(msg[21:]), "out", msg)
    if c0 == "D" and msg.startswith("DNSBL rank "):
        # postscreen: "DNSBL rank 3 for [192.0.2.1]:4321"
        return DnsblHit(_ip(msg), "")
    if msg.startswith(_BENIGN):
        return None
    if daemon in ("master", "postfix-script", "postlog", "postmulti", "postsuper", "postqueue"):
        return None
    return UNPARSED


_BENIGN_NOQUEUE = (
    "filter:",
    "discard:",
    "hold:",
    "redirect",
    "reject_warning:",
    "warn:",
    "client=",
    "info:",
)


def _queued(daemon: str, qid: str, rest: str, msg: str) -> Event | object | None:
    c0 = rest[:1]
    if c0 == "m" and rest.startswith("message-id="):
        return None
    if c0 == "t" and rest.startswith("to=<"):
        return _delivery(qid, rest)
    if c0 == "c" and rest.startswith("client="):
        comma = rest.find(",", 7)
        client = rest[7:comma] if comma > 0 else rest[7:]
        user = None
        if comma > 0:
            m = _SASL_USER.search(rest, comma)
            if m:
                user = m.group(1)
        return Client(qid, _ip(client), user)
    if c0 == "f" and rest.startswith("from=<"):
        m = _FROM.match(rest)
        if m:
            return Sender(qid, m.group(1), int(m.group(2)), int(m.group(3)))
        if "status=expired" in rest:
            return Expired(qid)
        return None
    if rest == "removed":
        return Removed(qid)
    if c0 == "u" and rest.startswith("uid="):
        return Client(qid, "local", None)
    if c0 == "s" and rest.startswith("sender non-delivery notification: "):
        return Dsn(qid, rest[34:].strip())
    if rest.startswith(("reject: ", "milter-reject: ")):
        return _reject(rest, qid)
    if rest.startswith(_QID_BENIGN):
        return None
    if daemon == "postsuper" or rest.startswith(("requeued", "held", "released", "expired")):
        return None
    return UNPARSED


def _delivery(qid: str, rest: str) -> Event | object | None:
    end = rest.find(">", 4)
    rcpt = rest[4:end]
    m = _STATUS.search(rest, end)
    if not m:
        return UNPARSED
    d = _DSN.search(rest, end)
    dl = _DELAY.search(rest, end)
    return Delivery(
        qid,
        rcpt,
        m.group(1),
        d.group(1) if d else "",
        m.group(2) or "",
        float(dl.group(1)) if dl else 0.0,
    )


def _reject(rest: str, qid: str) -> Event | object | None:
    fast = _reject_fast(rest, qid)
    if fast is not None:
        return fast
    m = _REJECT.match(rest)
    if m and m.group("stage") in (
        "RCPT",
        "MAIL",
        "CONNECT",
        "DATA",
        "END-OF-MESSAGE",
        "HELO",
        "EHLO",
        "VRFY",
        "ETRN",
        "BDAT",
        "UNKNOWN",
    ):
        return Reject(
            _ip(m.group("client")),
            m.group("stage"),
            m.group("code"),
            m.group("text"),
            m.group("from") or "",
            m.group("to") or "",
            qid,
        )
    h = _HEADER_REJECT.match(rest)
    if h:
        return Reject(
            _ip(h.group("client")),
            h.group("stage"),
            h.group("code"),
            h.group("text"),
            h.group("from") or "",
            h.group("to") or "",
            qid,
        )
    return UNPARSED


_STAGES = frozenset(
    (
        "RCPT",
        "MAIL",
        "CONNECT",
        "DATA",
        "END-OF-MESSAGE",
        "HELO",
        "EHLO",
        "VRFY",
        "ETRN",
        "BDAT",
        "UNKNOWN",
    )
)


def _reject_fast(rest: str, qid: str) -> Reject | None:
    """ "reject: RCPT from host[ip]: 554 5.7.1 <a@b>: text; from=<s> to=<r> proto=..." by
    string slicing; None when the line has another shape (the regular expressions decide)."""
    if not rest.startswith("reject: "):
        return None
    i = rest.find(" from ", 8)
    if i < 0:
        return None
    stage = rest[8:i]
    if stage not in _STAGES:
        return None
    j = rest.find("]", i)
    k = rest.find(": ", j)
    if j < 0 or k < 0 or k - j > 7:  # "]: " or "]:4321: " (postscreen)
        return None
    after = rest[k + 2 :]
    if not after[:3].isdigit() or after[3:4] != " ":
        return None
    code = after[:3]
    body = after[4:]
    if body[:1].isdigit() and body[1:2] == ".":
        sp = body.find(" ")
        code = f"{code} {body[:sp]}"
        body = body[sp + 1 :]
    f = body.rfind("; from=<")
    sender = rcpt = ""
    if f >= 0:
        tail = body[f + 8 :]
        body = body[:f]
        e = tail.find(">")
        sender = tail[:e]
        t = tail.find("to=<", e)
        if t >= 0:
            rcpt = tail[t + 4 : tail.find(">", t)]
    return Reject(_ip(rest[i + 6 : j + 1]), stage, code, body, sender, rcpt, qid)


def _warning(daemon: str, msg: str) -> Event | object | None:
    body = msg[9:]
    if body.startswith("TLS library problem"):
        return Warning_(daemon, msg)
    if "SASL" in body and "authentication failed" in body:
        m = _SASL_FAIL.match(msg)
        if m:
            u = _SASL_USER.search(msg)
            return AuthFailure(_ip(m.group(1)), u.group(1) if u else "", "smtp", 1)
    if body.endswith("queue file size limit exceeded"):
        qid = body.split(":", 1)[0]
        return SizeRejected("", qid, msg)
    if "limit exceeded" in body:
        r = _RATE.match(msg)
        if r:
            return RateLimited(_ip(r.group("client")), r.group("kind").lower(), msg)
    if body.startswith("process ") and ("killed by signal" in body or "exit status" in body):
        return Fault("crash", daemon, msg)
    if "is using up" in body and "active queue entries" in body:
        return RateLimited("", "active queue full", msg)
    if body.startswith("service ") and "process limit" in body:
        return RateLimited("", "process limit", msg)
    return Warning_(daemon, msg)
