"""The SPF parser: terms, modifiers, macros, and where each syntax error is."""

from __future__ import annotations

import pytest

from maildoctor.records.spf import (
    Macro,
    MacroError,
    Mechanism,
    Modifier,
    expand,
    is_spf_record,
    parse_domain_spec,
    parse_macro_string,
    parse_record,
    select_records,
)


def test_selects_only_v_spf1_records() -> None:
    texts = ["google-site-verification=x", "v=spf10 -all", "V=SPF1 -all", "v=spf1", "v=spf1mx"]
    assert select_records(texts) == ("V=SPF1 -all", "v=spf1")
    assert not is_spf_record("v=spf1\t-all")


def test_parses_every_mechanism_and_modifier() -> None:
    rec = parse_record(
        "v=spf1 +a -mx:mail.example.com/24//64 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 "
        "include:_spf.example.net exists:%{i}._x.example.com redirect=_r.example.com "
        "exp=why.example.com foo=bar -all"
    )
    assert rec.errors == ()
    mechs = rec.mechanisms
    assert [(m.qualifier, m.name) for m in mechs] == [
        ("+", "a"),
        ("-", "mx"),
        ("~", "ptr"),
        ("?", "ip4"),
        ("+", "ip6"),
        ("+", "include"),
        ("+", "exists"),
        ("-", "all"),
    ]
    mx = mechs[1]
    assert (mx.cidr4, mx.cidr6) == (24, 64)
    assert mx.domain is not None and mx.domain.text == "mail.example.com"
    assert mechs[3].network == "192.0.2.0/24"
    assert rec.redirect is not None and rec.redirect.value == "_r.example.com"
    foo = rec.modifier("foo")
    assert rec.exp is not None and foo is not None
    assert (foo.value, foo.position) == ("bar", rec.text.index("foo=bar"))


def test_syntax_error_position_and_correction() -> None:
    text = "v=spf1 mx inclde:good.test -all"
    rec = parse_record(text)
    (err,) = rec.errors
    assert err.position == 10 and text[err.position :].startswith("inclde:")
    assert err.term == "inclde:good.test"
    assert err.suggestion == "include:good.test"
    assert rec.corrected() == "v=spf1 mx include:good.test -all"
    assert "character 11" in err.describe()


@pytest.mark.parametrize(
    ("text", "position", "suggestion"),
    [
        ("v=spf1 a:192.0.2.1 -all", 7, "ip4:192.0.2.1"),
        ("v=spf1 ipv4:192.0.2.1 -all", 7, "ip4:192.0.2.1"),
        ("v=spf1 mx -all.", 10, "-all"),
        ("v=spf1 mx ~all/8", 10, "~all"),
        ("v=spf1 redirect:_spf.example.com", 7, "redirect=_spf.example.com"),
        ("v=spf1 ip4:192.0.2.1:8080 -all", 7, None),
        ("v=spf1 ip4:1.2.3 -all", 7, None),
        ("v=spf1 ip4:1.2.3.4/33 -all", 7, None),
        ("v=spf1 ip4:1.2.3.4/032 -all", 7, None),
        ("v=spf1 a//129 -all", 7, None),
        ("v=spf1 a:museum -all", 7, None),
        ("v=spf1 include: -all", 7, None),
        ("v=spf1 exists -all", 7, None),
        ("v=spf1 ptr/24 -all", 7, None),
        ("v=spf1 =all", 7, None),
        ("v=spf1 -all exists:%(ir).bl.example.com", 12, None),
        ("v=spf1 a:%{a}.example.com", 7, None),
        ("v=spf1 exp=%{r}.example.com -all", 7, None),
    ],
)
def test_errors_carry_the_position_of_the_term(
    text: str, position: int, suggestion: str | None
) -> None:
    rec = parse_record(text)
    assert rec.errors, text
    assert rec.errors[0].position == position
    assert rec.errors[0].suggestion == suggestion


def test_non_ascii_and_control_characters_are_located() -> None:
    rec = parse_record("v=spf1 a:mail.example.com\rptr -all")
    assert rec.errors[0].position == 7 + len("a:mail.example.com")
    assert "control character" in rec.errors[0].message
    rec = parse_record("v=spf1 ip4:192.0.2.1 \u2013all")
    assert rec.errors[0].position == 21 and "non-ASCII" in rec.errors[0].message


def test_duplicate_redirect_and_exp_are_errors() -> None:
    rec = parse_record("v=spf1 redirect=a.example.com redirect=b.example.com")
    assert [e.position for e in rec.errors] == [30]
    assert parse_record("v=spf1 exp=a.example.com exp=b.example.com").errors


def test_mechanism_written_as_modifier_is_flagged_but_valid() -> None:
    rec = parse_record("v=spf1 include=_spf.google.com ~all")
    assert rec.errors == ()  # RFC 7208 6: an unknown modifier, which receivers ignore
    (ignored,) = rec.ignored
    assert ignored.position == 7 and ignored.suggestion == "include:_spf.google.com"
    assert rec.corrected() == "v=spf1 include:_spf.google.com ~all"


def test_domain_spec_rules() -> None:
    parse_domain_spec("foo.example.xn--zckzah")  # a toplabel may contain dashes
    parse_domain_spec("%{d}")  # may end in a macro
    parse_domain_spec("foo:bar/baz.example.com")  # any visible character
    for bad in ("example.-com", "abc.123", "museum", "museum.", "", "a.b%", "a.b%{x}"):
        with pytest.raises(MacroError):
            parse_domain_spec(bad)


def test_macro_expansion_rules() -> None:
    values = {
        "s": "strong-bad@email.example.com",
        "l": "strong-bad",
        "o": "email.example.com",
        "d": "email.example.com",
        "i": "192.0.2.3",
        "h": "mx.example.org",
    }

    def x(text: str) -> str:
        return expand(parse_macro_string(text), values)

    # RFC 7208 7.4 examples
    assert x("%{s}") == "strong-bad@email.example.com"
    assert x("%{d4}") == "email.example.com"
    assert x("%{d2}") == "example.com"
    assert x("%{d1}") == "com"
    assert x("%{dr}") == "com.example.email"
    assert x("%{d2r}") == "example.email"
    assert x("%{l-}") == "strong.bad"
    assert x("%{lr-}") == "bad.strong"
    assert x("%{l1r-}") == "strong"
    assert x("%{ir}.%{v}._spf.%{d2}") == "3.2.0.192.._spf.example.com"
    assert x("%%%_%-") == "% %20"
    assert expand(parse_macro_string("%{L}"), {"l": "a&b=c"}) == "a%26b%3Dc"
    spec = parse_macro_string("%{l2r+-}.x")
    assert spec.parts[0] == Macro("l", 2, True, "+-", False)
    with pytest.raises(MacroError):
        parse_macro_string("%{d0}")
    with pytest.raises(MacroError):
        parse_macro_string("%{d")


def test_hostile_5000_byte_record_is_parsed_without_trouble() -> None:
    terms = " ".join(f"ip4:198.51.{i // 256}.{i % 256}" for i in range(320))
    text = f"v=spf1 {terms} -all"
    assert len(text) > 5000
    rec = parse_record(text)
    assert rec.errors == () and len(rec.mechanisms) == 321
    junk = "v=spf1 " + "%" * 5000
    rec = parse_record(junk)
    assert len(rec.errors) == 1 and rec.errors[0].position == 7


def test_terms_are_typed() -> None:
    rec = parse_record("v=spf1 a foo=bar")
    assert isinstance(rec.terms[0], Mechanism) and isinstance(rec.terms[1], Modifier)
