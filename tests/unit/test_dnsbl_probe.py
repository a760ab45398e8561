"""The DNSBL probe against a tiny DNS server on loopback: test points, IPv6, TXT, bounds."""

from __future__ import annotations

import time

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.dnsbl import blocklists
from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence
from maildoctor.net.dns import DnsClient
from maildoctor.net.limits import Limits
from maildoctor.probes import ProbeContext
from maildoctor.probes.dnsbl import MAX_EXTRA_LISTS, probe_dnsbl
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Resolver, Settings

from .evidence_samples import host, mx
from .fake_dns import fake_dns

V4 = "93.184.215.11"
V6 = "2a01:4f8::1"
V6_NIBBLES = "1." + "0." * 23 + "8.f.4.0.1.0.a.2"
WILD = "wild.example.net"
ZONE = {
    ("2.0.0.127.zen.spamhaus.org", "A"): ["127.0.0.2", "127.0.0.4", "127.0.0.10"],
    ("11.215.184.93.zen.spamhaus.org", "A"): ["127.0.0.2"],
    ("11.215.184.93.zen.spamhaus.org", "TXT"): ['"https://www.spamhaus.org/sbl/query/SBL1"'],
    (f"{V6_NIBBLES}.zen.spamhaus.org", "A"): ["127.0.0.3"],
    ("2.0.0.127.b.barracudacentral.org", "A"): ["127.0.0.2"],
    ("2.0.0.127.bl.spamcop.net", "A"): ["127.0.0.2"],
    ("test.dbl.spamhaus.org", "A"): ["127.0.1.2"],
    ("dbltest.com.dbl.spamhaus.org", "A"): ["127.0.1.2"],
    ("test.multi.surbl.org", "A"): ["127.0.0.248"],
    # a wildcard list: everything listed, the never-listed test point too
    (f"2.0.0.127.{WILD}", "A"): ["127.0.0.2"],
    (f"1.0.0.127.{WILD}", "A"): ["127.0.0.2"],
    (f"11.215.184.93.{WILD}", "A"): ["127.0.0.2"],
    (f"11.215.184.93.{WILD}", "TXT"): ['"everything is listed"'],
}


def context(port: int, timeout: float = 1.0, **kw: object) -> ProbeContext:
    settings = Settings(
        resolvers=(Resolver("127.0.0.1", port),),
        step_timeout=timeout,
        **kw,  # type: ignore[arg-type]
    )
    limits = Limits(settings.max_connections, settings.per_host)
    return ProbeContext("example.com", settings, DnsClient(settings, limits), limits)


def check(ev: object) -> list[Finding | NotChecked]:
    return list(blocklists(CheckContext(Settings(), catalogue.load()), ev))


EV_MX = mx("example.com", host(10, "mx1.example.com", V4))


async def test_probe_asks_test_points_items_and_reasons_of_trusted_listings_only() -> None:
    with fake_dns(ZONE) as port:
        ctx = context(port, sending_ips=(V6,), dnsbl_zones=(WILD,))
        ev = await probe_dnsbl(ctx, EV_MX)
    asked = {(a.zone, a.item) for a in ev.answers}
    assert ("zen.spamhaus.org", V6) in asked
    assert ("bl.spamcop.net", V6) not in asked and ("b.barracudacentral.org", V6) not in asked
    assert (WILD, V6) not in asked
    assert set(ev.ipv4_only) == {"b.barracudacentral.org", "bl.spamcop.net", WILD}
    assert ("dbl.spamhaus.org", "example.com") in asked
    by_key = {(a.zone, a.item): a for a in ev.answers}
    assert by_key[("zen.spamhaus.org", V4)].reasons() == (
        "https://www.spamhaus.org/sbl/query/SBL1",
    )
    assert by_key[(WILD, V4)].txt is None  # a wildcard list is not trusted: no reason asked
    # health 3x2 + dbl 3 + surbl 3 + wild 2; items 4 lists x V4, zen x V6, 2 domain lists;
    # TXT for the two zen listings only
    assert ctx.dns.queries == 14 + 7 + 2

    found = check(ev)
    codes = sorted(f.code for f in found if isinstance(f, Finding))
    assert codes == ["dnsbl.list_unusable", "dnsbl.listed", "dnsbl.listed"]
    v6 = next(f for f in found if isinstance(f, Finding) and f.subject.startswith(V6))
    assert "127.0.0.3 = SBL CSS" in v6.cause and "sending IP" in v6.cause


async def test_silent_resolver_is_bounded_by_one_timeout_not_the_sum() -> None:
    with fake_dns({}, silent=True) as port:
        ctx = context(port, timeout=0.5)
        start = time.monotonic()
        ev = await probe_dnsbl(ctx, EV_MX)
        elapsed = time.monotonic() - start
    assert elapsed < 1.5  # 14 test points and 5 item queries at once
    assert all(a.a.status is DnsStatus.TIMEOUT for a in ev.answers)
    assert all(a.txt is None for a in ev.answers)
    # the resolver answered the MX query, so the lists themselves are the silent ones
    assert {f.code for f in check(ev) if isinstance(f, Finding)} == {"dnsbl.list_unusable"}


async def test_nonexistent_domain_is_not_asked_of_domain_lists() -> None:
    gone = MxEvidence("gone.example", DnsResult("gone.example", "MX", DnsStatus.NXDOMAIN), ())
    with fake_dns(ZONE) as port:
        ctx = context(port)
        ev = await probe_dnsbl(ctx, gone)
    assert ev.answers == () and ev.servers == () and ev.health == ()
    assert ctx.dns.queries == 0  # nothing to ask about: not even the test points
    items = check(ev)
    assert any(isinstance(i, NotChecked) and "no server address" in i.reason for i in items)


async def test_without_public_address_only_domain_lists_are_asked() -> None:
    lan = mx("example.com", host(10, "mx1.example.com", "10.0.0.25"))
    with fake_dns(ZONE) as port:
        ctx = context(port)
        ev = await probe_dnsbl(ctx, lan)
    assert ev.lists == ("dbl.spamhaus.org", "multi.surbl.org")
    assert [s.ip for s in ev.skipped] == ["10.0.0.25"]
    assert ctx.dns.queries == 2 * 3 + 2  # the test points of the two domain lists, the domain
    items = check(ev)
    assert any(isinstance(i, NotChecked) and "10.0.0.25" in i.reason for i in items)
    assert [i for i in items if isinstance(i, Finding)] == []  # the domain is on no list


async def test_extra_lists_beyond_the_bound_are_said_not_asked() -> None:
    extra = tuple(f"l{i}.example.net" for i in range(MAX_EXTRA_LISTS + 2))
    with fake_dns({}) as port:
        ev = await probe_dnsbl(context(port, dnsbl_zones=extra), EV_MX)
    assert ev.over_bound == extra[-2:]
    assert extra[-1] not in ev.lists and extra[0] in ev.lists
    (nc,) = [i for i in check(ev) if isinstance(i, NotChecked) and extra[-1] in i.what]
    assert "bound" in nc.reason
