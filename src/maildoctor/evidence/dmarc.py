"""Evidence of DMARC policy discovery (RFC 7489 6.6.3) and report authorisation (RFC 7489 7.1)."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.dns import DnsResult


@dataclass(frozen=True)
class ReportAuthorization:
    """TXT at <policy domain>._report._dmarc.<destination>: does it accept the reports?"""

    policy_domain: str
    destination: str
    txt: DnsResult


@dataclass(frozen=True)
class DmarcEvidence:
    domain: str
    organizational_domain: str  # RFC 7489 3.2, from the Public Suffix List
    own: DnsResult  # TXT at _dmarc.<domain>
    # the domain's own MX answer (shared with the MX probe through the run's DNS cache): an
    # NXDOMAIN there means the domain does not exist, which the dns checks report
    apex: DnsResult
    # TXT at _dmarc.<organizational domain>, asked whenever the domain is not itself the
    # organizational domain; it applies when the domain has no record (RFC 7489 6.6.3 step 3)
    org: DnsResult | None = None
    authorizations: tuple[ReportAuthorization, ...] = ()
    unchecked_destinations: tuple[str, ...] = ()  # beyond the bound on lookups
