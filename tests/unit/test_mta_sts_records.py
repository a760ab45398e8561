"""records/mta_sts.py: the TXT record, the policy file and MX matching, on hostile input too."""

from __future__ import annotations

import time

import pytest

from maildoctor.records.mta_sts import (
    discover,
    mx_matches,
    parse_policy,
    parse_record,
    suggested_policy,
    unmatched_mx,
    valid_mx_pattern,
)

GOOD = (
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
    "max_age: 604800\r\n"
)


# --- TXT -------------------------------------------------------------------------------------


def test_record_valid_forms() -> None:
    r = parse_record("v=STSv1; id=20160831085700Z;")
    assert r.valid and r.id == "20160831085700Z"
    r = parse_record("v=STSv1;id=abc123;  ext_1=some-value")
    assert r.valid and r.id == "abc123" and r.extensions == (("ext_1", "some-value"),)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v=STSv1", "no id="),
        ("v=STSv1; id=", "1 to 32 letters"),
        ("v=STSv1; id=" + "a" * 33, "1 to 32 letters"),
        ("v=STSv1; id=2016-08-31", "1 to 32 letters"),
        ("v=STSv1; id=1; id=2", "id= appears 2 times"),
        ("v=STSv1 id=1", 'does not begin with "v=STSv1;"'),
        ("v=STSv1; id=1;; x=y", "empty field"),
        ("v=STSv1; id=1; broken", "has no '='"),
    ],
)
def test_record_problems(text: str, problem: str) -> None:
    r = parse_record(text)
    assert not r.valid
    assert any(problem in p for p in r.problems), r.problems


def test_discover_counts_only_sts_records() -> None:
    d = discover(["v=spf1 -all", "v=STSv1; id=1"])
    assert d.record is not None and d.record.id == "1" and not d.problems
    d = discover(["v=STSv1; id=1", "v=STSv1; id=2"])
    assert d.record is None and d.problems == ("2 v=STSv1 records: there must be one",)
    d = discover(["something else"])
    assert d.records == () and d.record is None
    # v=STSv1 without ";" is discarded by senders: reported, not used
    d = discover(["v=STSv1 id=1"])
    assert d.record is not None and not d.record.valid


def test_record_of_5000_bytes_is_bounded() -> None:
    text = "v=STSv1; id=1; " + "; ".join(f"k{i}=v" for i in range(1000))
    start = time.perf_counter()
    r = parse_record(text)
    assert time.perf_counter() - start < 0.1
    assert any("too many" in p for p in r.problems)
    assert len(r.problems) <= 20


# --- policy ----------------------------------------------------------------------------------


def test_policy_crlf_and_lf_parse_the_same() -> None:
    crlf = parse_policy(GOOD)
    lf = parse_policy(GOOD.replace("\r\n", "\n"))
    for p in (crlf, lf):
        assert p.valid, p.problems
        assert (p.version, p.mode, p.max_age) == ("STSv1", "enforce", 604800)
        assert p.mx == ("mail.example.com", "*.example.net")
    assert not crlf.notes and not lf.notes
    mixed = parse_policy("version: STSv1\r\nmode: none\nmax_age: 86400\r\n")
    assert mixed.valid and any("mix CRLF" in n for n in mixed.notes)


def test_policy_without_final_newline_and_with_spaces() -> None:
    p = parse_policy("version:STSv1\nmode :  testing\t\nmx: MX1.Example.COM.\nmax_age: 0")
    assert p.valid, p.problems
    assert p.mode == "testing" and p.mx == ("mx1.example.com",) and p.max_age == 0


def test_policy_bare_cr_is_one_line() -> None:
    p = parse_policy(GOOD.replace("\r\n", "\r"))
    assert not p.valid
    assert any("bare CR" in x for x in p.problems)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", "not 'STSv1'"),
        ("version: STSv1\nmode: enforced\nmx: a.example\nmax_age: 1\n", "is not enforce"),
        ("version: STSv1\nmode: enforce\nmax_age: 1\n", "without any 'mx:'"),
        ("version: STSv1\nmode: enforce\nmx: a.example\n", "no 'max_age:'"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", "above the maximum"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -5\n", "not a number"),
        ("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", "not a number"),
        ("mode: enforce\nmx: a.example\nmax_age: 1\n", "no 'version"),
        ("version: STSv1\nMode: enforce\nmx: a.example\nmax_age: 1\n", "lower case"),
        ("version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n", "not a host name"),
        ("version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", "not a host name"),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\njunk line\n",
            "not a 'key: value'",
        ),
        ("<html><body>Welcome to nginx!</body></html>", "not a 'key: value'"),
        ("\ufeffversion: STSv1\nmode: none\nmax_age: 1\n", "byte-order mark"),
    ],
)
def test_policy_problems(text: str, problem: str) -> None:
    p = parse_policy(text)
    assert not p.valid
    assert any(problem in x for x in p.problems), p.problems


def test_policy_duplicate_keys() -> None:
    p = parse_policy("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n")
    assert not p.valid and any("mode appears 2 times (enforce, none)" in x for x in p.problems)
    assert p.mode == "enforce"  # the first one, as most parsers read it
    # several mx lines are the normal form, not duplicates
    p = parse_policy("version: STSv1\nmode: enforce\nmx: a.example\nmx: b.example\nmax_age: 1\n")
    assert p.valid and p.mx == ("a.example", "b.example")


def test_policy_unknown_fields_are_ignored() -> None:
    p = parse_policy(GOOD + "comment: made by hand\r\n")
    assert p.valid and p.extensions == (("comment", "made by hand"),)


def test_huge_policy_is_bounded() -> None:
    text = GOOD + "mx: a.example\n" * 200_000  # 2.8 MB of mx lines
    start = time.perf_counter()
    p = parse_policy(text, truncated=True)
    assert time.perf_counter() - start < 1.0
    assert not p.valid
    assert any("larger than 64 KiB" in x for x in p.problems)
    assert any("only the first 1000" in x for x in p.problems)
    assert len(p.mx) <= 100 and len(p.problems) <= 20
    garbage = parse_policy("\x00\xff" * 50_000)
    assert not garbage.valid and len(garbage.problems) <= 20


def test_render_roundtrip() -> None:
    text = suggested_policy(["MX1.example.com.", "mx2.example.com", "mx1.example.com"], "testing")
    assert text == (
        "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\n"
        "max_age: 604800\r\n"
    )
    assert parse_policy(text).valid


# --- MX matching (RFC 8461 4.1) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "host", "match"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.Example.COM.", True),
        ("mail.example.com", "mail2.example.com", False),
        ("*.example.com", "mail.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "mail.example.com.evil.test", False),
        ("*.mail.example.com", "mx.mail.example.com", True),
        ("example.com", "mail.example.com", False),
        ("", "mail.example.com", False),
    ],
)
def test_mx_matches(pattern: str, host: str, match: bool) -> None:
    assert mx_matches(pattern, host) is match


def test_unmatched_and_patterns() -> None:
    assert unmatched_mx(["*.example.com"], ["a.example.com", "b.example.net"]) == ("b.example.net",)
    assert unmatched_mx([], ["a.example.com"]) == ("a.example.com",)
    assert valid_mx_pattern("*.example.com") and valid_mx_pattern("mx.example.com.")
    assert not valid_mx_pattern("*") and not valid_mx_pattern("mail.*.example.com")
    assert not valid_mx_pattern("a" * 64 + ".example.com")
