"""SMTP TLS Reporting (RFC 8460): the _smtp._tls TXT record.

No I/O. A record with problems is one senders ignore (RFC 8460 3): no TLS failure reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_FIELDS = 50
MAX_URIS = 20

# RFC 8460 3: tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
_EXT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXT_VALUE_RE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")
_HOST_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$&'*+/=?^_`{|}~.-]{1,64}")


def _short(text: str, limit: int = 80) -> str:
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class TlsRptRecord:
    text: str
    rua: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


def is_tlsrpt_record(text: str) -> bool:
    """RFC 8460 3: records that do not begin with "v=TLSRPTv1;" are discarded."""
    return text.startswith("v=TLSRPTv1;")


def uri_problem(uri: str) -> str | None:
    """Why a rua URI is unusable, or None. RFC 8460 3: "mailto:" or "https:" URIs."""
    scheme, sep, rest = uri.partition(":")
    if not sep:
        return f"{_short(uri)!r} has no scheme: write mailto:{_short(uri)} or an https: URL"
    scheme = scheme.lower()
    if scheme == "mailto":
        address = rest.split("?", 1)[0].replace("%40", "@")
        local, at, host = address.rpartition("@")
        if not at or not _LOCAL_RE.fullmatch(local) or not _HOST_RE.fullmatch(host):
            return f"{_short(uri)!r} is not a mailto: address"
        return None
    if scheme == "https":
        host = rest.removeprefix("//").split("/", 1)[0].split(":", 1)[0]
        if not rest.startswith("//") or not _HOST_RE.fullmatch(host):
            return f"{_short(uri)!r} is not an https:// URL with a host"
        return None
    return f"{_short(uri)!r}: the scheme must be mailto: or https:, not {_short(scheme)}:"


def parse_record(text: str) -> TlsRptRecord:
    """Parse one TXT string beginning with v=TLSRPTv1 (RFC 8460 3 ABNF)."""
    problems: list[str] = []
    if not is_tlsrpt_record(text):
        return TlsRptRecord(text, (), (f'does not begin with "v=TLSRPTv1;" ({_short(text)!r})',))
    fields = text.split(";")[1:]
    if fields and fields[-1].strip(" \t") == "":
        fields = fields[:-1]
    if len(fields) > MAX_FIELDS:
        problems.append(f"{len(fields)} fields: too many")
        fields = fields[:MAX_FIELDS]
    rua: list[str] = []
    rua_fields = 0
    for raw in fields:
        part = raw.strip(" \t")
        name, sep, value = part.partition("=")
        if not part:
            problems.append('empty field (";;")')
        elif not sep:
            problems.append(f"field {_short(part)!r} has no '='")
        elif name == "rua":
            rua_fields += 1
            uris = [u.strip(" \t") for u in value.split(",")]
            for uri in uris[:MAX_URIS]:
                why = uri_problem(uri) if uri else "empty URI in rua="
                if why:
                    problems.append(why)
                else:
                    rua.append(uri)
        elif name == "v":
            problems.append("v= appears twice")
        elif not _EXT_NAME_RE.fullmatch(name) or not _EXT_VALUE_RE.fullmatch(value):
            problems.append(f"malformed field {_short(part)!r}")
    if rua_fields == 0:
        problems.append("no rua= field: reports have nowhere to go (RFC 8460 3 requires it)")
    elif rua_fields > 1:
        problems.append(f"rua= appears {rua_fields} times: list the URIs in one rua=, by commas")
    return TlsRptRecord(text, tuple(rua), tuple(problems[:20]))


@dataclass(frozen=True)
class TlsRptDiscovery:
    records: tuple[str, ...]  # every string beginning with v=TLSRPTv1
    record: TlsRptRecord | None
    problems: tuple[str, ...] = ()


def discover(txt_records: Iterable[str]) -> TlsRptDiscovery:
    found = tuple(t for t in txt_records if t.startswith("v=TLSRPTv1"))
    if not found:
        return TlsRptDiscovery((), None)
    real = [t for t in found if is_tlsrpt_record(t)]
    if len(real) > 1:
        # RFC 8460 3: if the number of resulting records is not one, senders MUST assume the
        # domain does not implement TLSRPT.
        return TlsRptDiscovery(found, None, (f"{len(real)} v=TLSRPTv1 records: there must be one",))
    return TlsRptDiscovery(found, parse_record(real[0] if real else found[0]))
