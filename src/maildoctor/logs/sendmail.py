"""Sendmail (sendmail, sm-mta, sm-msp-queue) message text -> events.

4ASB9w3x012345: from=<a@b>, size=512, class=0, nrcpts=1, msgid=<..>, proto=ESMTP,
    daemon=MTA, relay=client.example [192.0.2.1]
4ASB9w3x012345: to=<c@d>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120512,
    relay=mx.d. [198.51.100.7], dsn=2.0.0, stat=Sent (Ok queued as 1234)
ruleset=check_rcpt, arg1=<x@y>, relay=h [192.0.2.9], reject=550 5.7.1 <x@y>... Relaying denied
AUTH failure (LOGIN): authentication failure (-13) SASL(-13): ..., user=bob, relay=h [ip]
STARTTLS=server, error: accept failed=-1, reason=..., relay=h [ip]
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

_QID = re.compile(r"^([0-9A-Za-z]{12,16}): ")
_RELAY_IP = re.compile(r"relay=(?:[^\s,\[]*\s*)?\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_FROM = re.compile(r"^from=<?([^>,]*)>?, size=(\d+), class=-?\d+, nrcpts=(\d+)")
_STAT = re.compile(r", stat=(.*)$")
_DSN = re.compile(r", dsn=(\d\.\d{1,3}\.\d{1,3})")
_REJECT = re.compile(r"reject=(\d{3}) (\d\.\d{1,3}\.\d{1,3}) (.*)$")
_ARG1 = re.compile(r"arg1=<?([^>,]*)>?")
_AUTHID = re.compile(r"authid=([^,\s]+)")
_USER = re.compile(r"user=([^,\s]+)")
_BENIGN = (
    "STARTTLS=server, relay=",
    "STARTTLS=client, relay=",
    "STARTTLS=read",
    "STARTTLS=write",
    "starting daemon",
    "alias database",
    "/etc/mail/aliases",
    "done;",
    "clone:",
    "Milter",
    "milter",
    "lost input channel",
    "did not issue",
    "timeout waiting",
    "collect:",
    "discarded",
    "ETRN",
    "DSN:",
    "return to sender",
    "sender notify",
    "postmaster notify",
    "Authentication-Warning",
    "ruleset=check_relay",
    "AUTH=server",
    "AUTH=client",
    "tls_verify",
    "TLS",
    "headers too large",
    "Syntax error",
    "rejecting commands",
    "rejecting connections",
    "accepting connections",
    "restarting",
    "runqueue",
    "queueing",
    "message-id",
    "msgid=",
    "<",
    "Fully qualified",
    "my unqualified",
    "unable to qualify",
    "STARTTLS",
    "SMTP outgoing connect",
    "premature EOM",
    "Warning:",
    "hostname",
)


def parse(msg: str, line: str) -> Event | object | list[Event] | None:
    from maildoctor.logs.postfix import UNPARSED

    qid = ""
    m = _QID.match(msg)
    if m:
        qid = m.group(1)
        msg = msg[m.end() :]
    if msg.startswith("from="):
        f = _FROM.match(msg)
        if not f:
            return None
        r = _RELAY_IP.search(msg)
        ip = r.group(1) if r else "local"
        sender = f.group(1)
        return [Client(qid, ip, None), Sender(qid, sender, int(f.group(2)), int(f.group(3)))]
    if msg.startswith("to="):
        return _delivery(qid, msg)
    if msg.startswith("AUTH=server") and "authid=" in msg:
        a = _AUTHID.search(msg)
        r = _RELAY_IP.search(msg)
        return Client(qid, r.group(1) if r else "", a.group(1) if a else None)
    if msg.startswith("AUTH failure"):
        r = _RELAY_IP.search(msg)
        u = _USER.search(msg)
        return AuthFailure(r.group(1) if r else "", u.group(1) if u else "", "smtp", 1)
    if msg.startswith("STARTTLS=") and ", error:" in msg:
        r = _RELAY_IP.search(msg)
        direction = "in" if msg.startswith("STARTTLS=server") else "out"
        return TlsFailure(r.group(1) if r else "", direction, line)
    if msg.startswith("ruleset=") and "reject=" in msg:
        rj = _REJECT.search(msg)
        r = _RELAY_IP.search(msg)
        ip = r.group(1) if r else ""
        if not rj:
            return UNPARSED
        text = rj.group(3)
        low = text.lower()
        if "rate limit" in low or "too many" in low:
            return RateLimited(ip, "connection rate", line)
        if "size exceeds" in low:
            return SizeRejected(ip, qid, line)
        a = _ARG1.search(msg)
        stage = msg[8 : msg.find(",")]
        return Reject(
            ip,
            stage,
            f"{rj.group(1)} {rj.group(2)}",
            text,
            "",
            a.group(1) if a and stage == "check_rcpt" else "",
            qid,
        )
    if "SYSERR" in msg or "savemail panic" in msg or msg.startswith("Losing "):
        return Fault("syserr", "sendmail", line)
    if "message size" in msg and "exceeds" in msg:
        r = _RELAY_IP.search(msg)
        return SizeRejected(r.group(1) if r else "", qid, line)
    if msg.startswith("rejecting connections on daemon") and "load average" in msg:
        return RateLimited("", "load average", line)
    if "Connection rate limit exceeded" in msg or "Too many open connections" in msg:
        r = _RELAY_IP.search(msg)
        return RateLimited(r.group(1) if r else "", "connection rate", line)
    if qid and msg.startswith("done"):
        return Removed(qid)
    if msg.startswith(_BENIGN) or (qid and msg[:1].isalnum()) or "did not issue" in msg:
        return None
    return UNPARSED


def _delivery(qid: str, msg: str) -> Event | object | None:
    from maildoctor.logs.postfix import UNPARSED

    end = msg.find(", ", 3)
    s = _STAT.search(msg)
    if end < 0 or not s:
        return UNPARSED
    # One line may carry several recipients delivered together: to=<a@x>,<b@x>, delay=...
    rcpts = [r.strip().strip("<>") for r in msg[3:end].split(",") if r.strip()]
    stat = s.group(1)
    d = _DSN.search(msg)
    dsn = d.group(1) if d else ""
    if stat.startswith(("queued", "Queued")):
        return None
    reason = ""
    if stat.startswith("Sent"):
        status = "sent"
    elif stat.startswith("Deferred"):
        reason = stat[9:].strip() or stat
        status = "expired" if "Cannot send message for" in stat else "deferred"
    else:
        status, reason = "bounced", stat
    return [Delivery(qid, r, status, dsn, reason, 0.0) for r in rcpts]
