"""Reverse DNS of the domain's servers: PTR of each address, then the forward lookup of each name.

The addresses are those of every MX (or of the domain itself when it has no MX: the implicit
MX of RFC 5321 5.1) plus the sending IPs the user named. Every lookup runs at once; the number
of addresses and of PTR names followed per address is bounded.
"""

from __future__ import annotations

import asyncio

import dns.exception
import dns.reversename

from maildoctor.addresses import unreachable_kind
from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.evidence.ptr import (
    PtrEvidence,
    PtrLookup,
    PtrName,
    ServerIp,
    SkippedIp,
    normalise_ip,
)
from maildoctor.net.dns import DnsClient
from maildoctor.probes import ProbeContext, probe
from maildoctor.settings import Settings

MAX_SERVER_IPS = 32  # addresses looked at per run (MX addresses + sending IPs)
MAX_PTR_NAMES = 8  # PTR names followed forward per address (RFC 2181 allows several)


def server_ips(
    mx: MxEvidence, settings: Settings, limit: int = MAX_SERVER_IPS
) -> tuple[tuple[ServerIp, ...], tuple[SkippedIp, ...]]:
    """The distinct addresses of the domain's mail servers, with the roles each plays.

    Non-public addresses are skipped unless --allow-private: their reverse zones are not public
    and asking public blocklists about them leaks the internal plan for nothing.
    """
    roles: dict[str, list[str]] = {}

    def add(text: str, role: str) -> None:
        ip = normalise_ip(text)
        if ip is None:
            return
        held = roles.setdefault(ip, [])
        if role not in held:
            held.append(role)

    for host in mx.hosts:
        for address in host.addresses:
            add(address, f"MX {host.target}")
    if mx.mx.status is DnsStatus.NODATA:  # RFC 5321 5.1: the domain itself is the implicit MX
        for res in (mx.fallback_a, mx.fallback_aaaa):
            if res is not None and res.status is DnsStatus.NOERROR:
                for address in res.records:
                    add(address, f"implicit MX {mx.domain}")
    for address in settings.sending_ips:
        add(address, "sending IP")

    chosen: list[ServerIp] = []
    skipped: list[SkippedIp] = []
    for ip, its_roles in roles.items():
        kind = unreachable_kind(ip)
        if kind and not settings.allow_private:
            skipped.append(SkippedIp(ip, f"{kind} address, not looked up (use --allow-private)"))
        elif len(chosen) >= limit:
            skipped.append(SkippedIp(ip, f"over the bound of {limit} addresses per run"))
        else:
            chosen.append(ServerIp(ip, tuple(its_roles)))
    return tuple(chosen), tuple(skipped)


def reverse_name(ip: str) -> str:
    """1.2.3.4 -> 4.3.2.1.in-addr.arpa; IPv6 -> 32 nibbles under ip6.arpa (RFC 3596 2.5)."""
    try:
        return dns.reversename.from_address(ip).to_text().rstrip(".")
    except (dns.exception.SyntaxError, ValueError):
        return ""


def _ptr_target(record: str) -> str:
    return record.strip().rstrip(".").lower()


async def _lookup(dns_client: DnsClient, server: ServerIp) -> PtrLookup:
    rname = reverse_name(server.ip)
    ptr = await dns_client.query(rname, "PTR")
    targets: list[str] = []
    if ptr.status is DnsStatus.NOERROR:
        for record in ptr.records:
            name = _ptr_target(record)
            if name and name not in targets:
                targets.append(name)
    followed, rest = targets[:MAX_PTR_NAMES], targets[MAX_PTR_NAMES:]
    rdtype = "A" if server.version == 4 else "AAAA"
    forwards = await asyncio.gather(*(dns_client.query(n, rdtype) for n in followed))
    names = tuple(PtrName(n, fwd) for n, fwd in zip(followed, forwards, strict=True))
    return PtrLookup(server, rname, ptr, names, tuple(rest))


@probe("dns.ptr", after=("dns.mx",))
async def probe_ptr(ctx: ProbeContext, mx: MxEvidence) -> PtrEvidence:
    servers, skipped = server_ips(mx, ctx.settings)
    lookups = await asyncio.gather(*(_lookup(ctx.dns, s) for s in servers))
    return PtrEvidence(mx.domain, tuple(lookups), skipped)
