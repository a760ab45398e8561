"""Evidence of reverse DNS: each server address, its PTR names, and whether they point back.

The chain IP -> PTR names -> forward A/AAAA of each name is kept whole, so the rules that need
it (the PTR checks, and the SMTP rule comparing the greeting name with the PTR) read one place:
`PtrEvidence.names(ip)` and `PtrEvidence.confirmed(ip)`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from maildoctor.evidence.dns import DnsResult, DnsStatus


def normalise_ip(text: str) -> str | None:
    """The canonical text of an address ("2001:DB8:0::1" -> "2001:db8::1"), None if not one."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


@dataclass(frozen=True)
class ServerIp:
    """One address that receives or sends mail for the domain, and why it is looked at."""

    ip: str  # canonical text form
    roles: tuple[str, ...]  # "MX mx1.example.com", "implicit MX example.com", "sending IP"

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.ip).version

    def describe(self) -> str:
        return f"{self.ip} ({', '.join(self.roles)})" if self.roles else self.ip


@dataclass(frozen=True)
class SkippedIp:
    ip: str
    reason: str


@dataclass(frozen=True)
class PtrName:
    """One name a PTR record gives, and the forward lookup (A for IPv4, AAAA for IPv6) of it."""

    name: str  # lower case, no trailing dot
    forward: DnsResult

    @property
    def addresses(self) -> tuple[str, ...]:
        if self.forward.status is not DnsStatus.NOERROR:
            return ()
        return tuple(a for a in (normalise_ip(r) for r in self.forward.records) if a)

    def points_to(self, ip: str) -> bool:
        return normalise_ip(ip) in self.addresses


@dataclass(frozen=True)
class PtrLookup:
    server: ServerIp
    reverse_name: str  # e.g. 1.10.0.127.in-addr.arpa
    ptr: DnsResult
    names: tuple[PtrName, ...]  # the PTR names followed forward (bounded)
    not_followed: tuple[str, ...] = ()  # PTR names beyond the bound, not looked up

    @property
    def ip(self) -> str:
        return self.server.ip

    @property
    def ptr_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.names) + self.not_followed

    @property
    def confirmed(self) -> tuple[str, ...]:
        """The PTR names resolving back to this address (FCrDNS; "iprev", RFC 8601 3)."""
        return tuple(n.name for n in self.names if n.points_to(self.ip))


@dataclass(frozen=True)
class PtrEvidence:
    domain: str
    lookups: tuple[PtrLookup, ...]
    skipped: tuple[SkippedIp, ...] = ()  # addresses not looked up (private, over the bound)

    def lookup(self, ip: str) -> PtrLookup | None:
        key = normalise_ip(ip)
        return next((lk for lk in self.lookups if lk.ip == key), None)

    def names(self, ip: str) -> tuple[str, ...]:
        """Every PTR name of `ip` (empty when it has none or was not looked up)."""
        lk = self.lookup(ip)
        return lk.ptr_names if lk else ()

    def confirmed(self, ip: str) -> tuple[str, ...]:
        """The PTR names of `ip` that resolve back to it: the names a greeting should use."""
        lk = self.lookup(ip)
        return lk.confirmed if lk else ()
