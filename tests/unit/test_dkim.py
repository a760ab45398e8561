"""DKIM: the tag-list parser (RFC 6376 3.2), key loading (RFC 6376 3.6.1, RFC 8463) and the
rules, on hand-built evidence, hostile records included."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.dkim import dkim_keys
from maildoctor.evidence.dkim import DkimEvidence, DkimSelector
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.records.dkim import KeyInfo, load_key, parse_key_record, parse_tag_list, shown
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

DOMAIN = "example.com"
# RFC 8463 A.2: the Ed25519 public key of the example
ED25519_P = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def _rsa_p(
    bits: int, fmt: serialization.PublicFormat = serialization.PublicFormat.SubjectPublicKeyInfo
) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return base64.b64encode(key.public_bytes(serialization.Encoding.DER, fmt)).decode()


# cryptography will not generate keys under 1024 bits; this one is from
# `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512`
RSA_512 = (
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALrnicDEy5YgtxJncWMORDGL/wqSPZnLto0opIUtvrp16NwgDsSnkaQOxJCp"
    "YGDeODVJzUwOfk+04pQ/DdbTlQUCAwEAAQ=="
)
RSA_1024 = _rsa_p(1024)
RSA_2048 = _rsa_p(2048)


def ctx() -> CheckContext:
    return CheckContext(Settings(), catalogue.load())


def txt(name: str, *records: str, status: DnsStatus | None = None, detail: str = "") -> DnsResult:
    if status is None:
        status = DnsStatus.NOERROR if records else DnsStatus.NXDOMAIN
    return DnsResult(name, "TXT", status, records=records, detail=detail)


def evidence(
    keys: dict[str, tuple[str, ...] | DnsStatus],
    *,
    given: tuple[str, ...] = (),
    wildcard: tuple[str, ...] = (),
    apex: DnsStatus = DnsStatus.NOERROR,
) -> DkimEvidence:
    """Selectors "mail", "default", "google" (+ given) answer as `keys` says, others NXDOMAIN."""
    names = [*given, *[s for s in ("mail", "default", "google") if s not in given]]
    selectors = []
    for sel in names:
        answer = keys.get(sel, ())
        owner = f"{sel}._domainkey.{DOMAIN}"
        if isinstance(answer, DnsStatus):
            result = txt(owner, status=answer, detail="no answer within 5 s")
        else:
            result = txt(owner, *answer)
        selectors.append(DkimSelector(sel, sel in given, result))
    return DkimEvidence(
        DOMAIN,
        DnsResult(
            DOMAIN, "MX", apex, records=("10 mx.example.com.",) if apex is DnsStatus.NOERROR else ()
        ),
        tuple(selectors),
        wildcard=txt(f"_maildoctor-wildcard-probe._domainkey.{DOMAIN}", *wildcard),
    )


def run(ev: DkimEvidence) -> tuple[list[Finding], list[NotChecked]]:
    out = list(dkim_keys(ctx(), ev))
    return [f for f in out if isinstance(f, Finding)], [n for n in out if isinstance(n, NotChecked)]


def codes(ev: DkimEvidence) -> list[str]:
    return sorted(f.code for f in run(ev)[0])


# --- the tag-list parser (RFC 6376 3.2) -------------------------------------------------------


def test_tag_list_whitespace_and_trailing_semicolon() -> None:
    tags = parse_tag_list(" v = DKIM1 ;\tk=rsa;\r\n p = abc def ;")
    assert [(t.name, t.value) for t in tags.tags] == [
        ("v", "DKIM1"),
        ("k", "rsa"),
        ("p", "abc def"),
    ]
    assert tags.problems == ()


@pytest.mark.parametrize(
    ("text", "message", "fatal"),
    [
        ("v=DKIM1; p=a; p=b", "tag p= appears more than once", True),
        ("v=DKIM1; rsa; p=a", "'rsa' is not tag=value (no '=')", True),
        ("v=DKIM1; 1k=rsa; p=a", "'1k' is not a valid tag name", True),
        ("v=DKIM1; k=rsa\x00; p=a", "holds a character not allowed", True),
        ("v=DKIM1;; p=a", "empty tag ';;' after tag 1", False),
    ],
)
def test_tag_list_problems_are_precise(text: str, message: str, fatal: bool) -> None:
    problems = parse_tag_list(text).problems
    assert len(problems) == 1
    assert message in problems[0].message and problems[0].fatal is fatal


def test_shown_escapes_controls_and_truncates() -> None:
    assert shown("a\x00b\x1b[2J") == "a\\x00b\\x1b[2J"
    long = shown("A" * 5000)
    assert len(long) < 200 and "5000 characters in all" in long


# --- key loading ------------------------------------------------------------------------------


def test_rsa_spki_and_pkcs1_keys_load_with_their_size() -> None:
    assert load_key("rsa", RSA_2048) == KeyInfo("rsa", 2048)
    pkcs1 = _rsa_p(1024, serialization.PublicFormat.PKCS1)
    assert load_key("rsa", pkcs1) == KeyInfo("rsa", 1024)


def test_ed25519_raw_key_loads_and_der_or_rsa_under_ed25519_is_explained() -> None:
    assert load_key("ed25519", ED25519_P) == KeyInfo("ed25519", 256)
    der = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    error = load_key("ed25519", base64.b64encode(der).decode())
    assert isinstance(error, str) and "44 bytes" in error and "last 32 bytes" in error
    error = load_key("ed25519", RSA_2048)
    assert isinstance(error, str) and "set k=rsa" in error
    error = load_key("rsa", ED25519_P)
    assert isinstance(error, str) and "set k=ed25519" in error


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ("bm90LWEta2V5LWF0LWFsbA==", "16 bytes that are not a DER-encoded RSA public key"),
        ("MIIB!!", "not base64: it holds '!'"),
        ("abc", "not padded to a multiple of 4"),
        ("A" * 5000, "not a DER-encoded RSA public key"),
    ],
)
def test_garbage_keys_give_a_reason(p: str, message: str) -> None:
    error = load_key("rsa", p)
    assert isinstance(error, str) and message in error


def test_key_split_by_whitespace_is_joined() -> None:
    # RFC 6376 3.6.1: p= is base64 with FWS allowed anywhere in it
    spaced = " ".join(RSA_2048[i : i + 60] for i in range(0, len(RSA_2048), 60))
    rec = parse_key_record(f"v=DKIM1; k=rsa; p={spaced}")
    assert rec.key == KeyInfo("rsa", 2048) and rec.problems == ()


def test_key_record_fields() -> None:
    rec = parse_key_record(f"v=DKIM1; h=sha1; k=rsa; s=email; t=y:s; n=notes; p={RSA_1024}")
    assert rec.is_dkim and rec.testing and rec.sha1_only and rec.services == ("email",)
    assert rec.flags == ("y", "s") and rec.key == KeyInfo("rsa", 1024)
    assert parse_key_record("v=DKIM1; p=").revoked
    assert not parse_key_record("v=DKIM1; h=sha1:sha256; p=").sha1_only


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ("k=RSA; h=SHA256; s=email:*", ""),  # values are case-insensitive ABNF literals
        ("h=md5", "h=md5 names no hash verifiers know (sha256)"),
        ("s=tlsrpt", "s=tlsrpt: the key is not for email (use s=email)"),
    ],
)
def test_hash_and_service_restrictions(tags: str, message: str) -> None:
    rec = parse_key_record(f"v=DKIM1; {tags}; p={RSA_2048}")
    assert [p.message for p in rec.problems] == ([message] if message else [])
    assert rec.key == KeyInfo("rsa", 2048)


def test_case_of_tag_names_matters() -> None:
    rec = parse_key_record(f"v=DKIM1; K=rsa; P={RSA_2048}")
    messages = " ".join(p.message for p in rec.problems)
    assert "tag P= is not p=" in messages and "no p= tag" in messages


# --- the rules --------------------------------------------------------------------------------


def test_good_key_is_ok_with_selector_type_and_bits() -> None:
    (f,) = run(evidence({"mail": (f"v=DKIM1; k=rsa; p={RSA_2048}",)}))[0]
    assert f.code == "dkim.ok" and f.subject == "mail._domainkey.example.com"
    assert "mail" in f.title and "rsa" in f.title and "2048" in f.title


def test_key_behind_a_cname_says_so() -> None:
    # Microsoft 365 style: selector1 is a CNAME to the tenant's key
    target = "selector1-example-com._domainkey.tenant.onmicrosoft.com"
    result = DnsResult(
        f"selector1._domainkey.{DOMAIN}",
        "TXT",
        DnsStatus.NOERROR,
        records=(f"v=DKIM1; k=rsa; p={RSA_2048}",),
        canonical_name=target,
    )
    ev = evidence({})
    ev = DkimEvidence(DOMAIN, ev.apex, (DkimSelector("selector1", False, result),), ev.wildcard)
    (f,) = run(ev)[0]
    assert f.code == "dkim.ok" and f"(via CNAME {target})" in f.evidence


def test_ed25519_key_is_ok() -> None:
    (f,) = run(evidence({"default": (f"v=DKIM1; k=ed25519; p={ED25519_P}",)}))[0]
    assert f.code == "dkim.ok" and "ed25519, 256 bits" in f.title


def test_no_key_found_names_the_selectors_and_the_option() -> None:
    (f,) = run(evidence({}))[0]
    assert f.code == "dkim.no_key_found" and f.severity is Severity.WARNING
    assert "mail, default, google" in f.cause and "--dkim-selector" in f.cause
    assert 'mail._domainkey.example.com.  3600  IN  TXT  "v=DKIM1; k=rsa; p=' in f.fix
    assert "NXDOMAIN for all 3 selectors" in f.evidence


def test_timeout_is_not_no_key() -> None:
    findings, not_checked = run(evidence({"google": DnsStatus.TIMEOUT}))
    assert findings == []
    assert [n.what for n in not_checked] == ["DKIM selector google", "DKIM keys"]
    assert "TIMEOUT" in not_checked[0].reason and "a key may exist" in not_checked[1].reason


def test_servfail_beside_a_good_key() -> None:
    findings, not_checked = run(
        evidence({"mail": (f"p={RSA_2048}",), "default": DnsStatus.SERVFAIL})
    )
    assert [f.code for f in findings] == ["dkim.ok"]
    assert [n.what for n in not_checked] == ["DKIM selector default"]


@pytest.mark.parametrize(
    ("key", "bits", "severity"),
    [(RSA_512, 512, Severity.ERROR), (RSA_1024, 1024, Severity.WARNING)],
)
def test_weak_keys(key: str, bits: int, severity: Severity) -> None:
    (f,) = run(evidence({"mail": (f"v=DKIM1; k=rsa; p={key}",)}))[0]
    assert f.code == "dkim.weak_key" and f.severity is severity
    assert f"{bits}-bit" in f.title and "mail2048._domainkey.example.com." in f.fix


def test_testing_mode_fix_drops_the_y_flag_only() -> None:
    (f,) = run(evidence({"mail": (f"v=DKIM1; k=rsa; t=y:s; p={RSA_2048}",)}))[0]
    assert f.code == "dkim.testing_mode" and f.severity is Severity.WARNING
    assert "t=s; p=" in f.fix and "t=y" not in f.fix
    # the corrected record is split in 255-octet strings, ready for a zone file
    assert '" "' in f.fix


def test_revoked_alone_is_a_warning_beside_a_good_key_info() -> None:
    (f,) = run(evidence({"mail": ("v=DKIM1; k=rsa; p=",)}))[0]
    assert f.code == "dkim.revoked" and f.severity is Severity.WARNING
    assert "no other selector tried has a usable key" in f.cause
    findings = run(evidence({"mail": ("v=DKIM1; p=",), "google": (f"v=DKIM1; p={RSA_2048}",)}))[0]
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"dkim.revoked", "dkim.ok"}
    assert by_code["dkim.revoked"].severity is Severity.INFO
    assert "selector google has a usable key" in by_code["dkim.revoked"].cause


def test_invalid_key_says_why() -> None:
    (f,) = run(evidence({"mail": ("v=DKIM1; k=rsa; p=bm90LWEta2V5LWF0LWFsbA==",)}))[0]
    assert f.code == "dkim.invalid_key" and f.severity is Severity.ERROR
    assert f.cause.startswith("p= decodes to 16 bytes")


def test_unknown_key_type_and_sha1_only() -> None:
    (f,) = run(evidence({"mail": (f"v=DKIM1; k=dsa; p={RSA_2048}",)}))[0]
    assert f.code == "dkim.unknown_key_type" and "k=dsa" in f.title
    (f,) = run(evidence({"mail": (f"v=DKIM1; k=rsa; h=sha1; p={RSA_2048}",)}))[0]
    assert f.code == "dkim.sha1_only" and "h=" not in f.fix.split("TXT", 1)[1]


def test_a_dmarc_record_at_a_selector_is_no_key() -> None:
    (f,) = run(evidence({"mail": ("v=DMARC1; p=reject; rua=mailto:d@example.com",)}))[0]
    assert f.code == "dkim.syntax_error" and f.severity is Severity.ERROR
    assert "v=DMARC1: this is not a DKIM key record" in f.cause


def test_duplicate_tags_invalidate_the_record() -> None:
    (f,) = run(evidence({"mail": (f"v=DKIM1; p={RSA_2048}; p={RSA_1024}",)}))[0]
    assert f.code == "dkim.syntax_error" and "tag p= appears more than once" in f.cause


def test_empty_tag_is_a_warning_and_the_key_still_judged() -> None:
    found = run(evidence({"mail": (f"v=DKIM1;; k=rsa; p={RSA_2048}",)}))[0]
    assert [(f.code, f.severity) for f in found] == [("dkim.syntax_error", Severity.WARNING)]


def test_nul_bytes_are_reported_and_shown_escaped() -> None:
    (f,) = run(evidence({"mail": (f"v=DKIM1; k=rsa\x00; p={RSA_2048}",)}))[0]
    assert f.code == "dkim.syntax_error" and "\\x00" in f.evidence and "\x00" not in f.evidence


def test_5000_byte_record_gives_a_finding_with_short_evidence() -> None:
    (f,) = run(evidence({"mail": ("v=DKIM1; k=rsa; p=" + "QUFB" * 1250,)}))[0]
    assert f.code == "dkim.invalid_key"
    assert len(f.evidence) < 300 and "characters in all" in f.evidence


def test_multiple_records_under_one_selector() -> None:
    found = run(
        evidence({"mail": (f"v=DKIM1; k=ed25519; p={ED25519_P}", f"v=DKIM1; p={RSA_2048}")})
    )[0]
    assert [f.code for f in found] == ["dkim.multiple_records", "dkim.ok", "dkim.ok"]
    assert "2 TXT records" in found[0].title


def test_hundreds_of_records_are_bounded() -> None:
    records = tuple(f"v=DKIM1; p=junk{i}" for i in range(500))
    found = run(evidence({"mail": records}))[0]
    assert found[0].code == "dkim.multiple_records" and "500" in found[0].title
    assert len(found) == 1 + 5  # five records judged, not five hundred


def test_wildcard_answer_is_not_a_key_unless_the_selector_was_given() -> None:
    wild = ("v=spf1 -all",)
    ev = evidence({"mail": wild, "default": wild, "google": wild}, wildcard=wild)
    assert codes(ev) == ["dkim.no_key_found"]
    ev = evidence({"s2024": wild, "mail": wild, "google": wild}, given=("s2024",), wildcard=wild)
    (f,) = run(ev)[0]
    assert f.code == "dkim.syntax_error" and f.subject == "s2024._domainkey.example.com"


def test_domain_that_does_not_exist_is_not_checked() -> None:
    findings, not_checked = run(evidence({}, apex=DnsStatus.NXDOMAIN))
    assert findings == [] and "NXDOMAIN" in not_checked[0].reason


def test_random_tag_soup_never_raises() -> None:
    import random

    rng = random.Random(6376)
    alphabet = (
        "v=DKIM1;k=rsa ed25519 p=t=y:s h=sha1 \x00\t\r\n;;==/+AQAB\u00e9\u202e" + RSA_1024[:40]
    )
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
        findings, _ = run(evidence({"mail": (text,)}))
        assert findings  # every published record gets a verdict, never a traceback
        assert all(len(f.evidence) < 400 for f in findings)
