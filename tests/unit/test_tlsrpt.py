"""records/tlsrpt.py and checks/tlsrpt.py: the _smtp._tls record (RFC 8460 3)."""

from __future__ import annotations

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.tlsrpt import tlsrpt
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.mta_sts import TlsRptEvidence
from maildoctor.records.tlsrpt import discover, parse_record, uri_problem
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

D = "example.com"


def run(*records: str, status: DnsStatus = DnsStatus.NOERROR) -> list[Finding | NotChecked]:
    res = DnsResult(f"_smtp._tls.{D}", "TXT", status, records=records)
    ev = TlsRptEvidence(D, res, DnsStatus.NOERROR, ("mx.example.com",))
    return list(tlsrpt(CheckContext(Settings(), catalogue.load()), ev))


def test_valid_records() -> None:
    r = parse_record("v=TLSRPTv1; rua=mailto:tlsrpt@example.com")
    assert r.valid and r.rua == ("mailto:tlsrpt@example.com",)
    r = parse_record("v=TLSRPTv1;rua=mailto:a@example.com, https://reports.example.net/tlsrpt;")
    assert r.valid and r.rua == ("mailto:a@example.com", "https://reports.example.net/tlsrpt")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=TLSRPTv1; rua=tlsrpt@example.com", "has no scheme"),
        ("v=TLSRPTv1; rua=ftp://example.com/x", "must be mailto: or https:"),
        ("v=TLSRPTv1; rua=http://example.com/x", "must be mailto: or https:"),
        ("v=TLSRPTv1; rua=mailto:nobody", "not a mailto: address"),
        ("v=TLSRPTv1; rua=https:/example.com", "not an https:// URL"),
        ("v=TLSRPTv1;", "no rua="),
        ("v=TLSRPTv1; ruf=mailto:a@example.com", "no rua="),
        ("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "rua= appears 2 times"),
        ("v=TLSRPTv1 rua=mailto:a@example.com", 'does not begin with "v=TLSRPTv1;"'),
        ("v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI"),
    ],
)
def test_record_problems(text: str, problem: str) -> None:
    r = parse_record(text)
    assert not r.valid and any(problem in p for p in r.problems), r.problems


def test_hostile_record_is_bounded() -> None:
    text = "v=TLSRPTv1; rua=" + ",".join(f"mailto:a{i}@example.com" for i in range(2000))
    r = parse_record(text)
    assert len(r.rua) == 20 and r.valid
    r = parse_record("v=TLSRPTv1; " + "x=y;" * 5000)
    assert not r.valid and len(r.problems) <= 20
    assert uri_problem("mailto:a@" + "b" * 300 + ".com") is not None


def test_discover() -> None:
    assert discover(["v=spf1 -all"]).records == ()
    d = discover(["v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"])
    assert d.record is None and "2 v=TLSRPTv1 records" in d.problems[0]


def test_check_ok_missing_invalid() -> None:
    (f,) = run("v=TLSRPTv1; rua=mailto:tlsrpt@example.com")
    assert (
        isinstance(f, Finding) and f.code == "tlsrpt.ok" and "mailto:tlsrpt@example.com" in f.cause
    )
    (f,) = run(status=DnsStatus.NXDOMAIN)
    assert isinstance(f, Finding) and f.code == "tlsrpt.missing" and f.severity is Severity.INFO
    assert (
        '_smtp._tls.example.com.  3600  IN  TXT  "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"'
        in f.fix
    )
    (f,) = run("v=TLSRPTv1; rua=tlsrpt@example.com")
    assert isinstance(f, Finding) and f.code == "tlsrpt.invalid" and f.severity is Severity.WARNING
    assert "has no scheme" in f.cause and "rua=mailto:tlsrpt@example.com" in f.fix
    # the usable URIs of a broken record are kept in the corrected one
    (f,) = run("v=TLSRPTv1; rua=mailto:ops@example.com,ftp://x.example.com/")
    assert isinstance(f, Finding) and 'rua=mailto:ops@example.com"' in f.fix


def test_dns_failure_is_not_missing() -> None:
    (nc,) = run(status=DnsStatus.SERVFAIL)
    assert isinstance(nc, NotChecked) and "SERVFAIL" in nc.reason


def test_domain_that_does_not_exist_is_not_checked() -> None:
    res = DnsResult(f"_smtp._tls.{D}", "TXT", DnsStatus.NXDOMAIN)
    ev = TlsRptEvidence(D, res, DnsStatus.NXDOMAIN)
    (nc,) = tlsrpt(CheckContext(Settings(), catalogue.load()), ev)
    assert isinstance(nc, NotChecked) and "does not exist" in nc.reason


def test_no_mx_is_not_checked_unless_published() -> None:
    ctx = CheckContext(Settings(), catalogue.load())
    res = DnsResult(f"_smtp._tls.{D}", "TXT", DnsStatus.NXDOMAIN)
    (nc,) = tlsrpt(ctx, TlsRptEvidence(D, res, DnsStatus.NODATA, ()))
    assert isinstance(nc, NotChecked) and "has no MX host" in nc.reason
    res = DnsResult(f"_smtp._tls.{D}", "TXT", DnsStatus.NOERROR, records=("v=TLSRPTv1; rua=x",))
    (f,) = tlsrpt(ctx, TlsRptEvidence(D, res, DnsStatus.NODATA, ()))
    assert isinstance(f, Finding) and f.code == "tlsrpt.invalid"
