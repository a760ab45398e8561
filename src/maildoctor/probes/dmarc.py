"""The DMARC probe: policy discovery (RFC 7489 6.6.3) and report authorisation (RFC 7489 7.1).

_dmarc.<domain> and, for a subdomain, _dmarc.<organizational domain> are asked at once (the
second is needed whenever the first has no record, and costs one query); then, for the record
that applies, every rua/ruf destination in another organizational domain is asked whether it
accepts the reports.
"""

from __future__ import annotations

import asyncio

from maildoctor.evidence.dmarc import DmarcEvidence, ReportAuthorization
from maildoctor.probes import ProbeContext, probe
from maildoctor.records.dmarc import (
    applicable,
    dmarc_records,
    external_destinations,
    organizational_domain,
    parse_record,
    report_authorization_name,
)

MAX_DESTINATIONS = 10  # external report domains asked about in one run


@probe("dns.dmarc")
async def probe_dmarc(ctx: ProbeContext) -> DmarcEvidence:
    domain = ctx.target.lower().rstrip(".")
    org_domain = organizational_domain(domain)
    # The apex MX is the MX probe's own query: the run's DNS cache answers it once for both.
    queries = [ctx.dns.query(f"_dmarc.{domain}", "TXT"), ctx.dns.query(domain, "MX")]
    if org_domain != domain:
        queries.append(ctx.dns.query(f"_dmarc.{org_domain}", "TXT"))
    own, apex, *rest = await asyncio.gather(*queries)
    org = rest[0] if rest else None
    source = applicable(own, org)
    authorizations: tuple[ReportAuthorization, ...] = ()
    unchecked: tuple[str, ...] = ()
    records = dmarc_records(source)
    if source is not None and len(records) == 1:
        policy_domain = domain if source is own else org_domain
        dests = external_destinations(parse_record(records[0]), policy_domain)
        asked, unchecked = dests[:MAX_DESTINATIONS], dests[MAX_DESTINATIONS:]
        answers = await asyncio.gather(
            *(ctx.dns.query(report_authorization_name(policy_domain, d), "TXT") for d in asked)
        )
        authorizations = tuple(
            ReportAuthorization(policy_domain, d, txt)
            for d, txt in zip(asked, answers, strict=True)
        )
    return DmarcEvidence(domain, org_domain, own, apex, org, authorizations, unchecked)
