"""Evidence from DNS queries."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DnsStatus(StrEnum):
    NOERROR = "NOERROR"  # records present
    NODATA = "NODATA"  # the name exists, no records of this type
    NXDOMAIN = "NXDOMAIN"
    SERVFAIL = "SERVFAIL"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"  # refused, malformed answer, no resolver configured...


@dataclass(frozen=True)
class DnsResult:
    name: str
    rdtype: str
    status: DnsStatus
    records: tuple[str, ...] = ()
    canonical_name: str | None = None  # set when the answer followed a CNAME
    ttl: int | None = None
    elapsed_ms: float = 0.0
    detail: str = ""

    @property
    def exists(self) -> bool:
        return self.status in (DnsStatus.NOERROR, DnsStatus.NODATA)

    def describe(self) -> str:
        if self.status is DnsStatus.NOERROR:
            return f"{self.name} {self.rdtype}: " + ", ".join(self.records)
        suffix = f" ({self.detail})" if self.detail else ""
        return f"{self.name} {self.rdtype}: {self.status.value}{suffix}"


@dataclass(frozen=True)
class MxHost:
    preference: int
    target: str
    a: DnsResult | None  # None when the target is not a name to look up (null MX, IP literal)
    aaaa: DnsResult | None

    @property
    def addresses(self) -> tuple[str, ...]:
        found: list[str] = []
        for res in (self.a, self.aaaa):
            if res is not None and res.status is DnsStatus.NOERROR:
                found.extend(res.records)
        return tuple(found)

    @property
    def canonical_name(self) -> str | None:
        for res in (self.a, self.aaaa):
            if res is not None and res.canonical_name:
                return res.canonical_name
        return None


@dataclass(frozen=True)
class MxEvidence:
    domain: str
    mx: DnsResult
    hosts: tuple[MxHost, ...]
    fallback_a: DnsResult | None = None  # the domain's own A, asked when there is no MX
    fallback_aaaa: DnsResult | None = None
