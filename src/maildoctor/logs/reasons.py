"""Bounce, deferral and reject replies -> a normalised cause ("user unknown", "mailbox full"...).

Remote servers word the same cause a hundred ways; what an admin needs is how many messages
failed for each cause. The enhanced status code (RFC 3463) decides where it is specific,
the words of the reply otherwise.
"""

from __future__ import annotations

import re

_DNSBL = re.compile(
    r"(?:blocked using|listed (?:at|in|on|by)|(?:black|block) ?list(?:ed)? (?:at|by)|"
    r"\bis in an? (?:black|block) ?list at|rbl:?|dnsbl:?)"
    r"\s+\[?(?P<zone>[a-z0-9][a-z0-9.-]*\.[a-z]{2,})",
    re.I,
)
_KNOWN_LISTS = (
    "spamhaus",
    "spamcop",
    "barracuda",
    "sorbs",
    "uceprotect",
    "psbl",
    "mailspike",
    "abuseat",
    "cbl.",
    "senderscore",
    "blocklist.de",
    "0spam",
    "truncate.gbudb",
)
_DSN = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")

# (cause, words) in order: the first match wins. RFC 3463 3.x for the status codes.
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # RFC 3463 3.5 X.4.6: the MX points back at this server, which does not take the domain.
    ("mail loop", ("loops back to myself", "mail loop", "routing loop", "too many hops")),
    ("greylisted", ("greylist", "graylist", "grey-list", "gray-list")),
    ("DMARC rejection", ("dmarc",)),
    ("SPF failure", ("spf ", "spf-", "spf:", "sender policy framework", "5.7.23")),
    ("DKIM failure", ("dkim",)),
    ("relay denied", ("relay access denied", "relaying denied", "relay not permitted")),
    (
        "mailbox full",
        (
            "mailbox full",
            "mailbox is full",
            "quota exceeded",
            "over quota",
            "overquota",
            "insufficient system storage",
            "exceeded storage allocation",
            "mailbox size limit",
        ),
    ),
    (
        "message too large",
        (
            "message size exceeds",
            "message too big",
            "message file too big",
            "too large",
            "size exceeds",
            "size limit exceeded",
        ),
    ),
    (
        "user unknown",
        (
            "user unknown",
            "unknown user",
            "no such user",
            "user doesn't exist",
            "user does not exist",
            "does not exist",
            "unknown recipient",
            "invalid recipient",
            "recipient not found",
            "unrouteable address",
            "no mailbox",
            "mailbox unavailable",
            "address rejected: user",
            "no such recipient",
            "addressee unknown",
            "user not found",
        ),
    ),
    ("mailbox disabled", ("mailbox disabled", "account disabled", "account is disabled")),
    ("TLS failure", ("tls", "ssl", "certificate", "handshake")),
    ("connection timed out", ("timed out", "timeout")),
    ("connection refused", ("connection refused",)),
    (
        "host or domain not found",
        (
            "host not found",
            "name service error",
            "domain not found",
            "host or domain name not",
            "no mx",
            "nxdomain",
            "host unknown",
            "unknown host",
            "no route to host",
            "domain does not accept mail",
            "nullmx",
            "null mx",
        ),
    ),
    (
        "no reverse DNS / PTR",
        (
            "reverse dns",
            "reverse hostname",
            "ptr record",
            "cannot find your hostname",
            "no ptr",
            "5.7.25",
        ),
    ),
    (
        "rate limited",
        (
            "rate limit",
            "ratelimit",
            "rate overlimit",
            "too many",
            "throttl",
            "unusual rate",
            "4.7.28",
            "try again later, closing connection",
        ),
    ),
    (
        "spam / content rejected",
        ("spam", "content rejected", "virus", "malware", "blocked content"),
    ),
    ("authentication required", ("authentication required", "must issue", "5.7.0 authentication")),
    (
        "connection lost",
        ("lost connection", "connection reset", "broken pipe", "conversation with"),
    ),
)
# Status codes specific enough to decide alone (RFC 3463 3.2, 3.3, 3.4).
_BY_DSN = {
    "5.1.1": "user unknown",
    "5.1.10": "user unknown",
    "4.2.2": "mailbox full",
    "5.2.2": "mailbox full",
    "5.2.3": "message too large",
    "5.3.4": "message too large",
    "5.7.26": "DMARC rejection",
    "5.7.23": "SPF failure",
    "5.7.25": "no reverse DNS / PTR",
    "5.4.4": "host or domain not found",
    "4.4.1": "connection refused or timed out",
    "4.4.2": "connection lost",
    "4.4.7": "expired in queue",
    "5.4.6": "mail loop",
}


def dnsbl_zone(text: str) -> str | None:
    """The DNS blocklist a reply names ("blocked using zen.spamhaus.org" -> zen.spamhaus.org)."""
    m = _DNSBL.search(text)
    if m:
        return m.group("zone").lower().rstrip(".")
    low = text.lower()
    for name in _KNOWN_LISTS:
        if name in low:
            return name.rstrip(".")
    return None


_ANGLE = re.compile(r"<[^>]*>")
_CACHE: dict[tuple[str, str], str] = {}


def normalise(text: str, dsn: str = "") -> str:
    """One cause for a reply text (and its enhanced status code when the log gives it).

    Cached on the text without its <addresses>: the same reply for another recipient."""
    if text[:1] == "<":  # "<a@b>: Recipient address rejected: ..."
        end = text.find(">: ")
        if end > 0:
            text = text[end + 3 :]
    key = (_ANGLE.sub("", text) if "<" in text else text, dsn)
    cause = _CACHE.get(key)
    if cause is None:
        if len(_CACHE) > 20_000:
            _CACHE.clear()
        cause = _CACHE[key] = _normalise(key[0], dsn)
    return cause


def _normalise(text: str, dsn: str) -> str:
    zone = dnsbl_zone(text)
    if zone is not None:
        return f"blocked by DNSBL {zone}"
    low = text.lower()
    for cause, words in _RULES:
        if any(w in low for w in words):
            if cause == "rate limited" and "too many recipients" in low:
                continue
            return cause
    if not dsn:
        m = _DSN.search(text)
        dsn = m.group(0) if m else ""
    if dsn in _BY_DSN:
        return _BY_DSN[dsn]
    if dsn:
        return f"other ({dsn})"
    return "other"
