"""check_host() and the lookup walk over a fake lookup function, hostile answers included."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.spf import SpfResult
from maildoctor.records.spf_eval import check_host, flattened, walk_spf

Answer = list[str] | DnsStatus


class Zone:
    """(name, type) -> records, or a DnsStatus to answer with; unknown names are NXDOMAIN."""

    def __init__(self, data: Mapping[tuple[str, str], Answer], delay: float = 0.0) -> None:
        self.data = {(n.lower(), t): v for (n, t), v in data.items()}
        self.names = {n for n, _ in self.data}
        self.asked: list[tuple[str, str]] = []
        self.delay = delay

    async def __call__(self, name: str, rdtype: str) -> DnsResult:
        self.asked.append((name, rdtype))
        if self.delay:
            await asyncio.sleep(self.delay)
        key = (name.lower().rstrip("."), rdtype)
        answer = self.data.get(key)
        if isinstance(answer, DnsStatus):
            return DnsResult(name, rdtype, answer, detail="fake")
        if answer:
            return DnsResult(name, rdtype, DnsStatus.NOERROR, records=tuple(answer))
        status = DnsStatus.NODATA if key[0] in self.names else DnsStatus.NXDOMAIN
        return DnsResult(name, rdtype, status)


def txt(name: str, *records: str) -> dict[tuple[str, str], Answer]:
    return {(name, "TXT"): list(records)}


async def host(zone: Zone, ip: str, domain: str = "example.com") -> tuple[SpfResult, str]:
    ev = await check_host(zone, ip, domain, f"postmaster@{domain}", domain)
    return ev.result, ev.reason


async def test_pass_fail_and_the_deciding_term() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 mx ip4:192.0.2.0/24 -all"),
            ("example.com", "MX"): ["10 mail.example.com."],
            ("mail.example.com", "A"): ["198.51.100.7"],
        }
    )
    ev = await check_host(zone, "198.51.100.7", "example.com", "a@example.com", "h.example.com")
    assert (ev.result, ev.mechanism, ev.lookups) == (SpfResult.PASS, "mx", 1)
    assert (await host(zone, "192.0.2.99"))[0] is SpfResult.PASS
    result, reason = await host(zone, "203.0.113.1")
    assert result is SpfResult.FAIL and '"-all"' in reason


async def test_lookup_limit_counted_through_includes() -> None:
    data: dict[tuple[str, str], Answer] = {
        **txt(
            "example.com", "v=spf1 include:a.example.com include:b.example.com ip4:192.0.2.1 -all"
        ),
        **txt("a.example.com", "v=spf1 " + " ".join(f"a:h{i}.example.com" for i in range(5))),
        **txt("b.example.com", "v=spf1 " + " ".join(f"a:h{i}.example.com" for i in range(5, 9))),
    }
    for i in range(9):
        data[(f"h{i}.example.com", "A")] = [f"198.51.100.{i}"]
    zone = Zone(data)
    # 2 includes + 9 a = 11 DNS-querying terms: the 11th is a permerror (RFC 7208 4.6.4)
    result, reason = await host(zone, "192.0.2.1")
    assert result is SpfResult.PERMERROR and "more than 10" in reason and "number 11" in reason
    # a match before the limit is reached passes
    assert (await host(zone, "198.51.100.0"))[0] is SpfResult.PASS
    walk = await walk_spf(zone, "example.com")
    assert walk.lookups == 11
    totals = [t.total for _, _, t in walk.chain() if t.lookups]
    assert totals == list(range(1, 12))
    depths = [d for d, _, t in walk.chain() if t.mechanism == "a"]
    assert set(depths) == {1}


async def test_void_lookup_limit() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all"),
            ("n3.example.com", "TXT"): ["not an address"],  # exists, but no A: void too
        }
    )
    result, reason = await host(zone, "192.0.2.1")
    assert result is SpfResult.PERMERROR and "void" in reason
    walk = await walk_spf(zone, "example.com")
    assert walk.void_lookups == 3 and walk.result is SpfResult.FAIL


async def test_include_loop_and_redirect_loop_are_permerrors() -> None:
    zone = Zone(
        {
            **txt("a.example", "v=spf1 include:b.example -all"),
            **txt("b.example", "v=spf1 include:a.example -all"),
            **txt("r.example", "v=spf1 redirect=s.example"),
            **txt("s.example", "v=spf1 redirect=r.example"),
        }
    )
    result, reason = await host(zone, "192.0.2.1", "a.example")
    assert result is SpfResult.PERMERROR
    assert reason == "include loop: a.example -> b.example -> a.example"
    result, reason = await host(zone, "192.0.2.1", "r.example")
    assert result is SpfResult.PERMERROR and reason.startswith("redirect loop: r.example")
    assert len(zone.asked) < 10  # found by the chain, not by running into the limit


async def test_cname_loop_status_is_temperror_for_a_but_skipped_for_ptr() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 a:loop.example.com -all"),
            ("loop.example.com", "A"): DnsStatus.SERVFAIL,  # a CNAME loop, as resolvers answer
            **txt("p.example.com", "v=spf1 ptr -all"),
            ("1.2.0.192.in-addr.arpa", "PTR"): ["loop.example.com.", "ok.p.example.com."],
            ("ok.p.example.com", "A"): ["192.0.2.1"],
        }
    )
    assert (await host(zone, "192.0.2.1"))[0] is SpfResult.TEMPERROR
    # RFC 7208 5.5: a DNS error on one PTR name's A lookup skips that name
    assert (await host(zone, "192.0.2.1", "p.example.com"))[0] is SpfResult.PASS


async def test_timeout_mid_chain_is_temperror_with_the_name() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 include:a.example.com include:slow.example.net -all"),
            **txt("a.example.com", "v=spf1 ip4:198.51.100.1 -all"),
            ("slow.example.net", "TXT"): DnsStatus.TIMEOUT,
        }
    )
    result, reason = await host(zone, "192.0.2.1")
    assert result is SpfResult.TEMPERROR and "slow.example.net" in reason
    walk = await walk_spf(zone, "example.com")
    assert walk.result is SpfResult.TEMPERROR
    (timed_out,) = [t for _, _, t in walk.chain() if t.outcome.startswith("temperror")]
    assert timed_out.term == "include:slow.example.net"
    # the record's own TXT lookup timing out is temperror too, never "none"
    zone = Zone({("example.com", "TXT"): DnsStatus.TIMEOUT})
    assert (await host(zone, "192.0.2.1"))[0] is SpfResult.TEMPERROR


async def test_txt_of_many_strings_is_one_record() -> None:
    # DnsClient joins the character-strings of a TXT record (RFC 7208 3.3) as this does.
    pieces = ["v=spf1 ", "ip4:192.0.2.1 ", *(f"ip4:198.51.100.{i} " for i in range(200)), "-all"]
    zone = Zone({("example.com", "TXT"): ["".join(pieces), "other=thing"]})
    assert (await host(zone, "198.51.100.199"))[0] is SpfResult.PASS
    assert (await host(zone, "203.0.113.5"))[0] is SpfResult.FAIL


async def test_5000_byte_record_and_junk_answers() -> None:
    big = "v=spf1 " + " ".join(f"ip4:10.{i // 250}.{i % 250}.1" for i in range(400)) + " -all"
    assert len(big) > 5000
    zone = Zone(
        {
            **txt("example.com", big),
            **txt("junk.example.com", "v=spf1 " + "\x00\xff" * 2500),
            **txt("many.example.com", *(f"v=spf1 ip4:192.0.2.{i} -all" for i in range(50))),
        }
    )
    assert (await host(zone, "10.1.5.1"))[0] is SpfResult.PASS
    result, reason = await host(zone, "192.0.2.1", "junk.example.com")
    assert result is SpfResult.PERMERROR and "character 8" in reason
    result, reason = await host(zone, "192.0.2.1", "many.example.com")
    assert result is SpfResult.PERMERROR and "50 SPF records" in reason


async def test_mx_limit_and_null_mx() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 mx -all"),
            ("example.com", "MX"): [f"{i} mx{i}.example.com." for i in range(11)],
            **txt("null.example", "v=spf1 mx -all"),
            ("null.example", "MX"): ["0 ."],
        }
    )
    result, reason = await host(zone, "192.0.2.1")
    assert result is SpfResult.PERMERROR and "11 MX records" in reason
    assert (await host(zone, "192.0.2.1", "null.example"))[0] is SpfResult.FAIL


async def test_include_of_domain_without_spf_is_permerror() -> None:
    zone = Zone({**txt("example.com", "v=spf1 include:nothing.example.net -all")})
    result, reason = await host(zone, "192.0.2.1")
    assert result is SpfResult.PERMERROR and "no SPF record there" in reason


async def test_invalid_domains_give_none_not_a_query() -> None:
    zone = Zone({})
    for domain in ("localhost", "[192.0.2.1]", "a..example.com", "x" * 64 + ".example.com"):
        ev = await check_host(zone, "192.0.2.1", domain, f"a@{domain}", domain)
        assert ev.result is SpfResult.NONE
    assert zone.asked == []
    ev = await check_host(zone, "not-an-ip", "example.com")
    assert ev.result is SpfResult.PERMERROR


async def test_walk_cap_bounds_a_hostile_tree() -> None:
    # a chain of 500 distinct includes (no loop to detect), cut at the walk's cap
    data: dict[tuple[str, str], Answer] = {}
    for i in range(1, 500):
        data[(f"n{i}.example", "TXT")] = [f"v=spf1 include:n{i + 1}.example -all"]
    zone = Zone(data)
    walk = await walk_spf(zone, "n1.example")
    assert walk.result is SpfResult.PERMERROR and "walk stopped" in walk.reason
    assert walk.lookups == 41 and len(zone.asked) < 60


async def test_evaluation_is_bounded_in_time_by_the_lookup() -> None:
    zone = Zone(
        {**txt("example.com", "v=spf1 " + " ".join(f"a:h{i}.example.com" for i in range(10)))},
        delay=0.001,
    )
    ev = await asyncio.wait_for(check_host(zone, "192.0.2.1", "example.com"), 5)
    assert ev.result is SpfResult.PERMERROR  # 10 void lookups: stopped at the third
    assert ev.void_lookups == 3


async def test_flattened_record_has_the_same_effect_and_fewer_lookups() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 include:_a.example.com mx exists:%{i}.x.example.com -all"),
            **txt("_a.example.com", "v=spf1 a:h1.example.com ip4:198.51.100.0/24 ~all"),
            ("h1.example.com", "A"): ["192.0.2.10"],
            ("example.com", "MX"): ["10 mx.example.com."],
            ("mx.example.com", "A"): ["192.0.2.20"],
            ("mx.example.com", "AAAA"): ["2001:db8::20"],
        }
    )
    walk = await walk_spf(zone, "example.com")
    assert walk.lookups == 4
    flat = flattened(walk)
    assert flat is not None
    record, cost = flat
    assert record == (
        "v=spf1 ip4:192.0.2.10 ip4:198.51.100.0/24 ip4:192.0.2.20 ip6:2001:db8::20 "
        "exists:%{i}.x.example.com -all"
    )
    assert cost == 1
    # same answers for the addresses involved
    flat_zone = Zone({**txt("example.com", record)})
    for ip in ("192.0.2.10", "198.51.100.9", "192.0.2.20", "2001:db8::20", "203.0.113.1"):
        before = await host(zone, ip)
        after = await host(flat_zone, ip)
        assert before[0] == after[0], ip


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("::ffff:192.0.2.1", SpfResult.PASS),
        ("2001:db8::1", SpfResult.PASS),
        ("2001:db9::1", "fail"),
    ],
)
async def test_ipv6_and_mapped_ipv4(ip: str, expected: SpfResult | str) -> None:
    zone = Zone({**txt("example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all")})
    assert (await host(zone, ip))[0] == expected


async def test_explanation_only_on_fail_and_never_changes_the_result() -> None:
    zone = Zone(
        {
            **txt("example.com", "v=spf1 -all exp=why.example.com"),
            ("why.example.com", "TXT"): ["%{i} is not one of %{d}'s servers"],
            **txt("bad.example.com", "v=spf1 -all exp=gone.example.com"),
            ("gone.example.com", "TXT"): DnsStatus.TIMEOUT,
        }
    )
    ev = await check_host(zone, "192.0.2.1", "example.com")
    assert ev.explanation == "192.0.2.1 is not one of example.com's servers"
    ev = await check_host(zone, "192.0.2.1", "bad.example.com")
    assert ev.result is SpfResult.FAIL and ev.explanation is None
