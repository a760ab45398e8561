"""Reverse DNS rules on hand-built evidence: PTR present, forward-confirmed, not generic."""

from __future__ import annotations

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext, all_checks, apply
from maildoctor.checks.ptr import generic_reason, reverse_dns
from maildoctor.evidence import ProbeFailure
from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence
from maildoctor.evidence.ptr import PtrEvidence, PtrLookup, PtrName, ServerIp, SkippedIp
from maildoctor.probes.ptr import reverse_name, server_ips
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

from .evidence_samples import a, host, mx

OK = DnsStatus.NOERROR


def ctx(**kw: object) -> CheckContext:
    return CheckContext(Settings(**kw), catalogue.load())  # type: ignore[arg-type]


def fwd(name: str, *ips: str, status: DnsStatus | None = None, v6: bool = False) -> DnsResult:
    rdtype = "AAAA" if v6 else "A"
    if status is not None:
        return DnsResult(name, rdtype, status, detail="no answer within 5 s")
    if not ips:
        return DnsResult(name, rdtype, DnsStatus.NXDOMAIN)
    return DnsResult(name, rdtype, OK, records=ips)


def lookup(
    ip: str,
    *names: PtrName,
    status: DnsStatus = OK,
    role: str = "MX mx1.example.com",
    not_followed: tuple[str, ...] = (),
) -> PtrLookup:
    rname = reverse_name(ip)
    records = tuple(n.name + "." for n in names) + tuple(n + "." for n in not_followed)
    ptr = DnsResult(rname, "PTR", status, records=records if status is OK else ())
    return PtrLookup(ServerIp(ip, (role,)), rname, ptr, names, not_followed)


def run(*lookups: PtrLookup, skipped: tuple[SkippedIp, ...] = ()) -> list[Finding | NotChecked]:
    return list(reverse_dns(ctx(), PtrEvidence("example.com", lookups, skipped)))


def codes(items: list[Finding | NotChecked]) -> list[str]:
    return [i.code if isinstance(i, Finding) else "not-checked" for i in items]


def test_forward_confirmed_ptr_is_ok() -> None:
    lk = lookup(
        "93.184.215.10", PtrName("mx1.example.com", fwd("mx1.example.com", "93.184.215.10"))
    )
    (f,) = run(lk)
    assert isinstance(f, Finding) and f.code == "ptr.ok" and f.severity is Severity.OK
    assert f.evidence == "93.184.215.10 -> mx1.example.com -> 93.184.215.10"


@pytest.mark.parametrize("status", [DnsStatus.NXDOMAIN, DnsStatus.NODATA])
def test_no_ptr_is_missing_with_the_exact_record_to_ask_for(status: DnsStatus) -> None:
    (f,) = run(lookup("93.184.215.10", status=status))
    assert isinstance(f, Finding) and f.code == "ptr.missing"
    assert f.severity is Severity.ERROR and f.subject == "93.184.215.10"
    assert status.value in f.cause and "MX mx1.example.com" in f.cause
    assert "10.215.184.93.in-addr.arpa.  3600  IN  PTR  mx1.example.com." in f.fix
    assert "mx1.example.com.  3600  IN  A  93.184.215.10" in f.fix
    assert "hosting provider or ISP" in f.fix
    assert set(f.symptoms) == {"spam-folder", "cannot-send"}


def test_ptr_for_a_sending_ip_suggests_a_mail_name() -> None:
    (f,) = run(lookup("198.51.100.7", status=DnsStatus.NXDOMAIN, role="sending IP"))
    assert isinstance(f, Finding) and f.code == "ptr.missing"
    assert "PTR  mail.example.com." in f.fix


@pytest.mark.parametrize("status", [DnsStatus.SERVFAIL, DnsStatus.TIMEOUT, DnsStatus.ERROR])
def test_dns_failure_on_the_ptr_is_not_checked_never_missing(status: DnsStatus) -> None:
    (item,) = run(lookup("93.184.215.10", status=status))
    assert isinstance(item, NotChecked)
    assert "93.184.215.10" in item.what and status.value in item.reason


def test_ptr_that_does_not_point_back_is_a_mismatch() -> None:
    lk = lookup(
        "93.184.215.19", PtrName("other.example.com", fwd("other.example.com", "203.0.113.9"))
    )
    (f,) = run(lk)
    assert isinstance(f, Finding) and f.code == "ptr.mismatch" and f.severity is Severity.ERROR
    assert "other.example.com A: 203.0.113.9" in f.evidence
    assert "other.example.com.  3600  IN  A  93.184.215.19" in f.fix
    assert "PTR  mx1.example.com." in f.fix


def test_ptr_name_without_address_is_a_mismatch() -> None:
    lk = lookup("93.184.215.19", PtrName("gone.example.com", fwd("gone.example.com")))
    assert codes(run(lk)) == ["ptr.mismatch"]


def test_forward_lookup_timeout_is_not_checked() -> None:
    name = PtrName("mx1.example.com", fwd("mx1.example.com", status=DnsStatus.TIMEOUT))
    (item,) = run(lookup("93.184.215.10", name))
    assert isinstance(item, NotChecked) and "TIMEOUT" in item.reason


def test_one_confirmed_name_among_several_is_enough() -> None:
    lk = lookup(
        "93.184.215.10",
        PtrName("old.example.net", fwd("old.example.net")),
        PtrName("mx1.example.com", fwd("mx1.example.com", "93.184.215.10")),
    )
    assert codes(run(lk)) == ["ptr.ok"]


def test_ipv6_confirmation_compares_addresses_not_text() -> None:
    ip = "2001:db8::25"
    name = PtrName("mx1.example.com", fwd("mx1.example.com", "2001:DB8:0:0::25", v6=True))
    lk = lookup(ip, name)
    assert lk.reverse_name.endswith(".8.b.d.0.1.0.0.2.ip6.arpa")
    assert codes(run(lk)) == ["ptr.ok"]
    (f,) = run(
        lookup(ip, PtrName("mx1.example.com", fwd("mx1.example.com", "2001:db8::26", v6=True)))
    )
    assert isinstance(f, Finding) and f.code == "ptr.mismatch"
    assert "IN  AAAA  2001:db8::25" in f.fix


@pytest.mark.parametrize(
    ("name", "ip"),
    [
        ("93-184-215-10.static.example.net", "93.184.215.10"),
        ("10.215.184.93.in-addr.example.net", "93.184.215.10"),
        ("host-093-184-215-010.example.net", "93.184.215.10"),
        ("c-5db8d70a.example.net", "93.184.215.10"),  # hexadecimal
        ("adsl.pool.example.net", "93.184.215.10"),
        ("p3e9a1b2c.dip0.t-ipconnect.de", "62.154.27.44"),
        ("cpe-1.dynamic.example.net", "198.51.100.1"),
        ("2001-db8--25.cust.example.net", "2001:db8::25"),
    ],
)
def test_generic_names(name: str, ip: str) -> None:
    assert generic_reason(name, ip) is not None


@pytest.mark.parametrize(
    ("name", "ip"),
    [
        ("mx1.example.com", "93.184.215.10"),
        ("mail.pool-party.com", "93.184.215.10"),  # the word is in the registrable part
        ("smtp10.example.com", "93.184.215.10"),
        ("mx.good.test", "127.0.10.1"),
        ("mail.example.com", "2001:db8::25"),
    ],
)
def test_proper_names_are_not_generic(name: str, ip: str) -> None:
    assert generic_reason(name, ip) is None


def test_generic_confirmed_name_is_a_warning() -> None:
    name = "93-184-215-10.dsl.example.net"
    lk = lookup("93.184.215.10", PtrName(name, fwd(name, "93.184.215.10")))
    (f,) = run(lk)
    assert isinstance(f, Finding) and f.code == "ptr.generic"
    assert f.severity is Severity.WARNING
    assert "contains the address 93.184.215.10" in f.cause
    assert "myhostname = mx1.example.com" in f.fix


def test_problems_and_ok_side_by_side_and_skipped_addresses() -> None:
    good = lookup(
        "93.184.215.10", PtrName("mx1.example.com", fwd("mx1.example.com", "93.184.215.10"))
    )
    bad = lookup("93.184.215.11", status=DnsStatus.NXDOMAIN, role="MX mx2.example.com")
    items = run(good, bad, skipped=(SkippedIp("10.0.0.5", "private address, not looked up"),))
    assert sorted(codes(items)) == ["not-checked", "ptr.missing", "ptr.ok"]
    (nc,) = [i for i in items if isinstance(i, NotChecked)]
    assert "10.0.0.5" in nc.what and "private" in nc.reason


def test_no_address_at_all_is_not_checked() -> None:
    (item,) = run()
    assert isinstance(item, NotChecked) and "no server address" in item.reason


def test_ptr_names_beyond_the_bound_are_reported_not_followed() -> None:
    names = [PtrName(f"n{i}.example.net", fwd(f"n{i}.example.net")) for i in range(8)]
    lk = lookup("93.184.215.10", *names, not_followed=("n8.example.net", "n9.example.net"))
    (f,) = run(lk)
    assert isinstance(f, Finding) and f.code == "ptr.mismatch"
    assert "2 more PTR names not followed" in f.evidence


def test_evidence_answers_the_helo_rule_questions() -> None:
    lk = lookup(
        "2001:db8::25",
        PtrName("mx1.example.com", fwd("mx1.example.com", "2001:db8::25", v6=True)),
        PtrName("other.example.com", fwd("other.example.com", v6=True)),
    )
    ev = PtrEvidence("example.com", (lk,))
    assert ev.names("2001:DB8::25") == ("mx1.example.com", "other.example.com")
    assert ev.confirmed("2001:db8:0::25") == ("mx1.example.com",)
    assert ev.names("192.0.2.1") == () and ev.lookup("not an ip") is None


def test_server_ips_dedupes_keeps_roles_and_skips_private() -> None:
    ev = mx(
        "example.com",
        host(10, "mx1.example.com", "93.184.215.10"),
        host(20, "mx2.example.com", "93.184.215.10", "10.0.0.5"),
    )
    servers, skipped = server_ips(ev, Settings(sending_ips=("93.184.216.7", "93.184.215.10")))
    assert [(s.ip, s.roles) for s in servers] == [
        ("93.184.215.10", ("MX mx1.example.com", "MX mx2.example.com", "sending IP")),
        ("93.184.216.7", ("sending IP",)),
    ]
    assert [s.ip for s in skipped] == ["10.0.0.5"] and "private" in skipped[0].reason
    servers, skipped = server_ips(ev, Settings(allow_private=True))
    assert [s.ip for s in servers] == ["93.184.215.10", "10.0.0.5"] and skipped == ()


def test_server_ips_uses_the_implicit_mx_and_is_bounded() -> None:
    implicit = MxEvidence(
        "nomx.example",
        DnsResult("nomx.example", "MX", DnsStatus.NODATA),
        (),
        fallback_a=a("nomx.example", "93.184.215.80"),
    )
    servers, _ = server_ips(implicit, Settings())
    assert [(s.ip, s.roles) for s in servers] == [("93.184.215.80", ("implicit MX nomx.example",))]
    many = mx("big.example", host(10, "mx.big.example", *(f"93.184.216.{i}" for i in range(40))))
    servers, skipped = server_ips(many, Settings(), limit=32)
    assert len(servers) == 32 and len(skipped) == 8
    assert "bound of 32" in skipped[0].reason


def test_failed_probe_makes_the_check_not_run() -> None:
    checks = [c for c in all_checks() if c.needs == ("dns.ptr",)]
    assert checks
    evidence = {"dns.ptr": ProbeFailure("dns.ptr", "deadline", "stopped at the run's deadline")}
    findings, not_checked = apply(checks, evidence, ctx())
    assert findings == [] and "deadline" in not_checked[0].reason
