"""The finding catalogue: every finding code defined once, as data, one TOML file per area.

Checks, `explain`, `diagnose`, the findings reference page and the renderers all read this one
source. Text fields may hold `{placeholders}` that the emitting check fills (the corrected
record, the host name...); a check must fill exactly the placeholders its entry names.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from maildoctor.report import SYMPTOMS, Finding, Severity

CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TEXT_FIELDS = ("title", "cause", "fix")


class CatalogueError(Exception):
    """The catalogue data or a check's use of it is wrong: a bug in maildoctor, not the server."""


@dataclass(frozen=True)
class Entry:
    code: str
    severity: Severity
    title: str
    cause: str
    fix: str
    references: tuple[str, ...]
    symptoms: tuple[str, ...]
    # Position in its area's file. Entries are written in the order a session meets them
    # (connect, greet, TLS, AUTH...): an earlier step's failure explains the later ones, so
    # diagnose ranks by it between equals.
    step: int = 0

    @property
    def area(self) -> str:
        return self.code.split(".", 1)[0]

    @property
    def placeholders(self) -> frozenset[str]:
        names: set[str] = set()
        for text in (self.title, self.cause, self.fix):
            names.update(n for _, n, _, _ in string.Formatter().parse(text) if n)
        return frozenset(names)


class Catalogue(Mapping[str, Entry]):
    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, code: str) -> Entry:
        return self._entries[code]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def finding(
        self,
        code: str,
        *,
        subject: str,
        evidence: str,
        severity: Severity | None = None,
        only_symptoms: tuple[str, ...] | None = None,
        **params: object,
    ) -> Finding:
        """Build a finding from its entry, filling the entry's placeholders from `params`.

        `only_symptoms` narrows the entry's symptoms for this one finding (port 25 refused
        explains "cannot receive", port 587 refused "cannot send"); it never adds one.
        """
        try:
            entry = self._entries[code]
        except KeyError:
            raise CatalogueError(f"finding code {code!r} is not in the catalogue") from None
        given = set(params)
        if given != entry.placeholders:
            raise CatalogueError(
                f"{code}: placeholders {sorted(entry.placeholders)} but got {sorted(given)}"
            )
        values = {k: str(v) for k, v in params.items()}
        return Finding(
            code=code,
            severity=severity if severity is not None else entry.severity,
            subject=subject,
            title=entry.title.format_map(values),
            evidence=evidence,
            cause=entry.cause.format_map(values),
            fix=entry.fix.format_map(values),
            references=entry.references,
            symptoms=entry.symptoms
            if only_symptoms is None
            else tuple(x for x in entry.symptoms if x in only_symptoms),
        )


def reflow(text: str) -> str:
    """Join wrapped prose lines; keep blank lines and indented (literal) lines as they are.

    Catalogue text is wrapped in the TOML files for reading there; renderers wrap it again
    for their width. Indented lines hold records and commands, which must not be joined.
    """
    out: list[str] = []
    for line in text.strip().splitlines():
        literal = line[:1].isspace()
        if out and out[-1] and line.strip() and not literal and not out[-1][:1].isspace():
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line.rstrip() if literal else line.strip())
    return "\n".join(out)


def _entry(area: str, code: str, raw: Mapping[str, Any], step: int = 0) -> Entry:
    where = f"catalogue/{area}.toml [{code!r}]"
    if not CODE_RE.match(code) or code.split(".", 1)[0] != area:
        raise CatalogueError(f"{where}: code must look like '{area}.name'")
    unknown = set(raw) - {"severity", "references", "symptoms", *_TEXT_FIELDS}
    if unknown:
        raise CatalogueError(f"{where}: unknown fields {sorted(unknown)}")
    for name in _TEXT_FIELDS:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise CatalogueError(f"{where}: {name} must be a non-empty string")
    try:
        severity = Severity.parse(str(raw.get("severity", "")))
    except ValueError as exc:
        raise CatalogueError(f"{where}: {exc}") from None
    references = tuple(raw.get("references", ()))
    symptoms = tuple(raw.get("symptoms", ()))
    if not all(isinstance(r, str) and r for r in references):
        raise CatalogueError(f"{where}: references must be strings")
    bad = [s for s in symptoms if s not in SYMPTOMS]
    if bad:
        raise CatalogueError(f"{where}: unknown symptoms {bad}")
    return Entry(
        code=code,
        severity=severity,
        title=raw["title"].strip(),
        cause=reflow(raw["cause"]),
        fix=reflow(raw["fix"]),
        references=references,
        symptoms=symptoms,
        step=step,
    )


def parse_area(area: str, text: str) -> dict[str, Entry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue/{area}.toml: {exc}") from None
    out: dict[str, Entry] = {}
    for step, (code, raw) in enumerate(data.items()):
        if not isinstance(raw, dict):
            raise CatalogueError(f"catalogue/{area}.toml: {code!r} must be a table")
        out[code] = _entry(area, code, raw, step)
    return out


@cache
def load() -> Catalogue:
    entries: dict[str, Entry] = {}
    for item in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".toml"):
            continue
        area = item.name.removesuffix(".toml")
        for code, entry in parse_area(area, item.read_text(encoding="utf-8")).items():
            if code in entries:
                raise CatalogueError(f"finding code {code!r} defined twice")
            entries[code] = entry
    return Catalogue(entries)
