"""Evidence of DKIM key lookups: the TXT answer at <selector>._domainkey.<domain> per selector."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.dns import DnsResult


@dataclass(frozen=True)
class DkimSelector:
    selector: str
    given: bool  # named with --dkim-selector (else one of the common selectors tried)
    txt: DnsResult


@dataclass(frozen=True)
class DkimEvidence:
    domain: str
    # the domain's own MX answer (shared with the MX probe through the run's DNS cache): an
    # NXDOMAIN there means the domain does not exist, which the dns checks report
    apex: DnsResult
    selectors: tuple[DkimSelector, ...]
    # TXT at a selector nobody publishes: an answer there means a wildcard (*._domainkey or
    # *.<domain>) that would make every guessed selector look published.
    wildcard: DnsResult | None = None
