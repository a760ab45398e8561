"""Match a pasted text against the knowledge: most specific first, several when several apply.

Order (RFC 3463 2 reads a code from class to subject to detail; we answer the other way):
provider and client texts matched by their phrases, then each enhanced code's detail entry
(X.7.26), its subject (X.7.X), the basic reply code (550), and last the reply class (5XX) of a
reply code without an entry of its own.
A Gmail 5.7.26 text so comes before the generic 5.7.26, which comes before the 5.7.X subject,
which comes before 550.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from maildoctor.explain.codes import Parsed, parse
from maildoctor.explain.knowledge import PLACEHOLDERS, Entry, Tier, load

MAX_TEXT_MATCHES = 8
# The sending IP as rejections quote it: "[192.0.2.1]", "Client host [..]", "ip=..".
_IP_IN_TEXT = re.compile(
    r"(?:\[|\(|client host |ip[=: ]\s*|from )"
    r"(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7})"
    r"(?=[\]\),;:\s]|$)",
    re.IGNORECASE,
)
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$", re.I
)


@dataclass(frozen=True)
class Match:
    entry: Entry
    tier: Tier
    code: str | None = None  # the code of the text this reading is about (code tiers)
    matched: str | None = None  # the phrase that matched (text tier)
    values: Mapping[str, str] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        """Fill {domain}, {ip}, {host} from the text, or with documentation examples."""
        for name, default in PLACEHOLDERS.items():
            text = text.replace("{" + name + "}", self.values.get(name, default))
        return text


@dataclass(frozen=True)
class Explanation:
    parsed: Parsed
    matches: tuple[Match, ...]
    unregistered: tuple[str, ...]  # codes found that have no entry of their own

    @property
    def known(self) -> bool:
        return bool(self.matches)


@cache
def _index() -> tuple[tuple[Entry, ...], dict[str, Entry]]:
    text_entries: list[Entry] = []
    by_code: dict[str, Entry] = {}
    for entry in load():
        if entry.patterns:
            text_entries.append(entry)
        else:
            by_code[entry.basic or entry.enhanced or ""] = entry
    return tuple(text_entries), by_code


def _valid(name: str, value: str) -> str | None:
    value = value.strip().strip("[]<>").rstrip(".").lower()
    if name == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return None
    return value if _DOMAIN_RE.match(value) else None


_LOCAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not a LAN, loopback or special address (documentation ranges pass: examples use them)."""
    if ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast:
        return False
    return not any(ip.version == n.version and ip in n for n in _LOCAL_NETS)


def _text_ip(parsed: Parsed) -> str | None:
    """The first public address the text quotes, for the check commands' --sending-ip."""
    for m in _IP_IN_TEXT.finditer(parsed.flat[:8192]):
        value = _valid("ip", m.group(1))
        if value is not None and _public(ipaddress.ip_address(value)):
            return value
    return None


def _text_match(entry: Entry, parsed: Parsed) -> Match | None:
    for pattern in entry.patterns:
        for haystack in (parsed.joined, parsed.flat):
            m = pattern.search(haystack)
            if m is None:
                continue
            values = {}
            for name, raw in m.groupdict().items():
                good = _valid(name, raw) if raw else None
                if good is not None:
                    values[name] = good
            return Match(entry, Tier.TEXT, matched=m.group(0)[:200], values=values)
    return None


def _position(match: Match, parsed: Parsed) -> int:
    pos = parsed.joined.find(match.matched or "")
    return pos if pos >= 0 else len(parsed.joined)


def _code_matches(parsed: Parsed, by_code: Mapping[str, Entry]) -> Iterable[Match]:
    for code in parsed.enhanced:
        _, subject, detail = code.split(".")
        if (e := by_code.get(f"X.{subject}.{detail}")) is not None:
            yield Match(e, Tier.DETAIL, code=code)
    for code in parsed.enhanced:
        if (e := by_code.get(f"X.{code.split('.')[1]}.X")) is not None:
            yield Match(e, Tier.SUBJECT, code=code)
    for code in parsed.basic:
        if (e := by_code.get(code)) is not None:
            yield Match(e, Tier.BASIC, code=code)
    for code in parsed.basic:
        if code not in by_code and (e := by_code.get(f"{code[0]}XX")) is not None:
            yield Match(e, Tier.CLASS, code=code)


def _with_ip(m: Match, ip: str) -> Match:
    return Match(m.entry, m.tier, m.code, m.matched, {**m.values, "ip": ip})


def explain(text: str) -> Explanation:
    parsed = parse(text)
    text_entries, by_code = _index()
    found = [m for e in text_entries if (m := _text_match(e, parsed)) is not None]
    # A fallback (a generic "blocked using X") gives way to any specific entry of its family.
    specific = {m.entry.family for m in found if not m.entry.fallback}
    found = [m for m in found if not (m.entry.fallback and m.entry.family in specific)]
    found.sort(key=lambda m: (-m.entry.priority, _position(m, parsed)))
    ip = _text_ip(parsed)
    if ip is not None:
        found = [m if "ip" in m.values else _with_ip(m, ip) for m in found]
    matches = found[:MAX_TEXT_MATCHES]
    seen = {m.entry.id for m in matches}
    detailed: set[str] = set()
    for m in _code_matches(parsed, by_code):
        # The subject adds nothing to a code whose detail is known.
        if m.entry.id in seen or (m.tier is Tier.SUBJECT and m.code in detailed):
            continue
        if m.tier is Tier.DETAIL and m.code is not None:
            detailed.add(m.code)
        seen.add(m.entry.id)
        matches.append(m if ip is None else _with_ip(m, ip))
    unregistered = tuple(
        c for c in parsed.enhanced if f"X.{c.split('.', 1)[1]}" not in by_code
    ) + tuple(c for c in parsed.basic if c not in by_code)
    return Explanation(parsed, tuple(matches), unregistered)
