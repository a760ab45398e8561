"""Blocklist rules on hand-built evidence: list health first, then what each return code means."""

from __future__ import annotations

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.dnsbl import MAX_REASON, blocklists
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.dnsbl import (
    DEFAULT_DOMAIN_LISTS,
    DEFAULT_IP_LISTS,
    DnsblAnswer,
    DnsblEvidence,
    Health,
    ListHealth,
    ListKind,
    blocklist,
)
from maildoctor.evidence.ptr import ServerIp, SkippedIp
from maildoctor.probes.dnsbl import MAX_EXTRA_LISTS, query_name, zones_to_ask
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

IP = "93.184.215.11"
DOMAIN = "example.com"
SERVERS = (ServerIp(IP, ("MX mx1.example.com",)),)


def ans(
    zone: str,
    item: str,
    *codes: str,
    txt: tuple[str, ...] | None = None,
    status: DnsStatus | None = None,
) -> DnsblAnswer:
    name = query_name(blocklist(zone), item)
    if status is not None:
        a = DnsResult(name, "A", status, detail="no answer within 5 s")
    elif codes:
        a = DnsResult(name, "A", DnsStatus.NOERROR, records=codes)
    else:
        a = DnsResult(name, "A", DnsStatus.NXDOMAIN)
    t = None if txt is None else DnsResult(name, "TXT", DnsStatus.NOERROR, records=txt)
    return DnsblAnswer(zone, item, name, a, t)


def healthy(zone: str) -> ListHealth:
    bl = blocklist(zone)
    listed = "127.0.1.2" if zone == "dbl.spamhaus.org" else "127.0.0.2"
    if zone == "multi.surbl.org":
        listed = "127.0.0.248"
    must = tuple(ans(zone, t, listed) for t in bl.listed_tests)
    return ListHealth(zone, must, ans(zone, bl.unlisted_test))


def evidence(
    *answers: DnsblAnswer,
    health: dict[str, ListHealth] | None = None,
    servers: tuple[ServerIp, ...] = SERVERS,
    extra: tuple[str, ...] = (),
    **kw: object,
) -> DnsblEvidence:
    zones = zones_to_ask(extra)
    given = health or {}
    return DnsblEvidence(
        DOMAIN,
        zones,
        tuple(given.get(z, healthy(z)) for z in zones),
        answers,
        servers,
        **kw,  # type: ignore[arg-type]
    )


def clean_answers(*extra: DnsblAnswer) -> tuple[DnsblAnswer, ...]:
    overridden = {(a.zone, a.item) for a in extra}
    base = [ans(z, IP) for z in DEFAULT_IP_LISTS] + [ans(z, DOMAIN) for z in DEFAULT_DOMAIN_LISTS]
    return (*(a for a in base if (a.zone, a.item) not in overridden), *extra)


def run(ev: DnsblEvidence) -> list[Finding | NotChecked]:
    return list(blocklists(CheckContext(Settings(), catalogue.load()), ev))


def findings(ev: DnsblEvidence) -> list[Finding]:
    return [f for f in run(ev) if isinstance(f, Finding)]


def test_clean_address_on_healthy_lists_is_ok() -> None:
    (f,) = findings(evidence(*clean_answers()))
    assert f.code == "dnsbl.ok" and f.severity is Severity.OK
    assert f"{IP} not listed on zen.spamhaus.org, b.barracudacentral.org, bl.spamcop.net" in (
        f.evidence
    )
    assert "zen.spamhaus.org, b.barracudacentral.org, bl.spamcop.net" in f.cause
    assert "dbl.spamhaus.org" not in f.cause  # the domain lists say nothing about addresses


def test_zen_sbl_and_xbl_listing_is_an_error_with_meaning_reason_and_delisting() -> None:
    listed = ans(
        "zen.spamhaus.org",
        IP,
        "127.0.0.2",
        "127.0.0.4",
        txt=("https://www.spamhaus.org/sbl/query/SBL999999",),
    )
    (f,) = findings(evidence(*clean_answers(listed)))
    assert f.code == "dnsbl.listed" and f.severity is Severity.ERROR
    assert f.subject == f"{IP} on zen.spamhaus.org"
    assert "127.0.0.2 = SBL" in f.cause and "127.0.0.4 = XBL" in f.cause
    assert "SBL999999" in f.cause and "SBL999999" in f.evidence
    assert "MX mx1.example.com" in f.cause
    assert "https://check.spamhaus.org/" in f.fix
    assert "postqueue -p" in f.fix
    assert {"spam-folder", "cannot-send"} == set(f.symptoms)


def test_pbl_only_listing_is_a_warning() -> None:
    listed = ans("zen.spamhaus.org", IP, "127.0.0.10")
    (f,) = findings(evidence(*clean_answers(listed)))
    assert f.code == "dnsbl.listed" and f.severity is Severity.WARNING
    assert "PBL" in f.cause and "smarthost" in f.fix


@pytest.mark.parametrize(
    ("zone", "url"),
    [
        ("b.barracudacentral.org", "https://www.barracudacentral.org/rbl/removal-request"),
        ("bl.spamcop.net", f"https://www.spamcop.net/bl.shtml?{IP}"),
    ],
)
def test_barracuda_and_spamcop_listings(zone: str, url: str) -> None:
    (f,) = findings(evidence(*clean_answers(ans(zone, IP, "127.0.0.2"))))
    assert f.code == "dnsbl.listed" and f.severity is Severity.ERROR
    assert url in f.fix
    assert "none given (no TXT record)" in f.cause


def test_refusal_codes_are_never_listings() -> None:
    # the test points passed, then the list refused this query (rate limit reached mid-run)
    refused = ans("zen.spamhaus.org", IP, "127.255.255.255")
    items = run(evidence(*clean_answers(refused)))
    assert not any(isinstance(i, Finding) and i.code == "dnsbl.listed" for i in items)
    assert any(isinstance(i, NotChecked) and "127.255.255.255" in i.reason for i in items)


def test_list_refusing_every_query_is_query_refused() -> None:
    zone = "zen.spamhaus.org"
    bl = blocklist(zone)
    refusing = ListHealth(
        zone,
        tuple(ans(zone, t, "127.255.255.254") for t in bl.listed_tests),
        ans(zone, bl.unlisted_test, "127.255.255.254"),
    )
    assert refusing.verdict(bl)[0] is Health.REFUSED
    ev = evidence(
        *clean_answers(ans(zone, IP, "127.255.255.254")),
        health={zone: refusing},
    )
    found = findings(ev)
    (f,) = [f for f in found if f.code == "dnsbl.query_refused"]
    assert f.severity is Severity.WARNING and f.subject == zone
    assert "127.255.255.254" in f.cause and "public or open resolver" in f.cause
    assert "--resolver 127.0.0.1" in f.fix and "YOURKEY.zen.dq.spamhaus.net" in f.fix
    assert "dnsbl.listed" not in [x.code for x in found]
    # the other lists still checked the address
    (ok,) = [f for f in found if f.code == "dnsbl.ok"]
    assert "zen.spamhaus.org" not in ok.evidence and "bl.spamcop.net" in ok.evidence


def test_wildcard_list_is_unusable_and_its_listing_ignored() -> None:
    zone = "wild.example.net"
    wildcard = ListHealth(
        zone, (ans(zone, "127.0.0.2", "127.0.0.2"),), ans(zone, "127.0.0.1", "127.0.0.2")
    )
    ev = evidence(
        *clean_answers(ans(zone, IP, "127.0.0.2")), health={zone: wildcard}, extra=(zone,)
    )
    found = findings(ev)
    assert sorted(f.code for f in found) == ["dnsbl.list_unusable", "dnsbl.ok"]
    (f,) = [f for f in found if f.code == "dnsbl.list_unusable"]
    assert f.severity is Severity.INFO and "wildcard" in f.cause
    assert "127.0.0.1 is listed" in f.evidence
    assert "dig 2.0.0.127.wild.example.net A" in f.fix


def test_dead_list_is_unusable() -> None:
    zone = "dead.example.net"
    dead = ListHealth(zone, (ans(zone, "127.0.0.2"),), ans(zone, "127.0.0.1"))
    assert dead.verdict(blocklist(zone))[0] is Health.DEAD
    found = findings(evidence(*clean_answers(), health={zone: dead}, extra=(zone,)))
    (f,) = [f for f in found if f.code == "dnsbl.list_unusable"]
    assert "dead" in f.cause and "127.0.0.2 is not listed" in f.evidence


def test_unreachable_list_depends_on_whether_the_resolver_answers() -> None:
    zone = "bl.spamcop.net"
    silent = ListHealth(
        zone,
        (ans(zone, "127.0.0.2", status=DnsStatus.TIMEOUT),),
        ans(zone, "127.0.0.1", status=DnsStatus.TIMEOUT),
    )
    found = findings(evidence(*clean_answers(), health={zone: silent}))
    assert "dnsbl.list_unusable" in [f.code for f in found]
    items = run(evidence(*clean_answers(), health={zone: silent}, resolver_answered=False))
    assert "dnsbl.list_unusable" not in [i.code for i in items if isinstance(i, Finding)]
    assert any(isinstance(i, NotChecked) and "resolver did not answer" in i.reason for i in items)


def test_timeout_on_an_address_query_is_not_checked() -> None:
    slow = ans("bl.spamcop.net", IP, status=DnsStatus.TIMEOUT)
    items = run(evidence(*clean_answers(slow)))
    (nc,) = [i for i in items if isinstance(i, NotChecked)]
    assert IP in nc.what and "TIMEOUT" in nc.reason
    assert [i.code for i in items if isinstance(i, Finding)] == ["dnsbl.ok"]


def test_answer_outside_loopback_is_not_a_listing() -> None:
    hijacked = ans("bl.spamcop.net", IP, "198.51.100.80")  # a resolver rewriting NXDOMAIN
    items = run(evidence(*clean_answers(hijacked)))
    assert "dnsbl.listed" not in [i.code for i in items if isinstance(i, Finding)]
    assert any(isinstance(i, NotChecked) and "198.51.100.80" in i.reason for i in items)


def test_domain_on_dbl_and_surbl() -> None:
    dbl = ans("dbl.spamhaus.org", DOMAIN, "127.0.1.4", txt=("https://check.spamhaus.org/",))
    surbl = ans("multi.surbl.org", DOMAIN, "127.0.0.24")
    found = findings(evidence(*clean_answers(dbl, surbl)))
    listed = {f.subject + " " + f.cause: f for f in found if f.code == "dnsbl.domain_listed"}
    assert len(listed) == 2
    by_zone = {("dbl" if "dbl.spamhaus.org" in f.cause else "surbl"): f for f in listed.values()}
    assert "127.0.1.4 = DBL: phishing domain" in by_zone["dbl"].cause
    assert "PH (phishing)" in by_zone["surbl"].cause and "MW (malware)" in by_zone["surbl"].cause
    assert "https://surbl.org/surbl-analysis" in by_zone["surbl"].fix
    assert all(f.severity is Severity.ERROR and f.subject == DOMAIN for f in listed.values())
    assert "dnsbl.ok" in [f.code for f in found]  # the addresses themselves are clean


def test_unknown_list_takes_the_delisting_page_from_its_reason() -> None:
    zone = "bl.example.org"
    listed = ans(zone, IP, "127.0.0.3", txt=("Listed, see https://bl.example.org/lookup?ip=x",))
    (f,) = [f for f in findings(evidence(*clean_answers(listed), extra=(zone,))) if f.subject]
    assert f.code == "dnsbl.listed" and f.severity is Severity.ERROR
    assert "https://bl.example.org/lookup?ip=x" in f.fix
    assert "127.0.0.3 (see the list's documentation)" in f.cause


def test_hostile_reason_is_cut_and_cleaned() -> None:
    noise = "x\x00\x1b[31m" + "A" * 5000
    listed = ans("bl.spamcop.net", IP, "127.0.0.2", txt=(noise, "second", "third", "fourth"))
    (f,) = findings(evidence(*clean_answers(listed)))
    reason = f.cause.split("The list's reason: ", 1)[1]
    assert "\x00" not in f.cause and "\x1b" not in f.cause
    assert "fourth" not in reason  # at most three reasons
    assert len(f.cause) < 3 * MAX_REASON + 600


def test_no_server_address_is_not_checked() -> None:
    items = run(
        evidence(
            *(ans(z, DOMAIN) for z in DEFAULT_DOMAIN_LISTS),
            servers=(),
            skipped=(SkippedIp("10.0.0.5", "private address, not looked up"),),
        )
    )
    assert [i for i in items if isinstance(i, Finding)] == []
    assert any(isinstance(i, NotChecked) and "10.0.0.5" in i.reason for i in items)


def test_ipv4_only_lists_are_said_in_the_ok_evidence() -> None:
    (f,) = findings(evidence(*clean_answers(), ipv4_only=("b.barracudacentral.org",)))
    assert "IPv6 addresses not asked of IPv4-only lists b.barracudacentral.org" in f.evidence


def test_list_table() -> None:
    assert blocklist("zen.spamhaus.org").ipv6 and not blocklist("bl.spamcop.net").ipv6
    assert not blocklist("b.barracudacentral.org").ipv6
    dqs = blocklist("abcdef.zen.dq.spamhaus.net")
    assert dqs.ipv6 and dqs.name == "Spamhaus ZEN" and dqs.refusal("127.255.255.254")
    assert blocklist("abcdef.dbl.dq.spamhaus.net").kind is ListKind.DOMAIN
    other = blocklist("Bl.Example.Org.")
    assert other.zone == "bl.example.org" and not other.known and not other.ipv6
    assert blocklist("dbl.spamhaus.org").listed_tests == ("test", "dbltest.com")


def test_query_names() -> None:
    assert query_name(blocklist("zen.spamhaus.org"), "93.184.215.11") == (
        "11.215.184.93.zen.spamhaus.org"
    )
    v6 = query_name(blocklist("zen.spamhaus.org"), "2a01:4f8::1")
    assert v6 == "1." + "0." * 23 + "8.f.4.0.1.0.a.2.zen.spamhaus.org"  # RFC 5782 2.4
    assert query_name(blocklist("dbl.spamhaus.org"), "Example.COM.") == (
        "example.com.dbl.spamhaus.org"
    )


def test_zones_to_ask_dedupes_and_bounds_the_extra_lists() -> None:
    zones = zones_to_ask(("ZEN.spamhaus.org", *(f"l{i}.example.net" for i in range(40))))
    assert zones[:5] == (*DEFAULT_IP_LISTS, *DEFAULT_DOMAIN_LISTS)
    assert len(zones) == 5 + MAX_EXTRA_LISTS and zones.count("zen.spamhaus.org") == 1
