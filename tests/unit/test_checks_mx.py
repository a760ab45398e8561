from maildoctor import catalogue
from maildoctor.checks import CheckContext, apply
from maildoctor.checks.dns import domain_resolves
from maildoctor.checks.mx import mx_records
from maildoctor.evidence import ProbeFailure
from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence, MxHost
from maildoctor.report import Severity
from maildoctor.settings import Settings, parse_resolver

from .evidence_samples import GOOD, a, host, mx, mx_status, nodata


def ctx(**kw: object) -> CheckContext:
    return CheckContext(Settings(**kw), catalogue.load())  # type: ignore[arg-type]


def codes(ev: MxEvidence, **kw: object) -> list[str]:
    c = ctx(**kw)
    return [f.code for f in [*domain_resolves(c, ev), *mx_records(c, ev)]]


def test_good_mx_is_ok() -> None:
    found = list(mx_records(ctx(), GOOD))
    assert [f.code for f in found] == ["mx.ok"]
    assert "MX 10 mx1.example.com -> 93.184.215.10" in found[0].evidence


def test_nxdomain_servfail_and_resolver_failure() -> None:
    assert codes(mx_status("gone.example", DnsStatus.NXDOMAIN)) == ["dns.nxdomain"]
    assert codes(mx_status("lame.example", DnsStatus.SERVFAIL)) == ["dns.servfail"]
    timeout = mx_status("x.example", DnsStatus.TIMEOUT, "no answer within 5 s")
    found = list(domain_resolves(ctx(resolvers=(parse_resolver("192.0.2.53"),)), timeout))
    assert [f.code for f in found] == ["dns.resolver_unreachable"]
    assert found[0].subject == "192.0.2.53" and "192.0.2.53" in found[0].cause


def test_missing_mx_explains_the_implicit_fallback() -> None:
    ev = MxEvidence(
        "nomx.example",
        nodata("nomx.example", "MX"),
        (),
        fallback_a=a("nomx.example", "93.184.215.80"),
        fallback_aaaa=nodata("nomx.example", "AAAA"),
    )
    (f,) = mx_records(ctx(), ev)
    assert f.code == "mx.missing" and f.severity is Severity.ERROR
    assert "93.184.215.80" in f.cause and "MX  10 mail.nomx.example." in f.fix


def test_null_mx() -> None:
    ev = MxEvidence(
        "null.example",
        DnsResult("null.example", "MX", DnsStatus.NOERROR, records=("0 .",)),
        (MxHost(0, "", None, None),),
    )
    assert codes(ev) == ["mx.null"]


def test_ip_literal_cname_unresolvable() -> None:
    ip_host = MxHost(10, "93.184.215.25", None, None)
    assert codes(mx("ip.example", ip_host)) == ["mx.target_is_ip"]
    alias = host(10, "alias.example", "93.184.215.25", canonical="real.example")
    found = list(mx_records(ctx(), mx("cname.example", alias)))
    assert [f.code for f in found] == ["mx.target_is_cname"]
    assert "MX  10 real.example." in found[0].fix
    ghost = host(10, "ghost.example")
    found = list(mx_records(ctx(), mx("noaddr.example", ghost)))
    assert [f.code for f in found] == ["mx.target_unresolvable"]
    assert "NODATA/NXDOMAIN" in found[0].cause


def test_private_addresses_unless_allowed() -> None:
    ev = mx(
        "lan.example", host(10, "mx.lan.example", "10.1.2.3"), host(20, "lo.example", "127.0.0.5")
    )
    found = list(mx_records(ctx(), ev))
    assert [f.code for f in found] == ["mx.private_address", "mx.private_address"]
    assert "private" in found[0].cause and "loopback" in found[1].cause
    assert codes(ev, allow_private=True) == ["mx.ok"]


def test_failed_probe_becomes_not_checked() -> None:
    from maildoctor.checks import all_checks

    ev = {"dns.mx": ProbeFailure("dns.mx", "deadline", "stopped at the run's deadline")}
    findings, not_checked = apply(all_checks(), ev, ctx())
    assert findings == []
    assert {n.what for n in not_checked} == {"dns.domain_resolves", "mx.mx_records"}
    assert all("deadline" in n.reason for n in not_checked)
