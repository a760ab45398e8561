"""DNS blocklists: every server address and the domain against the lists, test points first.

One round asks, all at once, every list's RFC 5782 5 test points and every (address, list) and
(domain, domain list) pair; a second round asks the TXT reason of each listing on a list that
passed its health check. Which lists serve IPv6: the table in maildoctor.evidence.dnsbl
(IPv6 addresses are asked only of those). Bounded: 5 default lists plus MAX_EXTRA_LISTS, and
probes.ptr.MAX_SERVER_IPS addresses: at most 13 x 3 test points + 13 x 32 questions, plus one
TXT per trusted listing; 32 in flight at once (the DnsClient's bound). A typical domain (one
address, the default lists) costs 13 test points + 5 questions in one round trip.
"""

from __future__ import annotations

import asyncio

from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.evidence.dnsbl import (
    DEFAULT_DOMAIN_LISTS,
    DEFAULT_IP_LISTS,
    Blocklist,
    DnsblAnswer,
    DnsblEvidence,
    Health,
    ListHealth,
    ListKind,
    blocklist,
    is_loopback_code,
)
from maildoctor.net.dns import DnsClient
from maildoctor.probes import ProbeContext, probe
from maildoctor.probes.ptr import reverse_name, server_ips

MAX_EXTRA_LISTS = 8  # --dnsbl zones asked besides the defaults


def query_name(bl: Blocklist, item: str) -> str:
    """RFC 5782 2.1 (IPv4: octets reversed), 2.4 (IPv6: nibbles reversed), 2.3 (a domain)."""
    if bl.kind is ListKind.DOMAIN:
        return f"{item.rstrip('.').lower()}.{bl.zone}"
    rname = reverse_name(item)
    prefix = rname.removesuffix(".in-addr.arpa").removesuffix(".ip6.arpa")
    return f"{prefix}.{bl.zone}"


async def _ask(dns_client: DnsClient, bl: Blocklist, item: str) -> DnsblAnswer:
    name = query_name(bl, item)
    return DnsblAnswer(bl.zone, item, name, await dns_client.query(name, "A"))


async def _health(dns_client: DnsClient, bl: Blocklist) -> ListHealth:
    answers = await asyncio.gather(
        *(_ask(dns_client, bl, t) for t in (*bl.listed_tests, bl.unlisted_test))
    )
    return ListHealth(bl.zone, tuple(answers[:-1]), answers[-1])


async def _with_reason(
    dns_client: DnsClient, ans: DnsblAnswer, usable: dict[str, bool]
) -> DnsblAnswer:
    if not usable.get(ans.zone) or not any(is_loopback_code(c) for c in ans.codes):
        return ans
    txt = await dns_client.query(ans.name, "TXT")  # RFC 5782 2.1: the reason, for humans
    return DnsblAnswer(ans.zone, ans.item, ans.name, ans.a, txt)


def zones_to_ask(extra: tuple[str, ...]) -> tuple[str, ...]:
    """The default lists, then at most MAX_EXTRA_LISTS more, each once."""
    zones: list[str] = [*DEFAULT_IP_LISTS, *DEFAULT_DOMAIN_LISTS]
    limit = len(zones) + MAX_EXTRA_LISTS
    for given in extra:
        zone = given.lower().rstrip(".")
        if len(zones) >= limit:
            break
        if zone and zone not in zones:
            zones.append(zone)
    return tuple(zones)


@probe("dns.dnsbl", after=("dns.mx",))
async def probe_dnsbl(ctx: ProbeContext, mx: MxEvidence) -> DnsblEvidence:
    servers, skipped = server_ips(mx, ctx.settings)
    zones = zones_to_ask(ctx.settings.dnsbl_zones)
    given = dict.fromkeys(z.lower().rstrip(".") for z in ctx.settings.dnsbl_zones)
    over_bound = tuple(z for z in given if z and z not in zones)
    lists = [blocklist(z) for z in zones]
    domain = mx.domain
    pairs: list[tuple[Blocklist, str]] = []
    ipv4_only: list[str] = []
    has_v6 = any(s.version == 6 for s in servers)
    for bl in lists:
        if bl.kind is ListKind.DOMAIN:
            # a domain that does not exist cannot be listed: spare the lists the question
            if mx.mx.status is not DnsStatus.NXDOMAIN:
                pairs.append((bl, domain))
            continue
        if has_v6 and not bl.ipv6:
            ipv4_only.append(bl.zone)
        for server in servers:
            if server.version == 4 or bl.ipv6:
                pairs.append((bl, server.ip))
    # only the lists with something to ask about get their test points asked
    lists = [bl for bl in lists if any(asked is bl for asked, _ in pairs)]
    if not pairs:  # nothing to ask about (no address, domain gone): spare the lists
        return DnsblEvidence(domain, (), (), (), servers, skipped, over_bound=over_bound)
    health, answers = await asyncio.gather(
        asyncio.gather(*(_health(ctx.dns, bl) for bl in lists)),
        asyncio.gather(*(_ask(ctx.dns, bl, item) for bl, item in pairs)),
    )
    usable = {
        h.zone: h.verdict(bl)[0] is Health.USABLE for h, bl in zip(health, lists, strict=True)
    }
    answers = await asyncio.gather(*(_with_reason(ctx.dns, a, usable) for a in answers))
    return DnsblEvidence(
        domain,
        tuple(bl.zone for bl in lists),
        tuple(health),
        tuple(answers),
        servers,
        skipped,
        tuple(ipv4_only),
        resolver_answered=mx.mx.status not in (DnsStatus.TIMEOUT, DnsStatus.ERROR),
        over_bound=over_bound,
    )
