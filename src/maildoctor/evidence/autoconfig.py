"""Evidence for mail client autoconfiguration: RFC 6186 / RFC 8314 SRV records, Thunderbird
autoconfig and Outlook autodiscover."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.http import HttpFetch

# RFC 6186 3 and RFC 8314 5.1: (SRV label, protocol, implicit TLS?, the usual port)
SRV_SERVICES: tuple[tuple[str, str, bool, int], ...] = (
    ("_submissions._tcp", "submission", True, 465),
    ("_submission._tcp", "submission", False, 587),
    ("_imaps._tcp", "imap", True, 993),
    ("_imap._tcp", "imap", False, 143),
    ("_pop3s._tcp", "pop3", True, 995),
    ("_pop3._tcp", "pop3", False, 110),
)
AUTODISCOVER_SRV = "_autodiscover._tcp"


@dataclass(frozen=True)
class SrvTarget:
    priority: int
    weight: int
    port: int
    target: str  # "" for "." (RFC 2782: the service is decidedly not available)


def parse_srv(text: str) -> SrvTarget | None:
    parts = text.split()
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    prio, weight, port = (int(p) for p in parts[:3])
    return SrvTarget(prio, weight, port, parts[3].rstrip(".").lower())


@dataclass(frozen=True)
class HostLookup:
    name: str
    a: DnsResult
    aaaa: DnsResult

    @property
    def addresses(self) -> tuple[str, ...]:
        out: list[str] = []
        for res in (self.a, self.aaaa):
            if res.status is DnsStatus.NOERROR:
                out.extend(res.records)
        return tuple(out)

    @property
    def status(self) -> str:
        """NOERROR when the name has an address, else the worst of the two answers."""
        if self.addresses:
            return DnsStatus.NOERROR.value
        for status in (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR):
            if status in (self.a.status, self.aaaa.status):
                return status.value
        return self.a.status.value


@dataclass(frozen=True)
class WebEndpoint:
    """An autoconfig/autodiscover URL: the name's lookup and, when it has an address, the fetch."""

    kind: str  # "autoconfig" | "autodiscover" | "autodiscover-srv"
    lookup: HostLookup
    fetches: tuple[HttpFetch, ...]  # the request, then redirects followed (at most a few)

    @property
    def final(self) -> HttpFetch | None:
        return self.fetches[-1] if self.fetches else None


@dataclass(frozen=True)
class AutoconfigEvidence:
    domain: str
    srv: tuple[DnsResult, ...]  # one per SRV_SERVICES label, in that order
    autodiscover_srv: DnsResult
    endpoints: tuple[WebEndpoint, ...]
    hosts: tuple[HostLookup, ...]  # mail./imap./smtp.<domain>: the client-facing host names
    mx_hosts: tuple[str, ...]  # the MX names, a last guess at the client-facing host
    mx_status: DnsStatus = DnsStatus.NOERROR  # of the domain's MX query (NXDOMAIN: no domain)
    targets: tuple[HostLookup, ...] = ()  # the addresses of the SRV targets (a few at most)
