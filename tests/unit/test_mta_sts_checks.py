"""checks/mta_sts.py on hand-built evidence: every code, and what cannot be decided."""

from __future__ import annotations

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.mta_sts import mta_sts
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.evidence.mta_sts import MtaStsEvidence
from maildoctor.records.mta_sts import parse_policy
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

D = "example.com"
HOST = f"mta-sts.{D}"
URL = f"https://{HOST}/.well-known/mta-sts.txt"
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 1209600\r\n"


def ctx() -> CheckContext:
    return CheckContext(Settings(), catalogue.load())


def txt(*records: str, status: DnsStatus = DnsStatus.NOERROR) -> DnsResult:
    if not records and status is DnsStatus.NOERROR:
        status = DnsStatus.NXDOMAIN
    return DnsResult(f"_mta-sts.{D}", "TXT", status, records=records)


def fetch(
    body: str = POLICY,
    status: int | None = 200,
    *,
    error: FetchError = FetchError.NONE,
    detail: str = "",
    ctype: str = "text/plain",
    location: str | None = None,
    truncated: bool = False,
) -> HttpFetch:
    headers = [("content-type", ctype)] if ctype else []
    if location:
        headers.append(("location", location))
    if error is not FetchError.NONE:
        return HttpFetch(URL, "GET", HOST, "192.0.2.80", 443, error, detail)
    return HttpFetch(
        URL,
        "GET",
        HOST,
        "192.0.2.80",
        443,
        status=status,
        reason="OK" if status == 200 else "X",
        headers=tuple(headers),
        body=body,
        body_bytes=len(body),
        truncated=truncated,
    )


def evidence(
    txt_result: DnsResult,
    policy: HttpFetch | None,
    mx: tuple[str, ...] = ("mx1.example.com",),
    mx_status: DnsStatus = DnsStatus.NOERROR,
    a_status: DnsStatus = DnsStatus.NOERROR,
) -> MtaStsEvidence:
    a = DnsResult(
        HOST, "A", a_status, records=("192.0.2.80",) if a_status is DnsStatus.NOERROR else ()
    )
    aaaa = DnsResult(HOST, "AAAA", DnsStatus.NODATA if a_status is DnsStatus.NOERROR else a_status)
    return MtaStsEvidence(D, txt_result, HOST, a, aaaa, policy, mx_status, mx)


def run(ev: MtaStsEvidence) -> tuple[list[Finding], list[NotChecked]]:
    out = list(mta_sts(ctx(), ev))
    return [f for f in out if isinstance(f, Finding)], [n for n in out if isinstance(n, NotChecked)]


def codes(ev: MtaStsEvidence) -> list[str]:
    return [f.code for f in run(ev)[0]]


def test_good_policy_is_ok() -> None:
    found, nc = run(evidence(txt("v=STSv1; id=20240101"), fetch()))
    assert [f.code for f in found] == ["mta_sts.ok"] and not nc
    assert "mx1.example.com" in found[0].evidence


def test_missing_gives_the_policy_for_the_real_mx() -> None:
    ev = evidence(
        txt(), None, mx=("mx1.example.com", "mx2.example.com"), a_status=DnsStatus.NXDOMAIN
    )
    (f,) = run(ev)[0]
    assert f.code == "mta_sts.missing" and f.severity is Severity.INFO
    assert "mx: mx1.example.com\n  mx: mx2.example.com" in f.fix
    assert '_mta-sts.example.com.  3600  IN  TXT  "v=STSv1; id=' in f.fix
    assert "https://mta-sts.example.com/.well-known/mta-sts.txt" in f.fix
    # the suggested policy parses: what we tell people to publish is valid
    lines = [x.strip() for x in f.fix.splitlines() if x.startswith("  ") and ":" in x]
    policy_text = "\n".join(
        x for x in lines if x.split(":")[0] in ("version", "mode", "mx", "max_age")
    )
    assert parse_policy(policy_text).valid


def test_policy_served_without_txt() -> None:
    (f,) = run(evidence(txt(), fetch()))[0]
    assert f.code == "mta_sts.txt_missing" and f.severity is Severity.WARNING
    assert "v=STSv1; id=" in f.fix


def test_dns_failure_is_not_checked_never_missing() -> None:
    found, nc = run(evidence(txt(status=DnsStatus.TIMEOUT), None))
    assert found == [] and nc and "TIMEOUT" in nc[0].reason
    # TXT present, policy host lookup SERVFAIL: the policy cannot be judged
    found, nc = run(evidence(txt("v=STSv1; id=1"), None, a_status=DnsStatus.SERVFAIL))
    assert found == [] and nc[0].what == "mta_sts policy"


def test_record_invalid_and_multiple() -> None:
    found, _ = run(evidence(txt("v=STSv1; id=1", "v=STSv1; id=2"), fetch()))
    assert [f.code for f in found] == ["mta_sts.record_invalid"]
    assert "2 v=STSv1 records" in found[0].cause
    found, _ = run(evidence(txt("v=STSv1; id=not-valid!"), fetch()))
    assert found[0].code == "mta_sts.record_invalid" and "1 to 32" in found[0].cause


def test_policy_unreachable_reasons() -> None:
    cases = [
        (fetch(status=404, ctype="text/html"), "HTTP 404"),
        (
            fetch(status=301, location="https://www.example.com/p"),
            "redirect to https://www.example.com/p",
        ),
        (
            fetch(error=FetchError.CERT, detail="self-signed certificate"),
            "does not verify: self-signed",
        ),
        (fetch(error=FetchError.TIMEOUT, detail="no complete response within 10 s"), "timeout"),
        (None, "has no address (NXDOMAIN)"),
    ]
    for policy, reason in cases:
        a_status = DnsStatus.NXDOMAIN if policy is None else DnsStatus.NOERROR
        found, _ = run(evidence(txt("v=STSv1; id=1"), policy, a_status=a_status))
        assert [f.code for f in found] == ["mta_sts.policy_unreachable"], reason
        assert reason in found[0].cause, found[0].cause


def test_policy_invalid_shows_the_corrected_policy() -> None:
    bad = "version: STSv1\nmode: enforced\nmx: mx1.example.com\nmax_age: 86400\n"
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(bad)))[0]
    assert f.code == "mta_sts.policy_invalid"
    assert "'enforced'" in f.cause
    assert "mode: enforce\n  mx: mx1.example.com" in f.fix
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(ctype="text/html")))[0]
    assert f.code == "mta_sts.policy_invalid" and "Content-Type text/html" in f.cause
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(truncated=True)))[0]
    assert f.code == "mta_sts.policy_invalid" and "64 KiB" in f.cause


def test_mx_mismatch_error_in_enforce_warning_in_testing() -> None:
    ev = evidence(txt("v=STSv1; id=1"), fetch(), mx=("mx1.example.com", "backup.example.net"))
    (f,) = run(ev)[0]
    assert f.code == "mta_sts.mx_mismatch" and f.severity is Severity.ERROR
    assert "backup.example.net" in f.cause and "cannot-receive" in f.symptoms
    assert "mx: mx1.example.com\n  mx: backup.example.net" in f.fix
    testing = POLICY.replace("enforce", "testing")
    found, _ = run(evidence(txt("v=STSv1; id=1"), fetch(testing), mx=("other.example.org",)))
    by_code = {f.code: f for f in found}
    assert set(by_code) == {"mta_sts.mx_mismatch", "mta_sts.mode_testing"}
    assert by_code["mta_sts.mx_mismatch"].severity is Severity.WARNING
    # a wildcard that covers the MX
    wild = POLICY.replace("mx: mx1.example.com", "mx: *.example.com")
    assert codes(evidence(txt("v=STSv1; id=1"), fetch(wild))) == ["mta_sts.ok"]


def test_mx_not_known_is_not_checked() -> None:
    found, nc = run(evidence(txt("v=STSv1; id=1"), fetch(), mx=(), mx_status=DnsStatus.SERVFAIL))
    assert found == [] and nc[0].what == "mta_sts mx match"


def test_mode_none_and_testing() -> None:
    none = "version: STSv1\nmode: none\nmax_age: 86400\n"
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(none)))[0]
    assert f.code == "mta_sts.mode_none" and f.severity is Severity.WARNING
    assert "mx: mx1.example.com" in f.fix
    testing = POLICY.replace("enforce", "testing")
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(testing)))[0]
    assert f.code == "mta_sts.mode_testing" and f.severity is Severity.INFO


def test_max_age_short() -> None:
    hour = POLICY.replace("1209600", "3600")
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(hour)))[0]
    assert f.code == "mta_sts.max_age_short" and f.severity is Severity.WARNING
    assert "(1 hour)" in f.cause and "max_age: 1209600" in f.fix
    assert '_mta-sts.example.com.  3600  IN  TXT  "v=STSv1; id=' in f.fix
    two_days = POLICY.replace("1209600", "172800")
    (f,) = run(evidence(txt("v=STSv1; id=1"), fetch(two_days)))[0]
    assert f.code == "mta_sts.max_age_short" and f.severity is Severity.INFO
    assert "(2 days)" in f.cause


def test_domain_that_does_not_exist_is_not_checked() -> None:
    found, nc = run(evidence(txt(), None, mx=(), mx_status=DnsStatus.NXDOMAIN))
    assert found == [] and "does not exist" in nc[0].reason


def test_no_mx_or_null_mx_is_not_checked_unless_something_is_published() -> None:
    for status in (DnsStatus.NODATA, DnsStatus.NOERROR):  # no MX; null MX (no host names)
        found, nc = run(evidence(txt(), None, mx=(), mx_status=status, a_status=DnsStatus.NXDOMAIN))
        assert found == [] and "has no MX host" in nc[0].reason
    # a record published for a domain without MX is still judged
    found, _ = run(evidence(txt("v=STSv1; id=1"), fetch(), mx=(), mx_status=DnsStatus.NODATA))
    assert [f.code for f in found] == ["mta_sts.ok"]
