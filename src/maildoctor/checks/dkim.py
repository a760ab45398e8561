"""DKIM rules: the public keys under each selector tried (RFC 6376 3.6, RFC 8301, RFC 8463)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dkim import DkimEvidence, DkimSelector
from maildoctor.evidence.dns import DnsStatus
from maildoctor.records.dkim import KNOWN_KEY_TYPES, DkimKeyRecord, parse_key_record, shown
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "dkim.ok",
    "dkim.no_key_found",
    "dkim.invalid_key",
    "dkim.weak_key",
    "dkim.testing_mode",
    "dkim.revoked",
    "dkim.syntax_error",
    "dkim.unknown_key_type",
    "dkim.multiple_records",
    "dkim.sha1_only",
)
MIN_RSA_BITS = 1024  # RFC 8301 3.2: verifiers MUST NOT accept smaller keys
GOOD_RSA_BITS = 2048  # RFC 8301 3.2: signers SHOULD use at least 2048 bits
_NO_RECORD = (DnsStatus.NXDOMAIN, DnsStatus.NODATA)


def _zone_text(text: str) -> str:
    """A TXT value split in 255-octet strings, to go between the catalogue's quotes."""
    return '" "'.join(text[i : i + 255] for i in range(0, len(text), 255))


def corrected(rec: DkimKeyRecord, *, keep_testing: bool = True) -> str:
    """The key record rewritten well-formed, keeping the key when it loads."""
    key_type = rec.key_type if rec.key_type in KNOWN_KEY_TYPES else "rsa"
    parts = ["v=DKIM1", f"k={key_type}"]
    if rec.hashes and "sha256" in rec.hashes:
        parts.append("h=sha256")  # RFC 8301 3.1: sha1 must not be used; others are unknown
    flags = [f for f in rec.flags if keep_testing or f != "y"]
    if flags:
        parts.append("t=" + ":".join(flags))
    parts.append("p=" + (rec.public_key if rec.key is not None and rec.public_key else "<base64>"))
    return _zone_text("; ".join(parts))


def _owner(sel: DkimSelector, domain: str) -> str:
    return f"{sel.selector}._domainkey.{domain}"


def _evidence(sel: DkimSelector, domain: str, text: str) -> str:
    via = f" (via CNAME {sel.txt.canonical_name})" if sel.txt.canonical_name else ""
    return f"{_owner(sel, domain)} TXT{via}: {shown(text)}"


def _usable(rec: DkimKeyRecord) -> bool:
    """A key verifiers accept: loaded, not under 1024 bits, not restricted to SHA-1."""
    if rec.key is None or rec.sha1_only or any(p.fatal for p in rec.problems):
        return False
    return rec.key.algorithm != "rsa" or rec.key.bits >= MIN_RSA_BITS


def _judge(
    ctx: CheckContext, sel: DkimSelector, domain: str, text: str, rec: DkimKeyRecord
) -> Iterator[Finding]:
    """Every finding about one key record, except revoked (judged against the other keys)."""
    subject, evidence = _owner(sel, domain), _evidence(sel, domain, text)
    common: dict[str, Any] = {
        "subject": subject,
        "evidence": evidence,
        "selector": sel.selector,
        "domain": domain,
    }
    if rec.problems or not rec.is_dkim:
        fatal = any(p.fatal for p in rec.problems)
        yield ctx.finding(
            "dkim.syntax_error",
            severity=None if fatal else Severity.WARNING,
            problems="; ".join(p.message for p in rec.problems),
            corrected=corrected(rec),
            **common,
        )
        if fatal:
            return
    if rec.revoked:
        return
    if rec.key_type not in KNOWN_KEY_TYPES:
        yield ctx.finding("dkim.unknown_key_type", key_type=shown(rec.key_type, 40), **common)
        return
    if rec.key is None:
        yield ctx.finding("dkim.invalid_key", reason=rec.key_error, key_type=rec.key_type, **common)
        return
    clean = not rec.problems
    if rec.key.algorithm == "rsa" and rec.key.bits < GOOD_RSA_BITS:
        clean = False
        yield ctx.finding(
            "dkim.weak_key",
            # RFC 8301 3.2: under 1024 bits signatures fail (error); under 2048 it is weak.
            severity=Severity.ERROR if rec.key.bits < MIN_RSA_BITS else Severity.WARNING,
            bits=rec.key.bits,
            new_selector=f"{sel.selector}2048",
            **common,
        )
    if rec.testing:
        clean = False
        yield ctx.finding(
            "dkim.testing_mode", corrected=corrected(rec, keep_testing=False), **common
        )
    if rec.sha1_only:
        clean = False
        yield ctx.finding(
            "dkim.sha1_only",
            hashes=shown(":".join(rec.hashes or ()), 40),
            corrected=corrected(rec),
            **common,
        )
    if clean:
        yield ctx.finding(
            "dkim.ok",
            subject=subject,
            evidence=evidence,
            selector=sel.selector,
            domain=domain,
            key_type=rec.key.algorithm,
            bits=rec.key.bits,
        )


@check(needs=("dns.dkim",), codes=CODES)
def dkim_keys(ctx: CheckContext, ev: DkimEvidence) -> Iterator[Finding | NotChecked]:
    domain = ev.domain
    if ev.apex.status is DnsStatus.NXDOMAIN:
        yield NotChecked("DKIM keys", f"{domain} does not exist (NXDOMAIN)")
        return
    wildcard: frozenset[str] = frozenset()
    if ev.wildcard is not None and ev.wildcard.status is DnsStatus.NOERROR:
        wildcard = frozenset(ev.wildcard.records)
    published: list[DkimSelector] = []
    failed: list[DkimSelector] = []
    for sel in ev.selectors:
        if sel.txt.status in _NO_RECORD:
            continue
        if sel.txt.status is not DnsStatus.NOERROR:
            failed.append(sel)
            yield NotChecked(f"DKIM selector {sel.selector}", sel.txt.describe())
            continue
        if not sel.given and wildcard and frozenset(sel.txt.records) == wildcard:
            continue  # a wildcard answers every name: this guessed selector is not published
        published.append(sel)

    revoked: list[tuple[DkimSelector, str]] = []
    usable: list[str] = []
    for sel in published:
        records = sel.txt.records
        if len(records) > 1:
            yield ctx.finding(
                "dkim.multiple_records",
                subject=_owner(sel, domain),
                evidence="; ".join(_evidence(sel, domain, r) for r in records[:5]),
                selector=sel.selector,
                domain=domain,
                count=len(records),
            )
        for text in records[:5]:  # bounded: a hostile RRset may hold hundreds
            rec = parse_key_record(text)
            yield from _judge(ctx, sel, domain, text, rec)
            if rec.revoked and rec.is_dkim and not any(p.fatal for p in rec.problems):
                revoked.append((sel, text))
            elif _usable(rec):
                usable.append(sel.selector)

    for sel, text in revoked:
        others = (
            f"selector {', '.join(usable)} has a usable key"
            if usable
            else "no other selector tried has a usable key"
        )
        yield ctx.finding(
            "dkim.revoked",
            # A retired selector beside a working key is normal practice (RFC 6376 3.6.1).
            severity=Severity.INFO if usable else None,
            subject=_owner(sel, domain),
            evidence=_evidence(sel, domain, text),
            selector=sel.selector,
            domain=domain,
            others=others,
        )

    if published:
        return
    tried = [s.selector for s in ev.selectors]
    if failed:
        yield NotChecked(
            "DKIM keys",
            f"no key under the selectors that answered; {len(failed)} lookups failed "
            f"({', '.join(s.selector for s in failed)}), so a key may exist",
        )
        return
    statuses = Counter(s.txt.status.value for s in ev.selectors)
    summary = (
        f"{next(iter(statuses))} for all {len(tried)} selectors"
        if len(statuses) == 1
        else ", ".join(f"{status} for {n}" for status, n in sorted(statuses.items()))
    )
    yield ctx.finding(
        "dkim.no_key_found",
        subject=domain,
        evidence=f"<selector>._domainkey.{domain} TXT: {summary}",
        domain=domain,
        tried=", ".join(tried),
    )
