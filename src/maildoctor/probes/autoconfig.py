"""Client autoconfiguration probe: what a mail client finds when it sets up an account.

RFC 6186 / RFC 8314 5.1 SRV records, Thunderbird's autoconfig URL and Outlook's autodiscover
(the name autodiscover.<domain> and the _autodiscover._tcp SRV). An HTTPS endpoint is fetched
only when its name has an address; each fetch is bounded (net/https.py), a few redirects at
most are followed, as clients do, and only to https:// URLs.
"""

from __future__ import annotations

import asyncio
import time

from maildoctor.evidence.autoconfig import (
    AUTODISCOVER_SRV,
    SRV_SERVICES,
    AutoconfigEvidence,
    HostLookup,
    WebEndpoint,
    parse_srv,
)
from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.evidence.http import HttpFetch
from maildoctor.net import https
from maildoctor.probes import ProbeContext, probe
from maildoctor.records.autoconfig import autodiscover_request

THUNDERBIRD_PATH = "/mail/config-v1.1.xml"
AUTODISCOVER_PATH = "/autodiscover/autodiscover.xml"
MAX_REDIRECTS = 2
MAX_BYTES = 64 * 1024
CLIENT_HOSTS = ("mail", "imap", "smtp")
MAX_SRV_TARGETS = 6  # distinct SRV target names looked up


async def _lookup(ctx: ProbeContext, name: str) -> HostLookup:
    a, aaaa = await asyncio.gather(ctx.dns.query(name, "A"), ctx.dns.query(name, "AAAA"))
    return HostLookup(name, a, aaaa)


def _split_url(url: str) -> tuple[str, int, str] | None:
    """(host, port, path) of an https:// URL, None for anything else."""
    if not url.lower().startswith("https://"):
        return None
    rest = url[8:]
    hostport, slash, path = rest.partition("/")
    host, _, port_text = hostport.partition(":")
    if not host or "@" in hostport or (port_text and not port_text.isdigit()):
        return None
    port = int(port_text) if port_text else 443
    if not 0 < port < 65536:
        return None
    return host.lower().rstrip("."), port, slash + path if slash else "/"


async def _endpoint(
    ctx: ProbeContext,
    kind: str,
    lookup: HostLookup,
    port: int,
    path: str,
    method: str,
    body: bytes = b"",
) -> WebEndpoint:
    if not lookup.addresses:
        return WebEndpoint(kind, lookup, ())
    fetches: list[HttpFetch] = []
    host, addresses = lookup.name, lookup.addresses
    # one budget for the request and its redirects: an endpoint never costs more than this
    deadline = time.monotonic() + 2 * ctx.settings.step_timeout
    for _ in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        got = await https.fetch(
            host,
            path,
            addresses,
            settings=ctx.settings,
            limits=ctx.limits,
            port=port,
            method=method,
            body=body,
            content_type="text/xml" if body else "",
            max_bytes=MAX_BYTES,
            total_timeout=remaining,
        )
        fetches.append(got)
        status = got.status or 0
        target = _split_url(got.location or "") if 300 <= status < 400 else None
        if target is None:
            break
        host, port, path = target
        addresses = (await _lookup(ctx, host)).addresses
    return WebEndpoint(kind, lookup, tuple(fetches))


@probe("dns.autoconfig", after=("dns.mx",))
async def probe_autoconfig(ctx: ProbeContext, mx: MxEvidence) -> AutoconfigEvidence:
    domain = ctx.target
    srv_names = [f"{label}.{domain}" for label, *_ in SRV_SERVICES]
    answers = await asyncio.gather(
        *(ctx.dns.query(n, "SRV") for n in srv_names),
        ctx.dns.query(f"{AUTODISCOVER_SRV}.{domain}", "SRV"),
    )
    srv, ad_srv = tuple(answers[:-1]), answers[-1]
    lookups = await asyncio.gather(
        _lookup(ctx, f"autoconfig.{domain}"),
        _lookup(ctx, f"autodiscover.{domain}"),
        *(_lookup(ctx, f"{h}.{domain}") for h in CLIENT_HOSTS),
    )
    autoconfig_host, autodiscover_host, hosts = lookups[0], lookups[1], tuple(lookups[2:])
    email = f"postmaster@{domain}"
    jobs = [
        _endpoint(
            ctx,
            "autoconfig",
            autoconfig_host,
            443,
            f"{THUNDERBIRD_PATH}?emailaddress=postmaster%40{domain}",
            "GET",
        ),
        _endpoint(
            ctx,
            "autodiscover",
            autodiscover_host,
            443,
            AUTODISCOVER_PATH,
            "POST",
            autodiscover_request(email),
        ),
    ]
    if ad_srv.status is DnsStatus.NOERROR:
        ad_targets = sorted(
            (t for t in (parse_srv(r) for r in ad_srv.records) if t is not None and t.target),
            key=lambda t: (t.priority, -t.weight),
        )
        if ad_targets and ad_targets[0].target != f"autodiscover.{domain}":
            first = ad_targets[0]
            jobs.append(
                _endpoint(
                    ctx,
                    "autodiscover-srv",
                    await _lookup(ctx, first.target),
                    first.port,
                    AUTODISCOVER_PATH,
                    "POST",
                    autodiscover_request(email),
                )
            )
    names = dict.fromkeys(
        t.target
        for res in srv
        if res.status is DnsStatus.NOERROR
        for t in (parse_srv(r) for r in res.records[:10])
        if t is not None and t.target
    )
    # the run's DNS cache answers names already asked (mail.<domain>...) without a query
    found_targets, found_endpoints = await asyncio.gather(
        asyncio.gather(*(_lookup(ctx, n) for n in list(names)[:MAX_SRV_TARGETS])),
        asyncio.gather(*jobs),
    )
    targets, endpoints = tuple(found_targets), tuple(found_endpoints)
    return AutoconfigEvidence(
        domain=domain,
        srv=srv,
        autodiscover_srv=ad_srv,
        endpoints=endpoints,
        hosts=hosts,
        mx_hosts=tuple(h.target for h in mx.hosts if h.target),
        mx_status=mx.mx.status,
        targets=targets,
    )
