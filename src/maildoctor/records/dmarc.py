"""DMARC policy records (RFC 7489 6.3, 6.4): parse, name every syntax problem, and correct.

No I/O. The organizational domain (RFC 7489 3.2) comes from the Public Suffix List shipped
inside the `publicsuffixlist` package: read from the installed package, never downloaded.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

from publicsuffixlist import PublicSuffixList

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.records.dkim import Problem, TagList, parse_tag_list, shown

POLICIES = ("none", "quarantine", "reject")  # RFC 7489 6.3 p=
# RFC 7489 6.3 tags, and the DMARCbis tags receivers may already read (not flagged as unknown)
KNOWN_TAGS = ("v", "p", "sp", "adkim", "aspf", "fo", "pct", "rf", "ri", "rua", "ruf")
LATER_TAGS = ("np", "psd", "t")
_ORDER = ("v", "p", "sp", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf")
# RFC 7489 6.6.3 step 2: a record is a DMARC record when it starts with the v=DMARC1 tag.
_VERSION = re.compile(r"[vV][ \t]*=[ \t]*DMARC1[ \t]*(;|$)")
_LOOKS_LIKE = re.compile(r"dmarc|(^|;)\s*(p|rua|ruf)\s*=", re.IGNORECASE)
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_SIZE = re.compile(r"(.*)!(\d+)([kmgtKMGT]?)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
MAX_URIS = 20  # a hostile record may list thousands; receivers need to honour two (RFC 7489 6.2)


def is_dmarc_record(text: str) -> bool:
    """RFC 7489 6.6.3: records that do not start with v=DMARC1 are discarded."""
    return _VERSION.match(text) is not None


def looks_like_dmarc(text: str) -> bool:
    """A TXT record meant as DMARC (it names DMARC or has p=/rua=) that receivers discard."""
    return _LOOKS_LIKE.search(text) is not None


def valid_hostname(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(x) for x in labels)


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list shipped in the package (public_suffix_list.dat)


def organizational_domain(domain: str) -> str:
    """RFC 7489 3.2: the public suffix plus one label; the domain itself for a public suffix."""
    name = domain.lower().rstrip(".")
    return _psl().privatesuffix(name) or name


@dataclass(frozen=True)
class ReportUri:
    """One rua/ruf destination (RFC 7489 6.2): the URI, its size limit, its mail domain."""

    raw: str
    scheme: str
    address: str  # for mailto: the mailbox; "" otherwise
    domain: str  # for mailto: the mailbox's domain (lower case); "" otherwise
    limit: str  # "!10m" style suffix as published, "" when none


def parse_uri(raw: str) -> ReportUri | str:
    """A report URI, or why it is not one a receiver can send to."""
    text = raw.strip(" \t")
    limit = ""
    m = _SIZE.fullmatch(text)
    if m:
        text, limit = m.group(1), f"!{m.group(2)}{m.group(3)}"
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        if "@" in text:
            return f"'{shown(text, 60)}' is an address, not a URI: write mailto:{shown(text, 60)}"
        return f"'{shown(text, 60)}' is not a URI (expected mailto:address)"
    scheme = scheme.lower()
    if scheme != "mailto":
        return ReportUri(raw.strip(), scheme, "", "", limit)
    address = unquote(rest.split("?", 1)[0])
    local, at, host = address.rpartition("@")
    if not at or not local or not valid_hostname(host):
        return f"'{shown(text, 60)}' does not hold a valid mail address"
    return ReportUri(raw.strip(), scheme, address, host.lower().rstrip("."), limit)


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: TagList
    policy: str | None  # p=, None when absent or invalid
    subdomain_policy: str | None  # sp=, None when absent or invalid
    pct: int  # 100 when absent or invalid (RFC 7489 6.3 default)
    rua: tuple[ReportUri, ...]
    ruf: tuple[ReportUri, ...]
    problems: tuple[Problem, ...]
    valid_values: tuple[tuple[str, str], ...]  # (tag, value) of the tags that are valid

    @property
    def policy_applies(self) -> bool:
        """False when a fatal problem makes receivers ignore the policy (RFC 7489 6.6.3 6)."""
        return self.policy is not None and is_dmarc_record(self.text) and not self.fatal

    @property
    def fatal(self) -> bool:
        return any(p.fatal for p in self.problems)

    def effective_policy(self, *, subdomain: bool) -> str | None:
        """The policy for mail from the domain itself, or from a subdomain (sp= or else p=)."""
        if subdomain and self.subdomain_policy:
            return self.subdomain_policy
        return self.policy

    def corrected(
        self,
        domain: str,
        *,
        policy: str | None = None,
        subdomain_policy: str | None = None,
        pct: bool = True,
    ) -> str:
        """The record with every invalid tag fixed or dropped, ready to paste."""
        values = dict(self.valid_values)
        values["v"] = "DMARC1"
        values["p"] = policy or self.policy or _guess_policy(self.tags.get("p"))
        if subdomain_policy:
            values["sp"] = subdomain_policy
        if not pct:
            values.pop("pct", None)
        if "rua" not in values:
            values["rua"] = f"mailto:dmarc-reports@{domain}"
        return "; ".join(f"{k}={values[k]}" for k in _ORDER if k in values)


def _guess_policy(given: str | None) -> str:
    if given:
        close = difflib.get_close_matches(given.lower(), POLICIES, n=1, cutoff=0.6)
        if close:
            return close[0]
    return "quarantine"


def _policy(name: str, value: str | None, problems: list[Problem], fatal: bool) -> str | None:
    if value is None:
        return None
    if value.lower() in POLICIES:
        return value.lower()
    close = difflib.get_close_matches(value.lower(), POLICIES, n=1, cutoff=0.6)
    hint = f" (did you mean {name}={close[0]}?)" if close else ""
    problems.append(
        Problem(f"{name}={shown(value, 40)} is not none, quarantine or reject{hint}", fatal=fatal)
    )
    return None


def _uris(name: str, value: str, problems: list[Problem]) -> tuple[ReportUri, ...]:
    found: list[ReportUri] = []
    parts = [p for p in value.split(",") if p.strip(" \t")]
    if not parts:
        problems.append(Problem(f"{name}= is empty", fatal=False))
    if len(parts) > MAX_URIS:
        problems.append(Problem(f"{name}= lists {len(parts)} URIs; only the first {MAX_URIS} read"))
    for raw in parts[:MAX_URIS]:
        uri = parse_uri(raw)
        if isinstance(uri, str):
            problems.append(Problem(f"{name}=: {uri}", fatal=False))
            continue
        if uri.scheme != "mailto":
            # RFC 7489 6.3: receivers are only required to support mailto:
            problems.append(
                Problem(f"{name}=: {uri.scheme}: URIs are not supported by most receivers", False)
            )
        found.append(uri)
    return tuple(found)


def _colon_values(
    name: str, value: str, allowed: tuple[str, ...], problems: list[Problem]
) -> str | None:
    items = [i.strip(" \t") for i in value.split(":")]
    bad = [i for i in items if i.lower() not in allowed]
    if bad or not items:
        problems.append(
            Problem(
                f"{name}={shown(value, 40)}: allowed values are {', '.join(allowed)}", fatal=False
            )
        )
        return None
    return ":".join(i.lower() for i in items)


def _optional_tags(tags: TagList, problems: list[Problem], valid: list[tuple[str, str]]) -> int:
    """Check adkim, aspf, pct, fo, rf, ri (RFC 7489 6.3); return the pct that applies."""
    for name in ("adkim", "aspf"):
        value = tags.get(name)
        if value is None:
            continue
        if value.lower() in ("r", "s"):
            valid.append((name, value.lower()))
        else:
            problems.append(Problem(f"{name}={shown(value, 40)}: must be r or s", fatal=False))
    pct = 100
    pct_raw = tags.get("pct")
    if pct_raw is not None:
        # RFC 7489 6.4: dmarc-percent = "pct" *WSP "=" *WSP 1*3DIGIT, 0 to 100
        if re.fullmatch(r"\d{1,3}", pct_raw) and int(pct_raw) <= 100:
            pct = int(pct_raw)
            valid.append(("pct", str(pct)))
        else:
            problems.append(
                Problem(f"pct={shown(pct_raw, 40)}: must be a whole number from 0 to 100", False)
            )
    fo = tags.get("fo")
    if fo is not None:
        fo_ok = _colon_values("fo", fo, ("0", "1", "d", "s"), problems)
        if fo_ok:
            valid.append(("fo", fo_ok))
    rf = tags.get("rf")
    if rf is not None:
        rf_ok = _colon_values("rf", rf, ("afrf",), problems)
        if rf_ok:
            valid.append(("rf", rf_ok))
    ri = tags.get("ri")
    if ri is not None:
        if re.fullmatch(r"\d{1,10}", ri) and int(ri) < 2**32:
            valid.append(("ri", str(int(ri))))
        else:
            problems.append(Problem(f"ri={shown(ri, 40)}: must be a number of seconds", False))
    return pct


def parse_record(text: str) -> DmarcRecord:
    """Parse a TXT record published at _dmarc.<domain> (RFC 7489 6.3, 6.4)."""
    tags = parse_tag_list(text, fold_case=True)
    problems = [Problem(p.message, p.fatal) for p in tags.problems]
    names = tags.names()
    version = tags.get("v")
    if version is None:
        problems.append(Problem("no v=DMARC1 tag: receivers ignore the record"))
    elif names[0] != "v" or text[:1] in " \t":
        problems.append(
            Problem(
                "v=DMARC1 must be the very first thing in the record (RFC 7489 6.3): "
                "receivers ignore a record that does not start with it"
            )
        )
    elif version.startswith("DMARC1") and "=" in version:
        problems.append(Problem("a ';' is missing after v=DMARC1"))
    elif version != "DMARC1":
        problems.append(
            Problem(f"v={shown(version, 40)}: must be exactly v=DMARC1 (upper case, digit 1)")
        )
    valid: list[tuple[str, str]] = []
    p_raw = tags.get("p")
    policy = _policy("p", p_raw, problems, fatal=True)
    if p_raw is None:
        problems.append(Problem("no p= tag: the policy is REQUIRED (RFC 7489 6.3)"))
    elif len(names) > 1 and names[0] == "v" and names[1] != "p":
        problems.append(Problem("p= should come right after v=DMARC1 (RFC 7489 6.4)", False))
    if policy:
        valid.append(("p", policy))
    sp = _policy("sp", tags.get("sp"), problems, fatal=False)
    if sp:
        valid.append(("sp", sp))
    pct = _optional_tags(tags, problems, valid)
    reports: dict[str, tuple[ReportUri, ...]] = {}
    for name in ("rua", "ruf"):
        value = tags.get(name)
        reports[name] = () if value is None else _uris(name, value, problems)
        good = [u.raw for u in reports[name] if u.scheme == "mailto"]
        if good:
            valid.append((name, ",".join(good)))
    for name in names:
        if name not in KNOWN_TAGS and name not in LATER_TAGS:
            close = difflib.get_close_matches(name, KNOWN_TAGS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}=?)" if close else ""
            problems.append(
                Problem(f"unknown tag {shown(name, 40)}= is ignored by receivers{hint}", False)
            )
    return DmarcRecord(
        text=text,
        tags=tags,
        policy=policy,
        subdomain_policy=sp,
        pct=pct,
        rua=reports["rua"],
        ruf=reports["ruf"],
        problems=tuple(problems),
        valid_values=tuple(valid),
    )


def report_authorization_name(policy_domain: str, destination: str) -> str:
    """RFC 7489 7.1: where a report destination authorises reports about another domain."""
    return f"{policy_domain.rstrip('.')}._report._dmarc.{destination.rstrip('.')}"


def external_destinations(record: DmarcRecord, policy_domain: str) -> tuple[str, ...]:
    """Mail domains of rua/ruf outside the policy domain's organizational domain (RFC 7489 7.1)."""
    own = organizational_domain(policy_domain)
    out: list[str] = []
    for uri in (*record.rua, *record.ruf):
        if uri.domain and organizational_domain(uri.domain) != own and uri.domain not in out:
            out.append(uri.domain)
    return tuple(out)


def dmarc_records(result: DnsResult | None) -> list[str]:
    """The records receivers consider: TXT at _dmarc that start with v=DMARC1 (RFC 7489 6.6.3)."""
    if result is None or result.status is not DnsStatus.NOERROR:
        return []
    return [r for r in result.records if is_dmarc_record(r)]


def applicable(ev_own: DnsResult, ev_org: DnsResult | None) -> DnsResult | None:
    """The answer whose record applies: the domain's own, else the organizational domain's.

    None when the own lookup failed (a timeout is no reason to fall back) or neither applies.
    """
    if dmarc_records(ev_own):
        return ev_own
    if ev_own.status not in (DnsStatus.NOERROR, DnsStatus.NODATA, DnsStatus.NXDOMAIN):
        return None
    if ev_org is not None and ev_org.status is DnsStatus.NOERROR:
        return ev_org
    return None
