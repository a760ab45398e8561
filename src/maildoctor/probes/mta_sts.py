"""MTA-STS and TLS-RPT probes: the _mta-sts TXT, the HTTPS policy, the _smtp._tls TXT."""

from __future__ import annotations

import asyncio

from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.evidence.http import HttpFetch
from maildoctor.evidence.mta_sts import MtaStsEvidence, TlsRptEvidence
from maildoctor.net import https
from maildoctor.probes import ProbeContext, probe
from maildoctor.records.mta_sts import POLICY_MAX_BYTES

POLICY_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 3.3


@probe("dns.mta_sts", after=("dns.mx",))
async def probe_mta_sts(ctx: ProbeContext, mx: MxEvidence) -> MtaStsEvidence:
    domain = ctx.target
    host = f"mta-sts.{domain}"  # RFC 8461 3.3: the policy host
    txt, a, aaaa = await asyncio.gather(
        ctx.dns.query(f"_mta-sts.{domain}", "TXT"),
        ctx.dns.query(host, "A"),
        ctx.dns.query(host, "AAAA"),
    )
    addresses = [r for res in (a, aaaa) if res.status is DnsStatus.NOERROR for r in res.records]
    policy: HttpFetch | None = None
    # Fetched when the TXT exists, and also without it when the policy host has an address,
    # so that "policy published but TXT forgotten" can be told apart from "no MTA-STS".
    if addresses:
        policy = await https.fetch(
            host,
            POLICY_PATH,
            addresses,
            settings=ctx.settings,
            limits=ctx.limits,
            max_bytes=POLICY_MAX_BYTES,
        )
    return MtaStsEvidence(
        domain=domain,
        txt=txt,
        policy_host=host,
        policy_a=a,
        policy_aaaa=aaaa,
        policy=policy,
        mx_status=mx.mx.status,
        mx_hosts=tuple(h.target for h in mx.hosts if h.target),
    )


@probe("dns.tlsrpt", after=("dns.mx",))
async def probe_tlsrpt(ctx: ProbeContext, mx: MxEvidence) -> TlsRptEvidence:
    # RFC 8460 3: the policy lives at _smtp._tls.<domain>
    txt = await ctx.dns.query(f"_smtp._tls.{ctx.target}", "TXT")
    return TlsRptEvidence(
        ctx.target, txt, mx.mx.status, tuple(h.target for h in mx.hosts if h.target)
    )
