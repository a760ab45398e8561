"""DMARC: record parsing (RFC 7489 6.3, 6.4), the organizational domain (RFC 7489 3.2) and the
rules, on hand-built evidence, hostile records included."""

from __future__ import annotations

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.dmarc import dmarc_policy
from maildoctor.evidence.dmarc import DmarcEvidence, ReportAuthorization
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.records.dmarc import (
    external_destinations,
    is_dmarc_record,
    organizational_domain,
    parse_record,
    parse_uri,
)
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

GOOD = "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"


def txt(name: str, *records: str, status: DnsStatus | None = None) -> DnsResult:
    if status is None:
        status = DnsStatus.NOERROR if records else DnsStatus.NXDOMAIN
    return DnsResult(name, "TXT", status, records=records, detail="x" if records else "")


def evidence(
    domain: str,
    *own: str,
    own_status: DnsStatus | None = None,
    org: tuple[str, ...] | DnsStatus | None = None,
    auth: dict[str, tuple[str, ...] | DnsStatus] | None = None,
    apex: DnsStatus = DnsStatus.NOERROR,
) -> DmarcEvidence:
    org_domain = organizational_domain(domain)
    org_result = None
    if org is not None:
        name = f"_dmarc.{org_domain}"
        org_result = txt(name, status=org) if isinstance(org, DnsStatus) else txt(name, *org)
    policy_domain = org_domain if not own and org_result is not None else domain
    auths = []
    for dest, answer in (auth or {}).items():
        name = f"{policy_domain}._report._dmarc.{dest}"
        result = txt(name, status=answer) if isinstance(answer, DnsStatus) else txt(name, *answer)
        auths.append(ReportAuthorization(policy_domain, dest, result))
    return DmarcEvidence(
        domain,
        org_domain,
        txt(f"_dmarc.{domain}", *own, status=own_status),
        DnsResult(domain, "MX", apex),
        org_result,
        tuple(auths),
    )


def run(ev: DmarcEvidence) -> tuple[list[Finding], list[NotChecked]]:
    out = list(dmarc_policy(CheckContext(Settings(), catalogue.load()), ev))
    return [f for f in out if isinstance(f, Finding)], [n for n in out if isinstance(n, NotChecked)]


def codes(ev: DmarcEvidence) -> list[str]:
    return sorted(f.code for f in run(ev)[0])


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "is_record"),
    [
        ("v=DMARC1; p=reject", True),
        ("v = DMARC1 ;p=none", True),
        ("v=DMARC1", True),
        ("p=reject; v=DMARC1", False),  # RFC 7489 6.3: v= must come first
        ("v=dmarc1; p=reject", False),  # the version value is case-sensitive
        ("v=DMARC1 p=reject", False),  # the ';' is missing: the v= value is "DMARC1 p=reject"
        ("v=DMARC10; p=reject", False),
        (" v=DMARC1; p=reject", False),
    ],
)
def test_which_txt_records_are_dmarc_records(text: str, is_record: bool) -> None:
    assert is_dmarc_record(text) is is_record


def test_full_record_parses_without_problems() -> None:
    rec = parse_record(
        "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=50; fo=1:d; rf=afrf; "
        "ri=86400; rua=mailto:a@example.com!10m,mailto:b@example.net; ruf=mailto:f@example.com"
    )
    assert rec.problems == ()
    assert (rec.policy, rec.subdomain_policy, rec.pct) == ("quarantine", "reject", 50)
    assert [u.domain for u in rec.rua] == ["example.com", "example.net"]
    assert rec.rua[0].limit == "!10m" and rec.effective_policy(subdomain=True) == "reject"


@pytest.mark.parametrize(
    ("text", "message", "applies"),
    [
        (
            "v=DMARC1; p=rejekt",
            "p=rejekt is not none, quarantine or reject (did you mean p=reject?)",
            False,
        ),
        ("v=DMARC1; rua=mailto:a@example.com", "no p= tag", False),
        ("p=reject; v=DMARC1", "must be the very first thing", False),
        ("v=DMARC1 p=reject", "a ';' is missing after v=DMARC1", False),
        ("v=dmarc1; p=reject", "must be exactly v=DMARC1", False),
        ("v=DMARC1; p=reject; p=none", "tag p= appears more than once", False),
        ("v=DMARC1; p=reject; pct=abc", "pct=abc: must be a whole number from 0 to 100", True),
        ("v=DMARC1; p=reject; pct=150", "pct=150", True),
        ("v=DMARC1; p=reject; sp=all", "sp=all is not none", True),
        ("v=DMARC1; p=reject; adkim=strict", "adkim=strict: must be r or s", True),
        ("v=DMARC1; p=reject; fo=2", "fo=2: allowed values are 0, 1, d, s", True),
        (
            "v=DMARC1; p=reject; rua=dmarc@example.com",
            "is an address, not a URI: write mailto:",
            True,
        ),
        ("v=DMARC1; p=reject; rua=mailto:nobody", "does not hold a valid mail address", True),
        ("v=DMARC1; p=reject; rua=https://r.example/x", "https: URIs are not supported", True),
        ("v=DMARC1; p=reject; rue=mailto:a@example.com", "unknown tag rue= is ignored", True),
        ("v=DMARC1; sp=none; p=reject", "p= should come right after v=DMARC1", True),
    ],
)
def test_syntax_problems_are_precise(text: str, message: str, applies: bool) -> None:
    rec = parse_record(text)
    assert any(message in p.message for p in rec.problems), rec.problems
    assert rec.policy_applies is applies


def test_corrected_record_fixes_and_keeps() -> None:
    rec = parse_record("v=DMARC1; p=rejekt; pct=abc; adkim=s; rua=mailto:d@example.com, foo")
    assert rec.corrected("example.com") == ("v=DMARC1; p=reject; adkim=s; rua=mailto:d@example.com")
    assert parse_record("v=DMARC1; p=none").corrected("ex.org", policy="quarantine") == (
        "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@ex.org"
    )


def test_uri_with_comma_list_and_size() -> None:
    uri = parse_uri(" mailto:dmarc%40x@example.com!5m ")
    assert not isinstance(uri, str) and uri.domain == "example.com" and uri.limit == "!5m"


def test_hostile_records_are_bounded() -> None:
    many = ",".join(f"mailto:r{i}@example{i}.net" for i in range(5000))
    rec = parse_record(f"v=DMARC1; p=reject; rua={many}")
    assert len(rec.rua) == 20 and any("5000 URIs" in p.message for p in rec.problems)
    nul = parse_record("v=DMARC1; p=reject\x00; rua=mailto:a@example.com")
    assert nul.problems and "\\x00" in nul.problems[0].message
    huge = parse_record("v=DMARC1; p=reject; x=" + "A" * 5000)
    assert huge.policy == "reject"
    assert all(len(p.message) < 300 for p in huge.problems)


def test_organizational_domain_from_the_public_suffix_list() -> None:
    # RFC 7489 3.2: public suffix + one label; the list ships inside publicsuffixlist
    assert organizational_domain("mail.sub.example.co.uk") == "example.co.uk"
    assert organizational_domain("a.b.example.com.") == "example.com"
    assert organizational_domain("sub.dmarc-org.test") == "dmarc-org.test"  # unknown TLD
    assert organizational_domain("co.uk") == "co.uk"  # a public suffix stays itself


def test_external_destinations() -> None:
    rec = parse_record(
        "v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@reports.example.com,"
        "mailto:c@dmarc.service.net; ruf=mailto:d@service.net"
    )
    assert external_destinations(rec, "mail.example.com") == ("dmarc.service.net", "service.net")


# --- the rules --------------------------------------------------------------------------------


def test_good_record_is_ok() -> None:
    (f,) = run(evidence("example.com", GOOD))[0]
    assert f.code == "dmarc.ok" and "p=reject" in f.title and f.subject == "example.com"


def test_missing_gives_a_ready_record_and_the_way_to_reject() -> None:
    (f,) = run(evidence("example.com"))[0]
    assert f.code == "dmarc.missing" and f.severity is Severity.ERROR
    assert (
        '_dmarc.example.com.  3600  IN  TXT  "v=DMARC1; p=quarantine; '
        'rua=mailto:dmarc-reports@example.com"' in f.fix
    )
    assert "p=reject" in f.fix and "spam" in f.cause


def test_missing_for_a_subdomain_points_at_the_organizational_domain() -> None:
    (f,) = run(evidence("shop.example.com", org=DnsStatus.NXDOMAIN))[0]
    assert f.code == "dmarc.missing" and "_dmarc.example.com." in f.fix


def test_timeout_is_not_missing() -> None:
    findings, not_checked = run(evidence("example.com", own_status=DnsStatus.TIMEOUT))
    assert findings == [] and not_checked[0].what == "DMARC policy"
    # nor is a timeout at the organizational domain
    findings, not_checked = run(evidence("a.example.com", org=DnsStatus.SERVFAIL))
    assert findings == [] and "example.com" in not_checked[0].what


def test_multiple_records() -> None:
    (f,) = run(evidence("example.com", GOOD, "v=DMARC1; p=none"))[0]
    assert f.code == "dmarc.multiple_records" and "2 DMARC records" in f.title
    assert "v=DMARC1; p=reject; rua=mailto:dmarc@example.com" in f.fix  # the strictest


def test_malformed_record_is_an_error_with_the_corrected_record() -> None:
    (f,) = run(evidence("example.com", "v=DMARC1; p=rejekt; pct=abc"))[0]
    assert f.code == "dmarc.syntax_error" and f.severity is Severity.ERROR
    assert "did you mean p=reject?" in f.cause and "pct=abc" in f.cause
    assert '"v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"' in f.fix


def test_minor_syntax_problem_is_a_warning_and_the_policy_still_judged() -> None:
    found = run(evidence("example.com", "v=DMARC1; p=none; pct=abc; rua=mailto:d@example.com"))[0]
    assert [(f.code, f.severity) for f in found] == [
        ("dmarc.syntax_error", Severity.WARNING),
        ("dmarc.policy_none", Severity.WARNING),
    ]


def test_record_not_starting_with_v_is_reported_not_missing() -> None:
    (f,) = run(evidence("example.com", "p=reject; v=DMARC1"))[0]
    assert f.code == "dmarc.syntax_error" and "does not exist" in f.cause
    # an unrelated TXT at _dmarc is ignored: the domain has no DMARC record
    assert codes(evidence("example.com", "google-site-verification=abc")) == ["dmarc.missing"]


def test_policy_none() -> None:
    (f,) = run(evidence("example.com", "v=DMARC1; p=none; rua=mailto:d@example.com"))[0]
    assert f.code == "dmarc.policy_none" and "spam" in f.cause
    assert '"v=DMARC1; p=quarantine; rua=mailto:d@example.com"' in f.fix


def test_pct_partial() -> None:
    (f,) = run(evidence("example.com", "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@example.com"))[
        0
    ]
    assert f.code == "dmarc.pct_partial" and "25%" in f.title and "pct" not in f.fix.split("TXT")[1]
    # with p=none, pct changes nothing: only policy_none
    assert codes(
        evidence("example.com", "v=DMARC1; p=none; pct=25; rua=mailto:d@x.example.com")
    ) == ["dmarc.policy_none"]


def test_no_reports_is_info_beside_ok() -> None:
    found = run(evidence("example.com", "v=DMARC1; p=reject"))[0]
    assert [(f.code, f.severity) for f in found] == [
        ("dmarc.no_reports", Severity.INFO),
        ("dmarc.ok", Severity.OK),
    ]
    assert "rua=mailto:dmarc-reports@example.com" in found[0].fix


def test_org_fallback_uses_sp() -> None:
    ev = evidence(
        "shop.example.com", org=("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com",)
    )
    found = run(ev)[0]
    assert [f.code for f in found] == ["dmarc.org_fallback", "dmarc.policy_none"]
    assert found[0].severity is Severity.INFO and "p=none (from its sp= tag)" in found[0].cause
    assert "sp=quarantine" in found[1].fix and "p=reject" in found[1].fix
    ev = evidence("shop.example.com", org=("v=DMARC1; p=reject; rua=mailto:d@example.com",))
    assert codes(ev) == ["dmarc.ok", "dmarc.org_fallback"]


def test_external_destination_authorisation() -> None:
    record = "v=DMARC1; p=reject; rua=mailto:d@example.com; ruf=mailto:f@reports.net"
    ev = evidence("example.com", record, auth={"reports.net": ("v=DMARC1",)})
    assert codes(ev) == ["dmarc.ok"]
    ev = evidence("example.com", record, auth={"reports.net": DnsStatus.NXDOMAIN})
    (f,) = run(ev)[0]
    assert f.code == "dmarc.external_destination_unauthorized"
    assert "failure (ruf)" in f.cause
    assert 'example.com._report._dmarc.reports.net.  3600  IN  TXT  "v=DMARC1"' in f.fix
    ev = evidence("example.com", record, auth={"reports.net": ("unrelated text",)})
    assert codes(ev) == ["dmarc.external_destination_unauthorized"]
    findings, not_checked = run(
        evidence("example.com", record, auth={"reports.net": DnsStatus.TIMEOUT})
    )
    assert [f.code for f in findings] == ["dmarc.ok"]  # a timeout is no verdict
    assert not_checked[0].what == "DMARC report authorisation of reports.net"


def test_domain_that_does_not_exist_is_not_checked() -> None:
    findings, not_checked = run(evidence("gone.example", apex=DnsStatus.NXDOMAIN))
    assert findings == [] and "NXDOMAIN" in not_checked[0].reason


def test_random_tag_soup_never_raises() -> None:
    import random

    rng = random.Random(7489)
    alphabet = "v=DMARC1;p=none quarantine reject sp=pct=100 rua=mailto:a@b.example,!10m \x00\t;;=é"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
        findings, _ = run(evidence("example.com", text, auth={}))
        assert findings  # a verdict for every record: ok, a problem, or missing
        assert all(len(f.evidence) < 400 for f in findings)
        assert len({f.code for f in findings} & {"dmarc.ok", "dmarc.missing"}) <= 1
