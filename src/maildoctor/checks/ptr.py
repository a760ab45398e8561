"""Reverse DNS rules: every mail server address needs a PTR that resolves back to it.

RFC 1912 2.1 asks that every host's PTR and A records match; receivers enforce it as
forward-confirmed reverse DNS ("iprev", RFC 8601 3). A DNS failure on the way is "not checked",
never "missing".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import TypedDict

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.ptr import PtrEvidence, PtrLookup
from maildoctor.report import Finding, NotChecked

CODES = ("ptr.ok", "ptr.missing", "ptr.mismatch", "ptr.generic")

_DEFINITE = (DnsStatus.NOERROR, DnsStatus.NODATA, DnsStatus.NXDOMAIN)

# Words ISPs put in the names of dynamic and end-user addresses (whole words only, and only
# left of the registrable part of the name, so "pool-party.com" itself is no hit).
GENERIC_WORDS = frozenset(
    {
        "adsl",
        "broadband",
        "cable",
        "cpe",
        "cust",
        "customer",
        "customers",
        "dhcp",
        "dial",
        "dialin",
        "dialup",
        "dip",
        "dsl",
        "dyn",
        "dynamic",
        "dynip",
        "ftth",
        "pool",
        "ppp",
        "pppoe",
        "residential",
        "sdsl",
        "unassigned",
        "vdsl",
        "xdsl",
    }
)


def _ipv4_patterns(ip: ipaddress.IPv4Address) -> list[re.Pattern[str]]:
    octets = [str(b) for b in ip.packed]
    sep = r"[^0-9]{1,3}"
    out = []
    for order in (octets, octets[::-1]):
        body = sep.join(f"0*{o}" for o in order)
        out.append(re.compile(rf"(?<![0-9]){body}(?![0-9])"))
    return out


def generic_reason(name: str, ip: str) -> str | None:
    """Why `name` looks like an ISP's generic name for `ip`, or None when it does not."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    lowered = name.lower().rstrip(".")
    if isinstance(addr, ipaddress.IPv4Address):
        if any(p.search(lowered) for p in _ipv4_patterns(addr)):
            return f"it contains the address {ip}"
        if f"{int(addr):08x}" in lowered or str(int(addr)) in lowered:
            return f"it contains the address {ip} in hexadecimal or decimal"
    else:
        flat = re.sub(r"[^0-9a-f]", "", lowered)
        nibbles = addr.exploded.replace(":", "")
        forms = {addr.compressed.replace(":", "-"), addr.exploded.replace(":", "-")}
        # the interface identifier (low 64 bits) written out is the tell-tale of a pool name
        if any(f in lowered for f in forms) or (nibbles[16:] != "0" * 16 and nibbles[16:] in flat):
            return f"it contains the address {ip}"
    labels = lowered.split(".")
    words = {w for label in labels[:-2] for w in re.findall(r"[a-z]+", label)}
    hits = sorted(words & GENERIC_WORDS)
    if hits:
        return f"it contains {', '.join(repr(h) for h in hits)}"
    return None


def _suggested(lk: PtrLookup, domain: str) -> str:
    for role in lk.server.roles:
        if role.startswith("MX "):
            return role.removeprefix("MX ")
    return f"mail.{domain}"


def _forward_type(lk: PtrLookup) -> str:
    return "A" if lk.server.version == 4 else "AAAA"


def _chain(lk: PtrLookup) -> str:
    parts = [f"{lk.reverse_name} PTR {', '.join(lk.ptr_names)}"]
    parts += [n.forward.describe() for n in lk.names]
    if lk.not_followed:
        parts.append(f"{len(lk.not_followed)} more PTR names not followed")
    return "; ".join(parts)


class _Common(TypedDict):
    ip: str
    roles: str
    reverse_name: str
    suggested: str
    forward_type: str


def _common(lk: PtrLookup, domain: str) -> _Common:
    return {
        "ip": lk.ip,
        "roles": ", ".join(lk.server.roles) or "server",
        "reverse_name": lk.reverse_name,
        "suggested": _suggested(lk, domain),
        "forward_type": _forward_type(lk),
    }


@check(needs=("dns.ptr",), codes=CODES)
def reverse_dns(ctx: CheckContext, ev: PtrEvidence) -> Iterator[Finding | NotChecked]:
    if ev.skipped:
        yield NotChecked(
            "ptr: reverse DNS of " + ", ".join(s.ip for s in ev.skipped),
            "; ".join(f"{s.ip}: {s.reason}" for s in ev.skipped),
        )
    if not ev.lookups:
        if not ev.skipped:
            yield NotChecked("ptr: reverse DNS", f"{ev.domain} has no server address to check")
        return
    good: list[str] = []
    for lk in ev.lookups:
        subject = lk.ip
        status = lk.ptr.status
        if status not in _DEFINITE:
            yield NotChecked(f"ptr: reverse DNS of {lk.ip}", lk.ptr.describe())
            continue
        if status is not DnsStatus.NOERROR or not lk.ptr_names:
            # RFC 1912 2.1: every host reachable from the internet should have a PTR
            yield ctx.finding(
                "ptr.missing",
                subject=subject,
                evidence=lk.ptr.describe(),
                status=status.value if status is not DnsStatus.NOERROR else "no usable name",
                **_common(lk, ev.domain),
            )
            continue
        confirmed = lk.confirmed
        if not confirmed:
            unsure = [n for n in lk.names if n.forward.status not in _DEFINITE]
            if unsure:
                yield NotChecked(
                    f"ptr: forward confirmation of {lk.ip}",
                    "; ".join(n.forward.describe() for n in unsure),
                )
                continue
            first = lk.names[0] if lk.names else None
            forward = "; ".join(n.forward.describe() for n in lk.names) or "not followed"
            yield ctx.finding(
                "ptr.mismatch",
                subject=subject,
                evidence=_chain(lk),
                names=", ".join(lk.ptr_names),
                forward=forward,
                name=first.name if first else lk.ptr_names[0],
                **_common(lk, ev.domain),
            )
            continue
        reasons = {name: generic_reason(name, lk.ip) for name in confirmed}
        clean = [name for name, why in reasons.items() if why is None]
        if not clean:
            name = confirmed[0]
            yield ctx.finding(
                "ptr.generic",
                subject=subject,
                evidence=_chain(lk),
                name=name,
                why=reasons[name] or "",
                **_common(lk, ev.domain),
            )
            continue
        good.append(f"{lk.ip} -> {clean[0]} -> {lk.ip}")
    if good:
        yield ctx.finding("ptr.ok", subject=ev.domain, evidence="; ".join(good))
