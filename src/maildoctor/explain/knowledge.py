"""The explain knowledge: entries loaded from data/*.toml, one file per family, validated.

Each entry says what an error text means, its likely causes (most likely first), the fix step
by step, the maildoctor commands that check it, and the related catalogue finding codes.
An entry is found in a text either by its regex patterns (provider and client texts, anchored
to distinctive phrases) or by a status code: a basic reply code (RFC 5321 4.2, `basic =
"550"`, or a class `"5XX"`), or an enhanced code (RFC 3463: a detail `"X.7.26"` or a subject
`"X.7.X"`; the class of an enhanced code is read by `CLASS_MEANING`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any

from maildoctor.report import SYMPTOMS

FAMILIES = (
    "gmail",
    "microsoft",
    "yahoo",
    "dnsbl",
    "clients",
    "outlook",
    "enhanced",
    "smtp_basic",
)
# Values a pattern may capture (named groups) and the fix / check texts may use.
PLACEHOLDERS = {"domain": "example.com", "ip": "192.0.2.1", "host": "mail.example.com"}
_PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\}")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_BASIC_RE = re.compile(r"^[2-5](?:[0-5][0-9]|XX)$")
_ENHANCED_RE = re.compile(r"^X\.[0-7]\.(?:\d{1,3}|X)$")
_FIELDS = {
    "id",
    "title",
    "meaning",
    "causes",
    "fix",
    "check",
    "findings",
    "symptoms",
    "references",
    "example",
    "patterns",
    "priority",
    "fallback",
    "basic",
    "enhanced",
}


# RFC 3463 3.1-3.3: the class of an enhanced code.
CLASS_MEANING = {
    "2": "success",
    "4": "persistent transient failure: the sender retries later",
    "5": "permanent failure: resending unchanged fails again",
}


class KnowledgeError(Exception):
    """The knowledge data is wrong: a bug in maildoctor, not in the user's text."""


class Tier(IntEnum):
    """How specific a match is; lower sorts first (RFC 3463 2: class, subject, detail)."""

    TEXT = 0  # a provider or client text matched by its patterns
    DETAIL = 1  # an enhanced code X.Y.Z
    SUBJECT = 2  # an enhanced subject X.Y.*
    BASIC = 3  # a basic reply code, e.g. 550
    CLASS = 4  # a basic reply class 5XX (a reply code without an entry of its own)

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Entry:
    id: str
    family: str
    title: str
    meaning: str
    causes: tuple[str, ...]
    fix: tuple[str, ...]
    check: tuple[str, ...]
    findings: tuple[str, ...]
    symptoms: tuple[str, ...]
    references: tuple[str, ...]
    example: str
    patterns: tuple[re.Pattern[str], ...]
    priority: int
    fallback: bool  # a text entry shown only when no other entry of its family matched
    basic: str | None
    enhanced: str | None

    @property
    def tier(self) -> Tier:
        if self.patterns:
            return Tier.TEXT
        if self.enhanced is not None:
            return Tier.SUBJECT if self.enhanced.endswith(".X") else Tier.DETAIL
        assert self.basic is not None
        return Tier.CLASS if self.basic.endswith("XX") else Tier.BASIC


def _text(where: str, raw: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = raw.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: {name} must be a non-empty string")
    return " ".join(value.split())


def _texts(
    where: str, raw: Mapping[str, Any], name: str, *, required: bool = False
) -> tuple[str, ...]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise KnowledgeError(f"{where}: {name} must be a list of non-empty strings")
    if required and not value:
        raise KnowledgeError(f"{where}: {name} must not be empty")
    # Steps keep their inner layout only for indented command lines; prose is joined.
    return tuple(v.strip() if "\n" in v.strip() else " ".join(v.split()) for v in value)


def _example(where: str, raw: Mapping[str, Any]) -> str:
    value = raw.get("example")
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: example must be a non-empty string")
    return value.strip()


def _placeholders_ok(where: str, texts: tuple[str, ...]) -> None:
    for text in texts:
        for name in _PLACEHOLDER_RE.findall(text):
            if name not in PLACEHOLDERS:
                raise KnowledgeError(f"{where}: unknown placeholder {{{name}}}")


def _entry(family: str, raw: Mapping[str, Any]) -> Entry:
    where = f"explain/data/{family}.toml [{raw.get('id')!r}]"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise KnowledgeError(f"{where}: unknown fields {sorted(unknown)}")
    ident = _text(where, raw, "id")
    if not ID_RE.match(ident) or not ident.startswith(family + "."):
        raise KnowledgeError(f"{where}: id must look like '{family}.name'")
    patterns: list[re.Pattern[str]] = []
    for source in _texts(where, raw, "patterns"):
        try:
            pattern = re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise KnowledgeError(f"{where}: bad pattern {source!r}: {exc}") from None
        bad = set(pattern.groupindex) - set(PLACEHOLDERS)
        if bad:
            raise KnowledgeError(f"{where}: unknown named groups {sorted(bad)}")
        patterns.append(pattern)
    basic = raw.get("basic")
    enhanced = raw.get("enhanced")
    if basic is not None and (not isinstance(basic, str) or not _BASIC_RE.match(basic)):
        raise KnowledgeError(f"{where}: basic must look like '550' or '5XX'")
    if enhanced is not None and (not isinstance(enhanced, str) or not _ENHANCED_RE.match(enhanced)):
        raise KnowledgeError(f"{where}: enhanced must look like 'X.7.26' or 'X.7.X'")
    if sum(bool(x) for x in (patterns, basic, enhanced)) != 1:
        raise KnowledgeError(f"{where}: exactly one of patterns, basic, enhanced")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise KnowledgeError(f"{where}: priority must be an integer")
    fallback = raw.get("fallback", False)
    if not isinstance(fallback, bool) or (fallback and not patterns):
        raise KnowledgeError(f"{where}: fallback must be true or false, on a text entry")
    symptoms = _texts(where, raw, "symptoms")
    bad_symptoms = [s for s in symptoms if s not in SYMPTOMS]
    if bad_symptoms:
        raise KnowledgeError(f"{where}: unknown symptoms {bad_symptoms}")
    fix = _texts(where, raw, "fix", required=True)
    check = _texts(where, raw, "check")
    _placeholders_ok(where, fix + check)
    return Entry(
        id=ident,
        family=family,
        title=_text(where, raw, "title"),
        meaning=_text(where, raw, "meaning"),
        causes=_texts(where, raw, "causes", required=True),
        fix=fix,
        check=check,
        findings=_texts(where, raw, "findings"),
        symptoms=symptoms,
        references=_texts(where, raw, "references"),
        example=_example(where, raw),
        patterns=tuple(patterns),
        priority=priority,
        fallback=fallback,
        basic=basic,
        enhanced=enhanced,
    )


def parse_family(family: str, text: str) -> list[Entry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"explain/data/{family}.toml: {exc}") from None
    if set(data) != {"entry"} or not isinstance(data["entry"], list):
        raise KnowledgeError(f"explain/data/{family}.toml: expected [[entry]] tables only")
    return [_entry(family, raw) for raw in data["entry"]]


@cache
def load() -> tuple[Entry, ...]:
    """Every entry of every family, in file order; ids are unique across families."""
    files = resources.files("maildoctor.explain") / "data"
    entries: list[Entry] = []
    seen: set[str] = set()
    codes: set[str] = set()
    for family in FAMILIES:
        for entry in parse_family(family, (files / f"{family}.toml").read_text(encoding="utf-8")):
            if entry.id in seen:
                raise KnowledgeError(f"explain entry {entry.id!r} defined twice")
            seen.add(entry.id)
            code = entry.basic or entry.enhanced
            if code is not None:
                if code in codes:
                    raise KnowledgeError(f"explain code {code!r} has two entries")
                codes.add(code)
            entries.append(entry)
    return tuple(entries)
