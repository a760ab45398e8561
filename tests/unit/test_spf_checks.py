"""The SPF probe and rules on a fake DNS: every finding code, and not-checked on DNS failure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.spf import spf_record, zone_txt
from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence, MxHost
from maildoctor.evidence.spf import SpfEvidence, SpfResult
from maildoctor.probes import ProbeContext
from maildoctor.probes.spf import probe_spf
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

from .test_spf_eval import Answer, Zone, txt

D = "example.com"
MX_IP = "192.0.2.10"


class FakeDns:
    def __init__(self, zone: Zone) -> None:
        self.query = zone


def _mx(ips: tuple[str, ...]) -> MxEvidence:
    a = DnsResult("mx.example.com", "A", DnsStatus.NOERROR, records=ips)
    aaaa = DnsResult("mx.example.com", "AAAA", DnsStatus.NODATA)
    mx = DnsResult(D, "MX", DnsStatus.NOERROR, records=("10 mx.example.com.",))
    return MxEvidence(D, mx, (MxHost(10, "mx.example.com", a, aaaa),))


async def gather(
    data: Mapping[tuple[str, str], Answer], *, sending: tuple[str, ...] = (), **kw: Any
) -> SpfEvidence:
    zone_data: dict[tuple[str, str], Answer] = {
        (D, "MX"): ["10 mx.example.com."],
        ("mx.example.com", "A"): [MX_IP],
        **data,
    }
    kw.setdefault("allow_private", True)  # the documentation addresses used here are private
    settings = Settings(sending_ips=sending, **kw)
    ctx = ProbeContext(D, settings, FakeDns(Zone(zone_data)), None)  # type: ignore[arg-type]
    return await probe_spf(ctx, _mx((MX_IP,)))


def run(ev: SpfEvidence, **kw: Any) -> tuple[list[Finding], list[NotChecked]]:
    ctx = CheckContext(Settings(**kw), catalogue.load())
    items = list(spf_record(ctx, ev))
    return [i for i in items if isinstance(i, Finding)], [
        i for i in items if isinstance(i, NotChecked)
    ]


def codes(found: list[Finding]) -> list[str]:
    return [f.code for f in found]


async def test_good_record_is_ok_and_says_what_it_authorises() -> None:
    ev = await gather(txt(D, "v=spf1 mx -all"))
    found, skipped = run(ev)
    assert codes(found) == ["spf.ok"] and skipped == []
    assert "mx (192.0.2.10)" in found[0].cause and '"-all"' in found[0].cause
    assert f"{MX_IP} (MX mx.example.com): pass" in found[0].evidence


async def test_dns_failure_is_not_checked_never_missing() -> None:
    for status in (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR, DnsStatus.NXDOMAIN):
        ev = await gather({(D, "TXT"): status})
        found, skipped = run(ev)
        assert found == [], status
        assert len(skipped) == 1 and skipped[0].what == "spf.spf_record"
        assert status.value in skipped[0].reason or "does not exist" in skipped[0].reason


async def test_timeout_mid_chain_is_not_checked() -> None:
    ev = await gather(
        {
            **txt(D, "v=spf1 include:_spf.provider.example mx -all"),
            ("_spf.provider.example", "TXT"): DnsStatus.TIMEOUT,
        }
    )
    assert ev.walk is not None and ev.walk.result is SpfResult.TEMPERROR
    found, skipped = run(ev)
    assert found == []
    assert "_spf.provider.example" in skipped[0].reason


async def test_missing_record() -> None:
    ev = await gather(txt(D, "google-site-verification=abc"))
    found, _ = run(ev)
    assert codes(found) == ["spf.missing"]
    assert zone_txt(D, "v=spf1 mx -all") in found[0].fix
    assert "1 other TXT records" in found[0].evidence


async def test_multiple_records_are_merged_in_the_fix() -> None:
    ev = await gather(txt(D, "v=spf1 mx -all", "v=spf1 ip4:192.0.2.1 include:x.example ~all"))
    found, _ = run(ev)
    assert codes(found) == ["spf.multiple_records"]
    assert '"v=spf1 mx ip4:192.0.2.1 include:x.example -all"' in found[0].fix


async def test_syntax_error_with_position_and_corrected_record() -> None:
    ev = await gather(txt(D, "v=spf1 mx inclde:good.test -all"))
    found, _ = run(ev)
    assert codes(found) == ["spf.syntax_error"]
    f = found[0]
    assert "character 11" in f.cause and '"inclde:good.test"' in f.cause
    assert '"v=spf1 mx include:good.test -all"' in f.fix
    ev = await gather(txt(D, "v=spf1 ip4:192.0.2.1:25 -all"))
    (f,) = run(ev)[0]
    assert f.code == "spf.syntax_error" and "every error found" in f.fix


async def test_mechanism_written_as_modifier() -> None:
    ev = await gather(txt(D, "v=spf1 mx include=_spf.example.net -all"))
    found, _ = run(ev)
    assert codes(found) == ["spf.ignored_term"]
    assert '"v=spf1 mx include:_spf.example.net -all"' in found[0].fix


async def test_too_many_lookups_has_the_chain_and_a_flattened_fix() -> None:
    hosts = {(f"h{i}.example.com", "A"): [f"198.51.100.{i}"] for i in range(12)}
    ev = await gather(
        {
            **txt(D, "v=spf1 include:_a.example.com include:_b.example.com mx -all"),
            **txt("_a.example.com", "v=spf1 " + " ".join(f"a:h{i}.example.com" for i in range(6))),
            **txt("_b.example.com", "v=spf1 a:h6.example.com a:h7.example.com -all"),
            **hosts,
        }
    )
    found, _ = run(ev)
    assert codes(found) == ["spf.too_many_lookups"]
    f = found[0]
    assert "takes 11 DNS-querying terms" in f.cause and "including 192.0.2.10" in f.cause
    assert '"mx" in the record of example.com' in f.cause
    lines = f.evidence.splitlines()
    assert lines[1].startswith("total  cost  term")
    assert lines[2].split() == ["1", "+1", "include:_a.example.com"]
    assert lines[3].split() == ["2", "+1", "a:h0.example.com"]
    assert "number 11: receivers stop here" in lines[-2]
    assert "ip4:198.51.100.5 ip4:198.51.100.6" in f.fix and "costing 0 lookups" in f.fix


async def test_void_lookups() -> None:
    ev = await gather(
        txt(D, "v=spf1 a:v1.example.com a:v2.example.com exists:v3.example.com mx -all")
    )
    found, _ = run(ev)
    assert codes(found) == ["spf.void_lookups"]
    assert '"v=spf1 mx -all"' in found[0].fix
    assert "(void: no such record)" in found[0].evidence


async def test_include_without_record_is_permerror() -> None:
    ev = await gather(txt(D, "v=spf1 mx include:_spf.gone.example -all"))
    found, _ = run(ev)
    assert codes(found) == ["spf.permerror"]
    assert "no SPF record there" in found[0].cause


async def test_permissive_all_by_case() -> None:
    found, _ = run(await gather(txt(D, "v=spf1 mx +all")))
    assert codes(found) == ["spf.permissive_all"] and found[0].severity is Severity.ERROR
    assert '"v=spf1 mx -all"' in found[0].fix
    found, _ = run(await gather(txt(D, "v=spf1 mx ?all")))
    assert codes(found) == ["spf.permissive_all"] and found[0].severity is Severity.WARNING
    found, _ = run(await gather(txt(D, "v=spf1 mx")))
    assert codes(found) == ["spf.permissive_all"] and "no 'all' term" in found[0].cause
    assert '"v=spf1 mx -all"' in found[0].fix
    # +all hidden in an include passes everyone just the same
    found, _ = run(
        await gather(
            {**txt(D, "v=spf1 include:open.example -all"), **txt("open.example", "v=spf1 +all")}
        )
    )
    assert "spf.permissive_all" in codes(found) and "include:open.example" in found[0].cause


async def test_softfail_all_is_info_beside_ok() -> None:
    found, _ = run(await gather(txt(D, "v=spf1 mx ~all")))
    assert codes(found) == ["spf.softfail_all", "spf.ok"]
    assert found[0].severity is Severity.INFO and '"v=spf1 mx -all"' in found[0].fix


async def test_ptr_mechanism() -> None:
    found, _ = run(await gather(txt(D, "v=spf1 mx ptr -all")))
    assert codes(found) == ["spf.ptr_mechanism"]
    assert '"v=spf1 mx -all"' in found[0].fix


async def test_ptr_only_server_is_listed_by_address_in_the_fix() -> None:
    ev = await gather(
        {
            **txt(D, "v=spf1 ptr -all"),
            ("10.2.0.192.in-addr.arpa", "PTR"): ["mx.example.com."],
        }
    )
    found, _ = run(ev)
    assert codes(found) == ["spf.ptr_mechanism"]
    assert '"v=spf1 ip4:192.0.2.10 -all"' in found[0].fix


async def test_long_record_is_split_in_the_fix_and_flagged() -> None:
    big = "v=spf1 mx " + " ".join(f"ip4:10.{i // 250}.{i % 250}.0/24" for i in range(320)) + " -all"
    assert len(big) > 5000
    found, _ = run(await gather(txt(D, big)))
    assert codes(found) == ["spf.record_too_long"]
    assert f"is {len(big)} characters long" in found[0].cause
    zone_line = zone_txt(D, big)
    assert zone_line.count('" "') == len(big) // 255


async def test_server_not_authorized_with_the_fixed_record() -> None:
    ev = await gather(txt(D, "v=spf1 ip4:192.0.2.1 -all"), sending=("2001:db8::25",))
    found, _ = run(ev)
    assert codes(found) == ["spf.server_not_authorized"]
    f = found[0]
    assert f.severity is Severity.ERROR
    assert "192.0.2.10 (MX mx.example.com)" in f.cause and "2001:db8::25 (--sending-ip)" in f.cause
    assert '"v=spf1 ip4:192.0.2.1 ip6:2001:db8::25 ip4:192.0.2.10 -all"' in f.fix
    # softfail from an MX only: a warning (an MX may receive without sending)
    found, _ = run(await gather(txt(D, "v=spf1 ip4:192.0.2.1 ~all")))
    assert codes(found) == ["spf.softfail_all", "spf.server_not_authorized"]
    assert found[1].severity is Severity.WARNING


async def test_private_mx_addresses_are_skipped_unless_allowed() -> None:
    zone = {**txt(D, "v=spf1 -all"), ("mx.example.com", "A"): ["10.0.0.5"]}
    settings = Settings()
    ctx = ProbeContext(D, settings, FakeDns(Zone(zone)), None)  # type: ignore[arg-type]
    ev = await probe_spf(ctx, _mx(("10.0.0.5",)))
    assert ev.servers == () and "10.0.0.5: private address" in ev.servers_skipped[0]
    ctx = ProbeContext(D, Settings(allow_private=True), FakeDns(Zone(zone)), None)  # type: ignore[arg-type]
    ev = await probe_spf(ctx, _mx(("10.0.0.5",)))
    assert [s.ip for s in ev.servers] == ["10.0.0.5"]


async def test_txt_of_many_strings_through_the_real_dns_client() -> None:
    # A TXT record of 12 character-strings on a real (loopback) name server: the DNS client
    # joins them without separator (RFC 7208 3.3) and the record evaluates as one.
    from maildoctor.net.dns import DnsClient
    from maildoctor.net.limits import Limits
    from maildoctor.settings import parse_resolver

    from .fake_dns import fake_dns

    strings = [
        '"v=spf1 "',
        '"ip4:192.0.2.1 "',
        *(f'"ip4:198.51.100.{i} "' for i in range(9)),
        '"mx -all"',
    ]
    zone = {
        (D, "TXT"): [" ".join(strings)],
        (D, "MX"): ["10 mx.example.com."],
        ("mx.example.com", "A"): [MX_IP],
    }
    with fake_dns(zone) as port:
        settings = Settings(resolvers=(parse_resolver(f"127.0.0.1:{port}"),), allow_private=True)
        client = DnsClient(settings, Limits(8, 8))
        ctx = ProbeContext(D, settings, client, Limits(8, 8))
        ev = await probe_spf(ctx, _mx((MX_IP,)))
    assert ev.records == (
        "v=spf1 ip4:192.0.2.1 " + "".join(f"ip4:198.51.100.{i} " for i in range(9)) + "mx -all",
    )
    found, _ = run(ev)
    assert codes(found) == ["spf.ok"]
    assert ev.servers[0].evaluation.result is SpfResult.PASS
