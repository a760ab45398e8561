"""Evidence for MTA-STS (RFC 8461) and SMTP TLS Reporting (RFC 8460)."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.http import HttpFetch


@dataclass(frozen=True)
class MtaStsEvidence:
    domain: str
    txt: DnsResult  # _mta-sts.<domain> TXT
    policy_host: str  # mta-sts.<domain>
    policy_a: DnsResult | None
    policy_aaaa: DnsResult | None
    # the HTTPS GET of https://mta-sts.<domain>/.well-known/mta-sts.txt; None when the policy
    # host has no address or DNS could not say
    policy: HttpFetch | None
    mx_status: DnsStatus  # of the domain's MX query
    mx_hosts: tuple[str, ...]  # the MX host names a policy must match (RFC 8461 4.1)

    @property
    def policy_addresses(self) -> tuple[str, ...]:
        out: list[str] = []
        for res in (self.policy_a, self.policy_aaaa):
            if res is not None and res.status is DnsStatus.NOERROR:
                out.extend(res.records)
        return tuple(out)


@dataclass(frozen=True)
class TlsRptEvidence:
    domain: str
    txt: DnsResult  # _smtp._tls.<domain> TXT
    mx_status: DnsStatus = DnsStatus.NOERROR  # of the domain's MX query (NXDOMAIN: no domain)
    mx_hosts: tuple[str, ...] = ()  # the MX host names; () for no MX or a null MX
