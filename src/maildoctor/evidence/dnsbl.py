"""DNS blocklists: what each known list is and answers, and the evidence of asking them.

A DNSBL query is "<reversed IP>.<zone>" (RFC 5782 2.1; IPv6 as 32 reversed nibbles, 2.4) or
"<domain>.<zone>" for a domain list (RFC 5782 2.3): an A record in 127.0.0.0/8 means listed
(its value says why), NXDOMAIN means not listed, and a TXT record at the same name gives the
reason (RFC 5782 2.1). Before an answer is trusted, the list's test points are asked (RFC 5782
5): the list must list 127.0.0.2 (domain lists: "test") and must not list 127.0.0.1 ("invalid").

Which lists serve IPv6 (only those are asked about IPv6 addresses):

| zone                     | kind   | IPv6 | operator                                    |
|--------------------------|--------|------|---------------------------------------------|
| zen.spamhaus.org         | ip     | yes  | Spamhaus (SBL, CSS, XBL, PBL in one)         |
| sbl/xbl/pbl.spamhaus.org | ip     | yes  | Spamhaus, one list each                      |
| *.zen.dq.spamhaus.net    | ip     | yes  | Spamhaus Data Query Service (with a key)     |
| b.barracudacentral.org   | ip     | no   | Barracuda Reputation Block List              |
| bl.spamcop.net           | ip     | no   | SpamCop Blocking List                        |
| dbl.spamhaus.org         | domain | -    | Spamhaus Domain Block List                   |
| multi.surbl.org          | domain | -    | SURBL (bitmask of sub-lists)                 |
| any other --dnsbl zone   | ip     | no   | unknown: "listed" is any 127.0.0.0/8 answer  |
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.ptr import ServerIp, SkippedIp


class ListKind(StrEnum):
    IP = "ip"
    DOMAIN = "domain"


@dataclass(frozen=True)
class Code:
    """One documented return code of a list: what it means and how hard a listing is."""

    value: str  # e.g. "127.0.0.4"
    meaning: str
    policy: bool = False  # a policy list (the range should not send directly), not abuse
    advice: str = ""


@dataclass(frozen=True)
class Blocklist:
    zone: str
    name: str
    kind: ListKind = ListKind.IP
    ipv6: bool = False
    codes: tuple[Code, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # return code -> why the query was refused
    bitmask: tuple[tuple[int, str], ...] = ()  # last-octet bit -> sub-list (SURBL)
    delist: str = ""  # URL; "{item}" becomes the listed IP or domain
    listed_tests: tuple[str, ...] = ("127.0.0.2",)  # RFC 5782 5: MUST be listed
    unlisted_test: str = "127.0.0.1"  # RFC 5782 5: MUST NOT be listed
    known: bool = True

    def code(self, value: str) -> Code | None:
        return next((c for c in self.codes if c.value == value), None)

    def refusal(self, value: str) -> str | None:
        return next((why for code, why in self.refused if code == value), None)

    def describe_code(self, value: str) -> Code:
        """What a return code means on this list (documented, decoded, or said unknown)."""
        found = self.code(value)
        if found is not None:
            return found
        if self.bitmask:
            try:
                last = int(value.rsplit(".", 1)[-1])
            except ValueError:
                last = 0
            subs = [name for bit, name in self.bitmask if last & bit]
            if subs:
                return Code(value, f"{self.name}: {', '.join(subs)}")
        if self.known:
            return Code(value, f"return code {value}, not documented for {self.name}")
        return Code(value, f"return code {value} (see the list's documentation)")

    def delist_url(self, item: str) -> str:
        return self.delist.replace("{item}", item) if self.delist else ""


# Spamhaus answers these (its documented "return codes" for errors) to queries it will not
# serve, for every name, test points included: never a listing.
SPAMHAUS_REFUSED = (
    ("127.255.255.252", "typing error in the DNSBL name"),
    ("127.255.255.254", "query via a public or open resolver (Google, Cloudflare, ...)"),
    ("127.255.255.255", "excessive number of queries from this resolver"),
)
SPAMHAUS_CHECK = "https://check.spamhaus.org/"
_SBL = (
    "Spamhaus lists the address as a spam source or a service supporting spam; the SBL "
    "record named in the TXT reason says why."
)
_CSS = (
    "Spamhaus saw low-reputation (snowshoe) mail from the address: often a compromised "
    "account, a bulk sender without consent, or a server greeting with a bad HELO name. "
    "Once fixed, the address can be removed at check.spamhaus.org."
)
_XBL = (
    "The address sent traffic typical of a malware-infected machine or an open proxy: find "
    "the infected host (also machines behind the same NAT), clean it, make the server greet "
    "with its real host name, then remove the address at check.spamhaus.org."
)
_PBL = (
    "The owner of the address range says it should not send mail to other servers directly "
    "(dynamic or end-user addresses). A real mail server on a static address can be removed "
    "at check.spamhaus.org after its PTR names it; otherwise send through your provider's "
    "relay (smarthost)."
)
SPAMHAUS_IP_CODES = (
    Code("127.0.0.2", "SBL: Spamhaus Block List (spam source or spam operation)", advice=_SBL),
    Code("127.0.0.3", "SBL CSS: low-reputation mail (snowshoe) seen from the address", advice=_CSS),
    *(
        Code(f"127.0.0.{n}", "XBL: infected host, open proxy or exploited server", advice=_XBL)
        for n in range(4, 8)
    ),
    Code("127.0.0.9", "SBL DROP: hijacked or criminal network", advice=_SBL),
    Code("127.0.0.10", "PBL (ISP maintained): end-user range, not a mail server", True, _PBL),
    Code("127.0.0.11", "PBL (Spamhaus maintained): end-user range, not a mail server", True, _PBL),
)
_DBL = (
    "Spamhaus lists the domain as used in spam, phishing or malware; if it was abused "
    "(hacked web site, open redirect), clean it, then ask for removal at check.spamhaus.org."
)
SPAMHAUS_DBL_CODES = (
    Code("127.0.1.2", "DBL: spam domain", advice=_DBL),
    Code("127.0.1.4", "DBL: phishing domain", advice=_DBL),
    Code("127.0.1.5", "DBL: malware domain", advice=_DBL),
    Code("127.0.1.6", "DBL: botnet command-and-control domain", advice=_DBL),
    Code("127.0.1.102", "DBL: abused legitimate domain (spam)", advice=_DBL),
    Code("127.0.1.103", "DBL: abused legitimate spammed redirector", advice=_DBL),
    Code("127.0.1.104", "DBL: abused legitimate domain (phishing)", advice=_DBL),
    Code("127.0.1.105", "DBL: abused legitimate domain (malware)", advice=_DBL),
    Code("127.0.1.106", "DBL: abused legitimate domain (botnet C&C)", advice=_DBL),
)


def _spamhaus_ip(zone: str, name: str) -> Blocklist:
    return Blocklist(
        zone,
        name,
        ipv6=True,
        codes=SPAMHAUS_IP_CODES,
        refused=SPAMHAUS_REFUSED,
        delist=SPAMHAUS_CHECK,
    )


def _spamhaus_dbl(zone: str) -> Blocklist:
    return Blocklist(
        zone,
        "Spamhaus DBL",
        kind=ListKind.DOMAIN,
        codes=SPAMHAUS_DBL_CODES,
        refused=(("127.0.1.255", "IP queries are not allowed on the DBL"), *SPAMHAUS_REFUSED),
        delist=SPAMHAUS_CHECK,
        # RFC 5782 5 asks for "test"; Spamhaus documents dbltest.com as the DBL's test point
        listed_tests=("test", "dbltest.com"),
        unlisted_test="invalid",
    )


KNOWN_LISTS: dict[str, Blocklist] = {
    bl.zone: bl
    for bl in (
        _spamhaus_ip("zen.spamhaus.org", "Spamhaus ZEN"),
        _spamhaus_ip("sbl.spamhaus.org", "Spamhaus SBL"),
        _spamhaus_ip("xbl.spamhaus.org", "Spamhaus XBL"),
        _spamhaus_ip("pbl.spamhaus.org", "Spamhaus PBL"),
        _spamhaus_ip("sbl-xbl.spamhaus.org", "Spamhaus SBL-XBL"),
        Blocklist(
            "b.barracudacentral.org",
            "Barracuda Reputation Block List",
            codes=(
                Code(
                    "127.0.0.2",
                    "listed for poor sending reputation",
                    advice="Barracuda saw spam or bad sending behaviour from the address; once "
                    "the cause is fixed, ask for removal with the form (it names a reason).",
                ),
            ),
            delist="https://www.barracudacentral.org/rbl/removal-request",
        ),
        Blocklist(
            "bl.spamcop.net",
            "SpamCop Blocking List",
            codes=(
                Code(
                    "127.0.0.2",
                    "reported as a spam source by SpamCop users",
                    advice="SpamCop listings expire by themselves about 24 hours after the last "
                    "report: stop what sends the spam and the listing goes away.",
                ),
            ),
            delist="https://www.spamcop.net/bl.shtml?{item}",
        ),
        _spamhaus_dbl("dbl.spamhaus.org"),
        Blocklist(
            "multi.surbl.org",
            "SURBL",
            kind=ListKind.DOMAIN,
            bitmask=((8, "PH (phishing)"), (16, "MW (malware)"), (64, "ABUSE"), (128, "CR")),
            # SURBL answers 127.0.0.1 to resolvers it has blocked for excessive use
            refused=(("127.0.0.1", "this resolver is blocked for excessive queries"),),
            delist="https://surbl.org/surbl-analysis",
            listed_tests=("test", "test.surbl.org"),
            unlisted_test="invalid",
        ),
    )
}

DEFAULT_IP_LISTS = ("zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net")
DEFAULT_DOMAIN_LISTS = ("dbl.spamhaus.org", "multi.surbl.org")


def blocklist(zone: str) -> Blocklist:
    """What is known about `zone`: the table above, the Spamhaus family, or nothing."""
    zone = zone.lower().rstrip(".")
    if zone in KNOWN_LISTS:
        return KNOWN_LISTS[zone]
    labels = zone.split(".")
    if zone.endswith((".spamhaus.org", ".spamhaus.net")):
        # e.g. KEY.zen.dq.spamhaus.net, the Data Query Service zones
        if "dbl" in labels or "zrd" in labels:
            return _spamhaus_dbl(zone)
        return _spamhaus_ip(zone, "Spamhaus " + labels[-4 if len(labels) >= 4 else 0].upper())
    return Blocklist(zone, zone, known=False)


def is_loopback_code(value: str) -> bool:
    """RFC 5782 2.1: a listing is an A record in 127.0.0.0/8."""
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


@dataclass(frozen=True)
class DnsblAnswer:
    """One question to one list: is `item` (an IP or a domain) on `zone`?"""

    zone: str
    item: str
    name: str  # the query name
    a: DnsResult
    txt: DnsResult | None = None  # asked only for a listing on a usable list

    @property
    def codes(self) -> tuple[str, ...]:
        return self.a.records if self.a.status is DnsStatus.NOERROR else ()

    @property
    def answered(self) -> bool:
        """The list gave a definite answer (listed, or NXDOMAIN/NODATA: not listed)."""
        return self.a.status in (DnsStatus.NOERROR, DnsStatus.NODATA, DnsStatus.NXDOMAIN)

    def reasons(self) -> tuple[str, ...]:
        if self.txt is None or self.txt.status is not DnsStatus.NOERROR:
            return ()
        return self.txt.records


class Health(StrEnum):
    USABLE = "usable"
    REFUSED = "refused"  # the list answers "query refused" codes (Spamhaus 127.255.255.x)
    DEAD = "dead"  # the test point is not listed: the list is gone, or not reachable this way
    WILDCARD = "wildcard"  # the never-listed test point is listed: every address would be
    UNREACHABLE = "unreachable"  # the test points timed out or failed


@dataclass(frozen=True)
class ListHealth:
    """RFC 5782 5 test points of one list, asked before its answers are trusted."""

    zone: str
    must_list: tuple[DnsblAnswer, ...]
    must_not_list: DnsblAnswer

    def verdict(self, bl: Blocklist) -> tuple[Health, str]:
        """The list's health and the evidence for it, in words."""
        every = (*self.must_list, self.must_not_list)
        for ans in every:
            for code in ans.codes:
                why = bl.refusal(code)
                if why is not None:
                    return Health.REFUSED, f"{ans.name} A {code}: {why}"
        bad = self.must_not_list
        if bad.codes:
            return (
                Health.WILDCARD,
                f"{bad.name} A {', '.join(bad.codes)}: the never-listed test point "
                f"{bad.item} is listed, so every query looks listed",
            )
        listed = [ans for ans in self.must_list if any(is_loopback_code(c) for c in ans.codes)]
        if not listed:
            failed = [ans for ans in self.must_list if not ans.answered]
            if failed:
                return Health.UNREACHABLE, "; ".join(a.a.describe() for a in failed)
            return (
                Health.DEAD,
                "; ".join(a.a.describe() for a in self.must_list)
                + f": the always-listed test point {self.must_list[0].item} is not listed",
            )
        if not bad.answered:
            return Health.UNREACHABLE, bad.a.describe()
        return Health.USABLE, f"{listed[0].name} listed, {bad.name} not listed"


@dataclass(frozen=True)
class DnsblEvidence:
    domain: str
    lists: tuple[str, ...]  # the zones asked, defaults first
    health: tuple[ListHealth, ...]
    answers: tuple[DnsblAnswer, ...]
    servers: tuple[ServerIp, ...]  # the addresses asked about
    skipped: tuple[SkippedIp, ...] = ()  # addresses not asked about, and why
    ipv4_only: tuple[str, ...] = ()  # zones not asked about IPv6 addresses (they serve none)
    # whether the resolver gave the domain's MX query a definite answer: when it did not, a
    # list whose test points time out says nothing about the list
    resolver_answered: bool = True
    over_bound: tuple[str, ...] = ()  # --dnsbl zones beyond the bound, not asked

    def health_of(self, zone: str) -> ListHealth | None:
        return next((h for h in self.health if h.zone == zone), None)
