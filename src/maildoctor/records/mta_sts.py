"""MTA-STS (RFC 8461): the _mta-sts TXT record, the policy file and the MX-pattern matcher.

No I/O: text in, typed results out. Parsers never raise on hostile input; every problem is a
readable string in `problems`, and a record or policy with problems is treated by senders as
absent (RFC 8461 3.1, 3.2), which is what the checks report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

VERSION = "STSv1"
MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31_557_600  # RFC 8461 3.2: max_age at most 31557600 s (about a year)
POLICY_MAX_BYTES = 64 * 1024  # RFC 8461 3.3: senders may cap the policy body (64 KiB)
MAX_LINES = 1000  # more lines than any real policy: stop reading, report it
MAX_MX_PATTERNS = 100
MAX_PROBLEMS = 20

# RFC 8461 3.1: sts-id = %s"id=" 1*32(ALPHA / DIGIT)
_ID_RE = re.compile(r"[A-Za-z0-9]{1,32}")
# RFC 8461 3.1: sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
_EXT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
# sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible ASCII except ";" and "="
_EXT_VALUE_RE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
# RFC 5321 4.1.2 Domain: sub-domain *("." sub-domain), Let-dig [Ldh-str]
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_POLICY_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _short(text: str, limit: int = 80) -> str:
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the TXT record --------------------------------------------------------------------------


@dataclass(frozen=True)
class StsRecord:
    """One _mta-sts TXT record as a sender reads it."""

    text: str
    id: str | None
    extensions: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


def is_sts_record(text: str) -> bool:
    """RFC 8461 3.1: records that do not begin with "v=STSv1;" are discarded."""
    return text.startswith("v=STSv1;") or text == "v=STSv1"


def parse_record(text: str) -> StsRecord:
    """Parse one TXT string that begins with v=STSv1 (RFC 8461 3.1 ABNF)."""
    problems: list[str] = []
    record_id: str | None = None
    extensions: list[tuple[str, str]] = []
    if not is_sts_record(text):
        problems.append(f'does not begin with "v=STSv1;" ({_short(text)!r})')
        return StsRecord(text, None, (), tuple(problems))
    fields = text.split(";")[1:]
    if fields and fields[-1].strip(" \t") == "":
        fields = fields[:-1]  # a final ";" is allowed
    ids = 0
    for raw in fields[:50]:
        part = raw.strip(" \t")
        if not part:
            problems.append('empty field (";;")')
            continue
        name, sep, value = part.partition("=")
        if not sep:
            problems.append(f"field {_short(part)!r} has no '='")
            continue
        if name == "id":
            ids += 1
            if not _ID_RE.fullmatch(value):
                problems.append(
                    f"id={_short(value)!r} must be 1 to 32 letters and digits (RFC 8461 3.1)"
                )
            elif record_id is None:
                record_id = value
        elif name == "v":
            problems.append("v= appears twice")
        elif not _EXT_NAME_RE.fullmatch(name) or not _EXT_VALUE_RE.fullmatch(value):
            problems.append(f"malformed field {_short(part)!r}")
        else:
            extensions.append((name, value))
    if len(fields) > 50:
        problems.append(f"{len(fields)} fields: too many")
    if ids == 0:
        problems.append("no id= field (RFC 8461 3.1 requires one)")
    elif ids > 1:
        problems.append(f"id= appears {ids} times")
    return StsRecord(text, record_id, tuple(extensions), tuple(problems[:MAX_PROBLEMS]))


@dataclass(frozen=True)
class StsDiscovery:
    """What a sender makes of the TXT answer at _mta-sts.<domain> (RFC 8461 3.1)."""

    records: tuple[str, ...]  # every v=STSv1 string found
    record: StsRecord | None  # the one record senders use, when there is exactly one
    problems: tuple[str, ...] = ()


def discover(txt_records: Iterable[str]) -> StsDiscovery:
    sts = tuple(t for t in txt_records if t.startswith("v=STSv1"))
    if not sts:
        return StsDiscovery((), None)
    real = [t for t in sts if is_sts_record(t)]
    if len(real) > 1:
        # RFC 8461 3.1: if the number of resulting records is not one, senders MUST assume
        # the domain has no MTA-STS policy.
        return StsDiscovery(sts, None, (f"{len(real)} v=STSv1 records: there must be one",))
    if not real:
        return StsDiscovery(sts, parse_record(sts[0]), ())
    return StsDiscovery(sts, parse_record(real[0]), ())


# --- the policy file -------------------------------------------------------------------------


@dataclass(frozen=True)
class StsPolicy:
    version: str | None
    mode: str | None
    max_age: int | None
    mx: tuple[str, ...]
    extensions: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())  # harmless oddities worth saying (CRLF mix...)

    @property
    def valid(self) -> bool:
        return not self.problems

    def render(self) -> str:
        """The policy as a well-formed file (CRLF line ends, RFC 8461 3.2)."""
        lines = [f"version: {VERSION}", f"mode: {self.mode or 'enforce'}"]
        lines += [f"mx: {m}" for m in self.mx]
        lines.append(f"max_age: {self.max_age if self.max_age is not None else 604800}")
        return "\r\n".join(lines) + "\r\n"


def valid_mx_pattern(pattern: str) -> bool:
    """RFC 8461 3.2: sts-policy-mx-value = ["*."] Domain."""
    host = pattern[2:] if pattern.startswith("*.") else pattern
    host = host.removesuffix(".")
    if not host or len(host) > 253:
        return False
    return all(_LABEL_RE.fullmatch(label) for label in host.split("."))


def _split_lines(text: str) -> tuple[list[str], list[str]]:
    """Lines of a policy: RFC 8461 3.2 sts-policy-term = LF / CRLF. A bare CR ends nothing."""
    notes: list[str] = []
    crlf, lf = text.count("\r\n"), text.count("\n") - text.count("\r\n")
    if crlf and lf:
        notes.append(f"line ends mix CRLF ({crlf}) and LF ({lf}); both are allowed")
    lines = text.split("\n")
    out = [line[:-1] if line.endswith("\r") else line for line in lines]
    if out and out[-1] == "":
        out.pop()
    return out, notes


def parse_policy(text: str, *, truncated: bool = False) -> StsPolicy:
    """Parse a policy body (RFC 8461 3.2). `truncated`: the fetch stopped at the size cap."""
    problems: list[str] = []
    if truncated:
        problems.append(
            f"the policy is larger than {POLICY_MAX_BYTES // 1024} KiB: senders stop reading it"
        )
    if text.startswith("\ufeff"):
        problems.append("starts with a byte-order mark: the first field name is not 'version'")
    lines, notes = _split_lines(text)
    if len(lines) > MAX_LINES:
        problems.append(f"{len(lines)} lines: only the first {MAX_LINES} were read")
        lines = lines[:MAX_LINES]
    seen: dict[str, list[str]] = {}
    extensions: list[tuple[str, str]] = []
    mx: list[str] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip(" \t")
        if not line:
            continue  # RFC 8461 3.2 ABNF has no empty lines; every sender skips them
        if "\r" in line:
            problems.append(f"line {n}: bare CR inside a line ({_short(line)!r})")
            continue
        key, sep, value = line.partition(":")
        key, value = key.rstrip(" \t"), value.strip(" \t")
        if not sep or not _POLICY_KEY_RE.fullmatch(key):
            problems.append(f"line {n}: not a 'key: value' line ({_short(line)!r})")
            continue
        if key.lower() in ("version", "mode", "max_age", "mx") and key != key.lower():
            # RFC 8461 3.2 ABNF: the field names are case-sensitive (%s"mode")
            problems.append(f"line {n}: field names are lower case: {key!r} is not {key.lower()!r}")
            continue
        if key == "mx":
            if len(mx) >= MAX_MX_PATTERNS:
                problems.append(f"more than {MAX_MX_PATTERNS} mx lines: the rest were ignored")
                break
            if not valid_mx_pattern(value):
                problems.append(f"line {n}: mx {_short(value)!r} is not a host name or *.domain")
                continue
            mx.append(value.lower().rstrip("."))
            continue
        seen.setdefault(key, []).append(value)
        if key not in ("version", "mode", "max_age"):
            extensions.append((key, value))
    version, mode, max_age = _check_fields(seen, mx, problems)
    return StsPolicy(
        version=version,
        mode=mode,
        max_age=max_age,
        mx=tuple(mx),
        extensions=tuple(extensions[:20]),
        problems=tuple(problems[:MAX_PROBLEMS]),
        notes=tuple(notes),
    )


def _check_fields(
    seen: dict[str, list[str]], mx: list[str], problems: list[str]
) -> tuple[str | None, str | None, int | None]:
    """version, mode and max_age of a policy; what is wrong with them goes to `problems`."""
    for key in ("version", "mode", "max_age"):
        values = seen.get(key, [])
        if len(values) > 1:
            shown = ", ".join(_short(v, 20) for v in values[:3])
            problems.append(f"{key} appears {len(values)} times ({shown})")
    version = _first(seen, "version")
    mode = _first(seen, "mode")
    max_age_text = _first(seen, "max_age")
    if version is None:
        problems.append("no 'version: STSv1' line")
    elif version != VERSION:
        problems.append(f"version is {_short(version)!r}, not {VERSION!r}")
    if mode is None:
        problems.append("no 'mode:' line (enforce, testing or none)")
    elif mode not in MODES:
        problems.append(f"mode {_short(mode)!r} is not enforce, testing or none")
        mode = None
    max_age: int | None = None
    if max_age_text is None:
        problems.append("no 'max_age:' line")
    elif not re.fullmatch(r"[0-9]{1,10}", max_age_text):
        problems.append(f"max_age {_short(max_age_text)!r} is not a number of seconds")
    else:
        max_age = int(max_age_text)
        if max_age > MAX_AGE_LIMIT:
            problems.append(f"max_age {max_age} is above the maximum {MAX_AGE_LIMIT}")
    if mode in ("enforce", "testing") and not mx:
        problems.append(f"mode {mode} without any 'mx:' line: no MX host can match")
    return version, mode, max_age


def _first(seen: dict[str, list[str]], key: str) -> str | None:
    values = seen.get(key)
    return values[0] if values else None


# --- MX matching -----------------------------------------------------------------------------


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: does the MX host name match one policy mx pattern?

    Matching follows RFC 6125 with the wildcard only as the whole left-most label: the
    pattern "*.example.com" matches "mail.example.com" but neither "example.com" nor
    "foo.bar.example.com". Comparison is case-insensitive; a trailing dot is ignored.
    """
    p = pattern.strip().lower().rstrip(".")
    h = host.strip().lower().rstrip(".")
    if not p or not h:
        return False
    if p.startswith("*."):
        suffix = p[2:]
        label, dot, rest = h.partition(".")
        return bool(label) and bool(dot) and rest == suffix and "*" not in label
    return p == h


def unmatched_mx(patterns: Iterable[str], hosts: Iterable[str]) -> tuple[str, ...]:
    pats = tuple(patterns)
    return tuple(h for h in hosts if not any(mx_matches(p, h) for p in pats))


def suggested_policy(mx_hosts: Iterable[str], mode: str = "enforce") -> str:
    """A policy for these MX hosts, ready to serve (CRLF lines, one mx line per host)."""
    hosts = tuple(dict.fromkeys(h.lower().rstrip(".") for h in mx_hosts if h))
    return StsPolicy(VERSION, mode, 604800, hosts or ("mail.example.com",)).render()
