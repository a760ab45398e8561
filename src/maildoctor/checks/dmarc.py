"""DMARC rules: policy discovery, record syntax, policy strength, reports (RFC 7489)."""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dmarc import DmarcEvidence
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.records.dkim import shown
from maildoctor.records.dmarc import (
    DmarcRecord,
    dmarc_records,
    is_dmarc_record,
    looks_like_dmarc,
    parse_record,
)
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "dmarc.ok",
    "dmarc.missing",
    "dmarc.multiple_records",
    "dmarc.syntax_error",
    "dmarc.policy_none",
    "dmarc.pct_partial",
    "dmarc.org_fallback",
    "dmarc.external_destination_unauthorized",
    "dmarc.no_reports",
)
_ANSWERED = (DnsStatus.NOERROR, DnsStatus.NODATA, DnsStatus.NXDOMAIN)
_STRENGTH = {"reject": 2, "quarantine": 1, "none": 0}
MAX_SHOWN_RECORDS = 5  # a hostile RRset may hold hundreds of records


def _evidence(record_domain: str, text: str) -> str:
    return f"_dmarc.{record_domain} TXT: {shown(text)}"


def _consequence(rec: DmarcRecord, domain: str) -> str:
    if not is_dmarc_record(rec.text):
        # RFC 7489 6.6.3 step 2
        return (
            "Receivers skip every record that does not start with v=DMARC1: for them this "
            "record does not exist."
        )
    if not rec.policy_applies:
        # RFC 7489 6.6.3 step 6
        return (
            f"Receivers cannot use the record: they apply no DMARC policy to mail from {domain} "
            "(at best p=none, when rua= holds a valid address)."
        )
    return (
        "Receivers ignore the faulty tags and use their defaults (RFC 7489 6.3); the policy "
        "itself still applies."
    )


def _syntax_error(ctx: CheckContext, rec: DmarcRecord, domain: str, record_domain: str) -> Finding:
    usable = rec.policy_applies
    return ctx.finding(
        "dmarc.syntax_error",
        severity=Severity.WARNING if usable else None,
        subject=f"_dmarc.{record_domain}",
        evidence=_evidence(record_domain, rec.text),
        record_domain=record_domain,
        problems="; ".join(p.message for p in rec.problems[:10]),
        consequence=_consequence(rec, domain),
        corrected=rec.corrected(record_domain),
    )


def _authorizations(
    ctx: CheckContext, ev: DmarcEvidence, rec: DmarcRecord, record_domain: str
) -> Iterator[Finding | NotChecked]:
    """RFC 7489 7.1: reports to another organizational domain need its consent."""
    for auth in ev.authorizations:
        if auth.txt.status not in _ANSWERED:
            yield NotChecked(
                f"DMARC report authorisation of {auth.destination}", auth.txt.describe()
            )
            continue
        records = auth.txt.records if auth.txt.status is DnsStatus.NOERROR else ()
        if any(is_dmarc_record(r) for r in records):
            continue
        kinds = [
            name
            for name, uris in (("aggregate (rua)", rec.rua), ("failure (ruf)", rec.ruf))
            if any(u.domain == auth.destination for u in uris)
        ]
        yield ctx.finding(
            "dmarc.external_destination_unauthorized",
            subject=f"_dmarc.{record_domain}",
            evidence=f"{auth.txt.describe()[:300]}; {_evidence(record_domain, rec.text)}",
            destination=auth.destination,
            record_domain=record_domain,
            kind=" and ".join(kinds) or "DMARC",
            auth_name=auth.txt.name,
            status=auth.txt.status.value
            if auth.txt.status is not DnsStatus.NOERROR
            else "records there, none starting with v=DMARC1",
        )
    for dest in ev.unchecked_destinations:
        yield NotChecked(
            f"DMARC report authorisation of {dest}", "more external destinations than asked"
        )


def _evaluate(
    ctx: CheckContext, ev: DmarcEvidence, result: DnsResult, record_domain: str, fallback: bool
) -> Iterator[Finding | NotChecked]:
    domain = ev.domain
    subject = f"_dmarc.{record_domain}"
    records = dmarc_records(result)
    if len(records) > 1:
        # RFC 7489 6.6.3 step 5: several records, no DMARC at all
        parsed = [parse_record(r) for r in records[:MAX_SHOWN_RECORDS]]
        best = max(parsed, key=lambda r: (r.policy_applies, _STRENGTH.get(r.policy or "", -1)))
        yield ctx.finding(
            "dmarc.multiple_records",
            subject=subject,
            evidence=" | ".join(_evidence(record_domain, r) for r in records[:MAX_SHOWN_RECORDS]),
            record_domain=record_domain,
            count=len(records),
            corrected=best.corrected(record_domain),
        )
        return
    text = records[0]
    rec = parse_record(text)
    evidence = _evidence(record_domain, text)
    problems = 0
    if rec.problems:
        finding = _syntax_error(ctx, rec, domain, record_domain)
        problems += 1
        yield finding
        if not rec.policy_applies:
            return
    policy = rec.effective_policy(subdomain=fallback)
    if fallback:
        which = (
            "from its sp= tag"
            if rec.subdomain_policy
            else "from its p= tag: it has no sp= tag for subdomains"
        )
        yield ctx.finding(
            "dmarc.org_fallback",
            subject=ev.domain,
            evidence=f"_dmarc.{domain} TXT: {ev.own.status.value}; {evidence}",
            domain=domain,
            record_domain=record_domain,
            policy=policy,
            which=which,
        )
    source = f"_dmarc.{record_domain}" + (
        ", its sp= tag for subdomains" if fallback and rec.subdomain_policy else ""
    )
    if policy == "none":
        problems += 1
        fix = (
            rec.corrected(record_domain, subdomain_policy="quarantine", pct=False)
            if fallback and rec.subdomain_policy
            else rec.corrected(record_domain, policy="quarantine", pct=False)
        )
        yield ctx.finding(
            "dmarc.policy_none",
            subject=subject,
            evidence=evidence,
            domain=domain,
            record_domain=record_domain,
            source=source,
            corrected=fix,
        )
    elif rec.pct < 100:
        problems += 1
        yield ctx.finding(
            "dmarc.pct_partial",
            subject=subject,
            evidence=evidence,
            record_domain=record_domain,
            policy=policy,
            pct=rec.pct,
            corrected=rec.corrected(record_domain, pct=False),
        )
    if not rec.rua:
        yield ctx.finding(
            "dmarc.no_reports",
            subject=subject,
            evidence=evidence,
            record_domain=record_domain,
            corrected=rec.corrected(record_domain),
        )
    for item in _authorizations(ctx, ev, rec, record_domain):
        if isinstance(item, Finding):
            problems += 1
        yield item
    if not problems:
        yield ctx.finding(
            "dmarc.ok",
            subject=domain,
            evidence=evidence,
            domain=domain,
            policy=policy,
            source=source,
        )


@check(needs=("dns.dmarc",), codes=CODES)
def dmarc_policy(ctx: CheckContext, ev: DmarcEvidence) -> Iterator[Finding | NotChecked]:
    domain, own = ev.domain, ev.own
    if ev.apex.status is DnsStatus.NXDOMAIN:
        yield NotChecked("DMARC policy", f"{domain} does not exist (NXDOMAIN)")
        return
    if own.status not in _ANSWERED:
        # A timeout or SERVFAIL is never "missing", and no reason to fall back (RFC 7489 6.6.3).
        yield NotChecked("DMARC policy", own.describe())
        return
    own_txt = own.records if own.status is DnsStatus.NOERROR else ()
    attempts = [r for r in own_txt if not is_dmarc_record(r) and looks_like_dmarc(r)]
    for text in attempts[:MAX_SHOWN_RECORDS]:
        yield _syntax_error(ctx, parse_record(text), domain, domain)
    if dmarc_records(own):
        yield from _evaluate(ctx, ev, own, domain, fallback=False)
        return
    org_domain = ev.organizational_domain
    if org_domain != domain and ev.org is not None:
        if ev.org.status not in _ANSWERED:
            yield NotChecked(f"DMARC policy of {org_domain}", ev.org.describe())
            return
        if dmarc_records(ev.org):
            yield from _evaluate(ctx, ev, ev.org, org_domain, fallback=True)
            return
    if attempts:
        return  # the malformed record is the finding; "missing" would hide the real fault
    yield ctx.finding(
        "dmarc.missing",
        subject=domain,
        evidence="; ".join(r.describe()[:300] for r in (own, ev.org) if r is not None),
        domain=domain,
        record_domain=org_domain,
    )
