"""The SPF probe: the domain's TXT records, the whole lookup tree, check_host() per server.

The servers are the addresses of every MX (or of the domain itself when it has no MX, the
implicit MX of RFC 5321 5.1) and the --sending-ip addresses, each evaluated with the identity
postmaster@DOMAIN (MAIL FROM) and HELO DOMAIN. Every evaluation goes through the run's DNS
client, so the tree is fetched once and shared; the evaluator bounds its own queries.
"""

from __future__ import annotations

import asyncio

from maildoctor.addresses import parse_ip, unreachable_kind
from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.evidence.spf import SpfEvidence, SpfServerCheck
from maildoctor.probes import ProbeContext, probe
from maildoctor.records.spf import select_records
from maildoctor.records.spf_eval import check_host, walk_spf
from maildoctor.settings import Settings

MAX_SERVERS = 16  # addresses evaluated per run (MX addresses + sending IPs)


def spf_servers(mx: MxEvidence, settings: Settings) -> tuple[list[tuple[str, str]], list[str]]:
    """(address, source) of the servers to evaluate, and the ones skipped with the reason."""
    found: dict[str, str] = {}

    def add(text: str, source: str) -> None:
        ip = parse_ip(text)
        if ip is not None:
            found.setdefault(str(ip), source)

    for address in settings.sending_ips:
        add(address, "--sending-ip")
    for host in mx.hosts:
        for address in host.addresses:
            add(address, f"MX {host.target}")
    if mx.mx.status is DnsStatus.NODATA:  # RFC 5321 5.1: the domain itself is the implicit MX
        for res in (mx.fallback_a, mx.fallback_aaaa):
            if res is not None and res.status is DnsStatus.NOERROR:
                for address in res.records:
                    add(address, f"implicit MX {mx.domain}")
    chosen: list[tuple[str, str]] = []
    skipped: list[str] = []
    for ip, source in found.items():
        kind = unreachable_kind(ip)
        if kind and not settings.allow_private and source != "--sending-ip":
            skipped.append(f"{ip}: {kind} address, not evaluated (use --allow-private)")
        elif len(chosen) >= MAX_SERVERS:
            skipped.append(f"{ip}: over the bound of {MAX_SERVERS} addresses per run")
        else:
            chosen.append((ip, source))
    return chosen, skipped


@probe("dns.spf", after=("dns.mx",))
async def probe_spf(ctx: ProbeContext, mx: MxEvidence) -> SpfEvidence:
    domain, lookup = ctx.target, ctx.dns.query
    txt = await lookup(domain, "TXT")
    records = select_records(txt.records) if txt.status is DnsStatus.NOERROR else ()
    if len(records) != 1:
        return SpfEvidence(domain, txt, records, None)
    servers, skipped = spf_servers(mx, ctx.settings)
    sender = f"postmaster@{domain}"
    walk, *results = await asyncio.gather(
        walk_spf(lookup, domain, sender),
        *(check_host(lookup, ip, domain, sender, domain) for ip, _ in servers),
    )
    checks = tuple(
        SpfServerCheck(ip, source, ev) for (ip, source), ev in zip(servers, results, strict=True)
    )
    return SpfEvidence(domain, txt, records, walk, checks, tuple(skipped))
