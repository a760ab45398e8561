"""The MX probe: the domain's MX set and the addresses of every target, asked concurrently."""

from __future__ import annotations

import asyncio

from maildoctor.addresses import parse_ip
from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence, MxHost
from maildoctor.net.dns import DnsClient
from maildoctor.probes import ProbeContext, probe


def parse_mx(text: str) -> tuple[int, str] | None:
    pref, _, target = text.strip().partition(" ")
    if not pref.isdigit() or not target:
        return None
    return int(pref), target.strip().rstrip(".").lower()


async def _host(dns: DnsClient, preference: int, target: str) -> MxHost:
    if target == "" or parse_ip(target) is not None:
        return MxHost(preference, target, None, None)
    a, aaaa = await asyncio.gather(dns.query(target, "A"), dns.query(target, "AAAA"))
    return MxHost(preference, target, a, aaaa)


@probe("dns.mx")
async def probe_mx(ctx: ProbeContext) -> MxEvidence:
    dns, domain = ctx.dns, ctx.target
    mx = await dns.query(domain, "MX")
    fallback_a: DnsResult | None = None
    fallback_aaaa: DnsResult | None = None
    hosts: tuple[MxHost, ...] = ()
    if mx.status is DnsStatus.NODATA:  # RFC 5321 5.1: the implicit MX is the domain itself
        fallback_a, fallback_aaaa = await asyncio.gather(
            dns.query(domain, "A"), dns.query(domain, "AAAA")
        )
    elif mx.status is DnsStatus.NOERROR:
        parsed = [p for p in (parse_mx(r) for r in mx.records) if p is not None]
        hosts = tuple(await asyncio.gather(*(_host(dns, p, t) for p, t in sorted(parsed))))
    return MxEvidence(domain, mx, hosts, fallback_a=fallback_a, fallback_aaaa=fallback_aaaa)
