"""Hand-built evidence, as probes would record it, for the pure checks and the renderers."""

from __future__ import annotations

from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence, MxHost

OK = DnsStatus.NOERROR


def a(name: str, *ips: str, canonical: str | None = None) -> DnsResult:
    if not ips:
        return DnsResult(name, "A", DnsStatus.NXDOMAIN)
    return DnsResult(name, "A", OK, records=ips, canonical_name=canonical)


def nodata(name: str, rdtype: str) -> DnsResult:
    return DnsResult(name, rdtype, DnsStatus.NODATA)


def host(pref: int, target: str, *ips: str, canonical: str | None = None) -> MxHost:
    return MxHost(pref, target, a(target, *ips, canonical=canonical), nodata(target, "AAAA"))


def mx(domain: str, *hosts: MxHost) -> MxEvidence:
    records = tuple(f"{h.preference} {h.target}." for h in hosts)
    return MxEvidence(domain, DnsResult(domain, "MX", OK, records=records), hosts)


def mx_status(domain: str, status: DnsStatus, detail: str = "") -> MxEvidence:
    return MxEvidence(domain, DnsResult(domain, "MX", status, detail=detail), ())


GOOD = mx("example.com", host(10, "mx1.example.com", "93.184.215.10"))
