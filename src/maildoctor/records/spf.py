"""SPF record syntax (RFC 7208 4.5, 4.6.1, 5, 6, 7, 12): terms, modifiers and macros, no I/O.

`parse_record()` never raises: every syntax error is collected with the character position of
the offending term and, where it can be guessed, the term as it was probably meant, so a
finding can show the corrected record.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
# RFC 7208 4.6.4: the terms that cause DNS queries and count toward the limit of 10.
DNS_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
QUALIFIERS = "+-~?"
# RFC 7208 7.2: macro letters; c, r and t are allowed only in explanation text (7.3).
MACRO_LETTERS = frozenset("slodiphv")
EXP_MACRO_LETTERS = MACRO_LETTERS | frozenset("crt")
MACRO_DELIMITERS = ".-+,/_="

_MODIFIER_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=(.*)", re.DOTALL)
_DUAL_CIDR_RE = re.compile(r"(.*?)(?:/([0-9]+))?(?://([0-9]+))?", re.DOTALL)
_CIDR_ONLY_RE = re.compile(r"(?:/([0-9]+))?(?://([0-9]+))?", re.DOTALL)
_IP_RE = re.compile(r"([^/]*)(?:/([0-9]+))?", re.DOTALL)
_TOPLABEL_RE = re.compile(
    r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9\-]*[A-Za-z0-9]"
)
_MACRO_BODY_RE = re.compile(r"([A-Za-z])([0-9]*)([rR]?)([.\-+,/_=]*)")


def is_spf_record(text: str) -> bool:
    """RFC 7208 4.5: "v=spf1" (any case) followed by a space or the end of the record."""
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


@dataclass(frozen=True)
class Macro:
    """One %{...} macro: letter, right-hand parts to keep, reversal, delimiters, URL escaping."""

    letter: str
    digits: int | None = None
    reverse: bool = False
    delimiters: str = ""
    upper: bool = False


MacroPart = str | Macro


@dataclass(frozen=True)
class MacroString:
    text: str
    parts: tuple[MacroPart, ...]
    ends_with_macro: bool

    @property
    def has_macros(self) -> bool:
        return any(isinstance(p, Macro) for p in self.parts)

    def letters(self) -> frozenset[str]:
        return frozenset(p.letter for p in self.parts if isinstance(p, Macro))


class MacroError(ValueError):
    """A macro-string that does not follow RFC 7208 7.1; `offset` is where in the string."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def parse_macro_string(text: str, *, explanation: bool = False) -> MacroString:
    """RFC 7208 7.1: parse a macro-string; raise MacroError at the first bad character."""
    allowed = EXP_MACRO_LETTERS if explanation else MACRO_LETTERS
    parts: list[MacroPart] = []
    literal: list[str] = []
    ends_with_macro = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "%":
            # macro-literal = %x21-24 / %x26-7E; explanation text also allows spaces (6.2).
            if not ("!" <= c <= "~" or (explanation and c == " ")):
                raise MacroError(f"character {c!r} is not allowed here", i)
            literal.append(c)
            ends_with_macro = False
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt in ("%", "_", "-"):
            literal.append({"%": "%", "_": " ", "-": "%20"}[nxt])
            ends_with_macro = True
            i += 2
            continue
        if nxt != "{":
            shown = f"%{nxt}" if nxt else "%"
            raise MacroError(f"'{shown}' is not a macro ('%' must be followed by {{, %, _ or -)", i)
        close = text.find("}", i + 2)
        if close < 0:
            raise MacroError("'%{' without a closing '}'", i)
        m = _MACRO_BODY_RE.fullmatch(text[i + 2 : close])
        if m is None:
            raise MacroError(f"malformed macro {text[i : close + 1]!r}", i)
        letter, digits, rev, delims = m.groups()
        if letter.lower() not in allowed:
            where = "in explanation text" if explanation else "outside explanation text"
            raise MacroError(f"macro letter {letter!r} is not allowed {where}", i)
        if digits and int(digits) == 0:
            raise MacroError("a macro's digit transformer must be nonzero (RFC 7208 7.3)", i)
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(
            Macro(
                letter.lower(),
                min(int(digits), 128) if digits else None,
                bool(rev),
                delims,
                letter.isupper(),
            )
        )
        ends_with_macro = True
        i = close + 1
    if literal:
        parts.append("".join(literal))
    return MacroString(text, tuple(parts), ends_with_macro)


def parse_domain_spec(text: str, *, what: str = "domain") -> MacroString:
    """RFC 7208 7.1: domain-spec = macro-string domain-end; raise MacroError when invalid."""
    if not text:
        raise MacroError(f"the {what} is empty", 0)
    spec = parse_macro_string(text)
    if spec.ends_with_macro:
        return spec
    # domain-end = ( "." toplabel [ "." ] ): a literal tail naming a top-level label.
    tail = text[:-1] if text.endswith(".") else text
    head, dot, top = tail.rpartition(".")
    if not dot or "%" in top or not _TOPLABEL_RE.fullmatch(top):
        if dot and top.isdigit():
            msg = f"{text!r} ends in a numeric label: an IP address is not a domain"
        elif not dot:
            msg = f"{text!r} is not a fully qualified domain name"
        else:
            msg = f"{text!r} does not end in a valid top-level label ({top!r})"
        raise MacroError(msg, len(head) + 1 if dot else 0)
    return spec


def _escape(value: str) -> str:
    """RFC 7208 7.3: uppercase macros are URL-escaped (RFC 3986 unreserved kept)."""
    out: list[str] = []
    for byte in value.encode("utf-8", errors="replace"):
        ch = chr(byte)
        if ch.isascii() and (ch.isalnum() or ch in "-._~"):
            out.append(ch)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def expand(spec: MacroString, values: Mapping[str, str]) -> str:
    """RFC 7208 7.3: expand macros from `values` (letter -> value); no DNS, no truncation."""
    out: list[str] = []
    for part in spec.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.letter, "")
        delims = part.delimiters or "."
        pieces = re.split("[" + re.escape(delims) + "]", value)
        if part.reverse:
            pieces.reverse()
        if part.digits is not None and part.digits < len(pieces):
            pieces = pieces[-part.digits :]
        joined = ".".join(pieces)
        out.append(_escape(joined) if part.upper else joined)
    return "".join(out)


@dataclass(frozen=True)
class SpfSyntaxError:
    position: int  # 0-based offset of the offending term in the record
    term: str
    message: str
    suggestion: str | None = None  # the term as it was probably meant ("" = drop it)

    def describe(self) -> str:
        text = f'character {self.position + 1}, "{self.term}": {self.message}'
        if self.suggestion:
            text += f' (did you mean "{self.suggestion}"?)'
        elif self.suggestion == "":
            text += " (remove it)"
        return text


@dataclass(frozen=True)
class Mechanism:
    qualifier: str  # + - ~ ?
    name: str  # lowercase, one of MECHANISMS
    text: str
    position: int
    domain: MacroString | None = None
    network: str | None = None  # ip4/ip6: the CIDR as written, normalised
    cidr4: int | None = None
    cidr6: int | None = None


@dataclass(frozen=True)
class Modifier:
    name: str  # lowercase
    value: str
    text: str
    position: int
    domain: MacroString | None = None  # redirect= and exp=


Term = Mechanism | Modifier


@dataclass(frozen=True)
class SpfRecord:
    text: str
    terms: tuple[Term, ...]
    errors: tuple[SpfSyntaxError, ...]
    # Valid syntax that receivers silently ignore although it was surely meant to do something
    # ("include=x" is an unknown modifier, RFC 7208 6).
    ignored: tuple[SpfSyntaxError, ...] = ()

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        return tuple(t for t in self.terms if isinstance(t, Mechanism))

    def modifier(self, name: str) -> Modifier | None:
        for t in self.terms:
            if isinstance(t, Modifier) and t.name == name:
                return t
        return None

    @property
    def redirect(self) -> Modifier | None:
        return self.modifier("redirect")

    @property
    def exp(self) -> Modifier | None:
        return self.modifier("exp")

    def corrected(self) -> str | None:
        """The record with every error (and ignored term) replaced by its suggestion.

        None when some error has no suggestion."""
        problems = (*self.errors, *self.ignored)
        if not problems or any(e.suggestion is None for e in problems):
            return None
        fixes = {e.position: e.suggestion for e in problems}
        words: list[str] = []
        for m in re.finditer(r"[^ ]+", self.text):
            word = fixes.get(m.start(), m.group())
            if word:
                words.append(word)
        return " ".join(words)


def _cidr(text: str | None, limit: int) -> int | None:
    """RFC 7208 5.6: a CIDR length, no leading zeros, at most 32 (ip4) or 128 (ip6)."""
    if text is None:
        return None
    if (len(text) > 1 and text.startswith("0")) or int(text) > limit:
        raise ValueError(f"invalid CIDR length /{text} (0 to {limit}, no leading zeros)")
    return int(text)


def _guess_name(name: str) -> str | None:
    found = difflib.get_close_matches(
        name.lower(), [*MECHANISMS, "redirect", "exp"], n=1, cutoff=0.6
    )
    return found[0] if found else None


def _suggest(qualifier: str, name: str, rest: str) -> str | None:
    """The term as it was probably meant, for a misspelt or misused mechanism."""
    guess = _guess_name(name)
    if guess in ("redirect", "exp"):
        value = rest[1:] if rest[:1] in (":", "=") else rest
        return f"{guess}={value}" if value else None
    if guess is not None and guess != name.lower():
        return f"{qualifier}{guess}{rest}"
    return None


def _mechanism(qualifier: str, name: str, rest: str, text: str, pos: int) -> Mechanism:
    """Parse one mechanism; raise ValueError (message) or MacroError on bad syntax."""
    q = qualifier or "+"
    if name == "all":
        if rest:
            raise ValueError('"all" takes no argument or CIDR length')
        return Mechanism(q, name, text, pos)
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise ValueError(f'"{name}" needs an address: {name}:ADDRESS[/LENGTH]')
        m = _IP_RE.fullmatch(rest[1:])
        if m is None:
            raise ValueError(f"{rest[1:]!r} is not an address with an optional /LENGTH")
        addr_text, length = m.groups()
        if name == "ip4":
            try:
                addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
                    addr_text
                )
            except ValueError:
                raise ValueError(f"{addr_text!r} is not an IPv4 address") from None
            cidr = _cidr(length, 32)
        else:
            if ":" not in addr_text:
                raise ValueError(f"{addr_text!r} is not an IPv6 address")
            try:
                addr = ipaddress.IPv6Address(addr_text)
            except ValueError:
                raise ValueError(f"{addr_text!r} is not an IPv6 address") from None
            cidr = _cidr(length, 128)
        bits = cidr if cidr is not None else addr.max_prefixlen
        network = ipaddress.ip_network(f"{addr}/{bits}", strict=False)
        return Mechanism(q, name, text, pos, network=str(network))
    if name in ("include", "exists"):
        if not rest.startswith(":"):
            raise ValueError(f'"{name}" needs a domain: {name}:DOMAIN')
        return Mechanism(q, name, text, pos, domain=parse_domain_spec(rest[1:]))
    if name == "ptr":
        if not rest:
            return Mechanism(q, name, text, pos)
        if not rest.startswith(":"):
            raise ValueError('"ptr" takes no CIDR length (ptr or ptr:DOMAIN)')
        return Mechanism(q, name, text, pos, domain=parse_domain_spec(rest[1:]))
    # a and mx: [":" domain-spec] [dual-cidr-length]
    domain: MacroString | None = None
    if rest.startswith(":"):
        m = _DUAL_CIDR_RE.fullmatch(rest[1:])
        assert m is not None  # the pattern matches every string
        dom, c4, c6 = m.groups()
        domain = parse_domain_spec(dom)
    else:
        m = _CIDR_ONLY_RE.fullmatch(rest)
        if m is None:
            raise ValueError(f'"{name}" is followed by {rest!r}: expected :DOMAIN or /LENGTH')
        c4, c6 = m.groups()
    return Mechanism(q, name, text, pos, domain=domain, cidr4=_cidr(c4, 32), cidr6=_cidr(c6, 128))


def _modifier(name: str, value: str, text: str, pos: int) -> Modifier:
    lname = name.lower()
    if lname in ("redirect", "exp"):
        spec = parse_domain_spec(value, what=f"{lname}= domain")
        return Modifier(lname, value, text, pos, domain=spec)
    parse_macro_string(value)  # RFC 7208 A/3: unknown-modifier = name "=" macro-string
    return Modifier(lname, value, text, pos)


def _ip_suggestion(name: str, rest: str, qualifier: str) -> str | None:
    """a:192.0.2.1 is a common slip for ip4:192.0.2.1."""
    if name in ("a", "mx", "include") and rest.startswith(":"):
        target = rest[1:]
        for version in (4, 6):
            try:
                net = ipaddress.ip_network(target, strict=False)
            except ValueError:
                break
            if net.version == version:
                q = "" if qualifier in ("", "+") else qualifier
                return f"{q}ip{version}:{target}"
    return None


def _term(text: str, pos: int) -> tuple[Term | None, SpfSyntaxError | None]:
    bad = next((i for i, c in enumerate(text) if not "!" <= c <= "~"), None)
    if bad is not None:
        ch = text[bad]
        what = "a non-ASCII character" if ord(ch) > 126 else "a control character"
        kept = "".join(c for c in text if "!" <= c <= "~")
        return None, SpfSyntaxError(
            pos + bad, text, f"{what} ({ch!r}); SPF records are 7-bit ASCII", kept or ""
        )
    mod = _MODIFIER_RE.fullmatch(text)
    if mod is not None:
        name, value = mod.groups()
        try:
            return _modifier(name, value, text, pos), None
        except MacroError as exc:
            return None, SpfSyntaxError(pos, text, str(exc))
    qualifier = text[0] if text[0] in QUALIFIERS else ""
    body = text[len(qualifier) :]
    m = re.match(r"[^:/=]*", body)
    assert m is not None
    name, rest = m.group(), body[m.end() :]
    lname = name.lower()
    if lname not in MECHANISMS:
        if not name:
            msg = "a term must start with a mechanism or modifier name"
        elif lname in ("redirect", "exp"):
            msg = f'"{lname}" is a modifier: write {lname}=DOMAIN'
        else:
            msg = f'unknown mechanism "{name}"'
        return None, SpfSyntaxError(pos, text, msg, _suggest(qualifier, name, rest))
    try:
        return _mechanism(qualifier, lname, rest, text, pos), None
    except (ValueError, MacroError) as exc:
        suggestion = _ip_suggestion(lname, rest, qualifier)
        if lname == "all" and rest:
            suggestion = f"{qualifier}all"
        return None, SpfSyntaxError(pos, text, str(exc), suggestion)


def parse_record(text: str) -> SpfRecord:
    """Parse a v=spf1 record (the caller has checked `is_spf_record`)."""
    terms: list[Term] = []
    errors: list[SpfSyntaxError] = []
    ignored: list[SpfSyntaxError] = []
    seen: dict[str, int] = {}
    for m in re.finditer(r"[^ ]+", text):
        word, pos = m.group(), m.start()
        if pos == 0 and is_spf_record(word):
            continue
        term, error = _term(word, pos)
        if error is not None:
            errors.append(error)
            continue
        assert term is not None
        if isinstance(term, Modifier) and term.name in MECHANISMS:
            ignored.append(
                SpfSyntaxError(
                    pos,
                    word,
                    f'"{term.name}" is a mechanism, written with ":" not "=": '
                    "as written it is an unknown modifier that receivers ignore",
                    f"{term.name}:{term.value}",
                )
            )
        if isinstance(term, Modifier) and term.name in ("redirect", "exp"):
            # RFC 7208 6: redirect and exp MUST NOT appear more than once each.
            if term.name in seen:
                errors.append(
                    SpfSyntaxError(
                        pos, word, f"a second {term.name}= (allowed once per record)", ""
                    )
                )
                continue
            seen[term.name] = pos
        terms.append(term)
    return SpfRecord(text, tuple(terms), tuple(errors), tuple(ignored))


def select_records(texts: Sequence[str]) -> tuple[str, ...]:
    """RFC 7208 4.5: of the TXT strings at a name, those that are SPF records."""
    return tuple(t for t in texts if is_spf_record(t))
