"""Whether the domain exists and the resolver answers, read from the MX query."""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.report import Finding


@check(needs=("dns.mx",), codes=("dns.nxdomain", "dns.servfail", "dns.resolver_unreachable"))
def domain_resolves(ctx: CheckContext, ev: MxEvidence) -> Iterator[Finding]:
    status = ev.mx.status
    if status is DnsStatus.NXDOMAIN:
        yield ctx.finding(
            "dns.nxdomain", subject=ev.domain, evidence=ev.mx.describe(), domain=ev.domain
        )
    elif status is DnsStatus.SERVFAIL:
        yield ctx.finding(
            "dns.servfail", subject=ev.domain, evidence=ev.mx.describe(), domain=ev.domain
        )
    elif status in (DnsStatus.TIMEOUT, DnsStatus.ERROR):
        yield ctx.finding(
            "dns.resolver_unreachable",
            subject=ctx.settings.describe_resolver(),
            evidence=ev.mx.describe(),
            resolver=ctx.settings.describe_resolver(),
        )
