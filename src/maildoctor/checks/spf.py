"""SPF rules (RFC 7208): the record's presence, syntax, lookup limits, 'all' and coverage.

Everything is read from the probe's evidence: the TXT answer, the worst-case walk of the
lookup tree and check_host() for each server. A DNS failure is "not checked", never missing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.spf import (
    SpfEvaluation,
    SpfEvidence,
    SpfResult,
    SpfServerCheck,
    TermTrace,
)
from maildoctor.records.spf import Mechanism, SpfRecord, parse_record
from maildoctor.records.spf_eval import MAX_DNS_TERMS, MAX_VOID_LOOKUPS, WALK_TERM_CAP, flattened
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "spf.ok",
    "spf.missing",
    "spf.multiple_records",
    "spf.syntax_error",
    "spf.ignored_term",
    "spf.too_many_lookups",
    "spf.void_lookups",
    "spf.permerror",
    "spf.permissive_all",
    "spf.softfail_all",
    "spf.ptr_mechanism",
    "spf.record_too_long",
    "spf.server_not_authorized",
)
LONG_RECORD = 450  # RFC 7208 3.4: keep the whole answer under 512 bytes
MAX_TABLE_ROWS = 60
_DNS_FAILED = (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR)


def zone_txt(domain: str, record: str, indent: str = "") -> str:
    """The record as a zone-file line, split in strings of 255 (RFC 7208 3.3)."""
    parts = [record[i : i + 255] for i in range(0, len(record), 255)] or [""]
    quoted = " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)
    return f"{indent}{domain}.  3600  IN  TXT  {quoted}"


def _words(record: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in re.finditer(r"[^ ]+", record)]


def with_terms(record: SpfRecord, new: list[str]) -> str:
    """The record with `new` terms placed before its 'all' (or redirect=), else at the end."""
    anchor = next(
        (t.position for t in record.terms if isinstance(t, Mechanism) and t.name == "all"), None
    )
    if anchor is None and record.redirect is not None:
        anchor = record.redirect.position
    words = [w for _, w in _words(record.text)]
    if anchor is None:
        return " ".join([*words, *new])
    out: list[str] = []
    for pos, word in _words(record.text):
        if pos == anchor:
            out.extend(new)
        out.append(word)
    return " ".join(out)


def replacing(record: str, position: int, new: str | None) -> str:
    """The record with the word at `position` replaced (None: removed)."""
    out = [new if pos == position else w for pos, w in _words(record)]
    return " ".join(w for w in out if w)


def _target_of(t: TermTrace) -> str:
    """The queried name when the term does not show it as written (a, mx, macros)."""
    if not t.target or t.term.lower().endswith(t.target.lower()):
        return ""
    return f" -> {t.target}"


def chain_table(walk: SpfEvaluation, mark_over: int = MAX_DNS_TERMS) -> str:
    """The lookup chain: running total, lookups spent, term (indented by depth) -> target."""
    lines = ["total  cost  term (indented: inside the include/redirect above) -> queried name"]
    running = 0
    chain = walk.chain()
    for depth, _domain, t in chain[:MAX_TABLE_ROWS]:
        running += t.lookups
        note = ""
        if t.lookups and running == mark_over + 1:
            note = f"   <- number {mark_over + 1}: receivers stop here (RFC 7208 4.6.4)"
        elif t.void:
            note = "   (void: no such record)"
        elif t.outcome.startswith(("permerror", "temperror")):
            note = f"   ({t.outcome[:80]})"
        cost = f"+{t.lookups}" if t.lookups else ""
        term = "  " * depth + t.term[:80] + _target_of(t)[:60]
        lines.append(f"{running:>5}  {cost:>4}  {term}{note}")
    if len(chain) > MAX_TABLE_ROWS:
        lines.append(f"... {len(chain) - MAX_TABLE_ROWS} more terms")
    return "\n".join(lines)


def _authorises(walk: SpfEvaluation) -> str:
    items: list[str] = []
    for depth, _domain, t in walk.chain():
        if t.mechanism in ("ip4", "ip6", "a", "mx") and t.qualifier == "+" and depth == 0:
            label = (
                t.term
                if t.mechanism in ("ip4", "ip6")
                else f"{t.term} ({', '.join(t.networks) or 'no address'})"
            )
            items.append(label)
        elif t.mechanism in ("include", "redirect", "exists", "ptr") and depth == 0:
            items.append(t.term)
    return "; ".join(items) or "no server"


def _eleventh(walk: SpfEvaluation) -> str:
    running = 0
    for _depth, domain, t in walk.chain():
        running += t.lookups
        if t.lookups and running == MAX_DNS_TERMS + 1:
            return f'"{t.term}" in the record of {domain}'
    return "the 11th term"


def _server_line(s: SpfServerCheck) -> str:
    ev = s.evaluation
    return f"{s.ip} ({s.source}): {ev.result.value}, {ev.reason}"


def _record_findings(
    ctx: CheckContext, ev: SpfEvidence, record: SpfRecord, walk: SpfEvaluation
) -> Iterator[Finding]:
    domain, text = ev.domain, record.text
    evidence = f"{domain} TXT: {text}"
    if len(text) > LONG_RECORD:
        yield ctx.finding(
            "spf.record_too_long",
            subject=domain,
            evidence=evidence,
            domain=domain,
            length=len(text),
        )
    for item in record.ignored:
        fixed = record.corrected()
        yield ctx.finding(
            "spf.ignored_term",
            subject=domain,
            evidence=evidence,
            domain=domain,
            term=item.term,
            position=item.position + 1,
            message=item.message,
            correction="Write it as meant:\n" + zone_txt(domain, fixed or text, "  "),
        )
    if walk.lookups > MAX_DNS_TERMS:
        flat = flattened(walk)
        servers = [s.ip for s in ev.servers if s.evaluation.result is SpfResult.PERMERROR]
        affected = "including " + ", ".join(servers) if servers else "possibly including yours"
        extra = ""
        if flat is not None:
            extra = (
                f"\nA record with the same effect today, costing {flat[1]} lookups (re-check "
                "it when a provider changes its addresses):\n" + zone_txt(domain, flat[0], "  ")
            )
        count = f"at least {walk.lookups}" if walk.lookups > WALK_TERM_CAP else str(walk.lookups)
        yield ctx.finding(
            "spf.too_many_lookups",
            subject=domain,
            evidence=f"{evidence}\n{chain_table(walk)}",
            domain=domain,
            count=count,
            eleventh=_eleventh(walk),
            affected=affected,
            flattened=extra,
        )
    if walk.void_lookups > MAX_VOID_LOOKUPS:
        voids = [(d, dom, t) for d, dom, t in walk.chain() if t.void]
        top_voids = {t.term for d, _dom, t in voids if d == 0}
        corrected = " ".join(w for _, w in _words(text) if w not in top_voids)
        yield ctx.finding(
            "spf.void_lookups",
            subject=domain,
            evidence=f"{evidence}\n{chain_table(walk)}",
            domain=domain,
            count=len(voids),
            terms=", ".join(f'"{t.term}" ({t.target})' for _d, _dom, t in voids),
            corrected=zone_txt(domain, corrected),
        )
    if walk.result is SpfResult.PERMERROR and walk.lookups <= WALK_TERM_CAP:
        yield ctx.finding(
            "spf.permerror",
            subject=domain,
            evidence=f"{evidence}\n{chain_table(walk)}",
            domain=domain,
            reason=walk.reason,
            remedy=_permerror_remedy(walk),
        )
    yield from _all_findings(ctx, domain, record, walk, evidence)
    ptrs = [(d, dom, t) for d, dom, t in walk.chain() if t.mechanism == "ptr"]
    if ptrs:
        where = "; ".join(
            f"the record of {dom}" + (" (reached through an include)" if d else "")
            for d, dom, _ in ptrs
        )
        top = [t for t in record.terms if isinstance(t, Mechanism) and t.name == "ptr"]
        corrected = text
        for term in reversed(top):
            corrected = replacing(corrected, term.position, None)
        # The servers that pass only through ptr get listed by address instead.
        by_ptr = [
            f"ip{ipaddress.ip_address(s.ip).version}:{s.ip}"
            for s in ev.servers
            if s.evaluation.result is SpfResult.PASS
            and s.evaluation.mechanism.lstrip("+").startswith("ptr")
        ]
        if by_ptr:
            corrected = with_terms(parse_record(corrected), by_ptr)
        yield ctx.finding(
            "spf.ptr_mechanism",
            subject=domain,
            evidence=evidence,
            where=where[:1].upper() + where[1:],
            corrected=zone_txt(domain, corrected),
        )


def _permerror_remedy(ev: SpfEvaluation) -> str:
    """The concrete step for a permerror, naming the term and the record that hold it."""
    reason = ev.reason
    culprit = next(
        ((dom, t) for _d, dom, t in reversed(ev.chain()) if t.outcome.startswith("permerror")),
        None,
    )
    where = f'"{culprit[1].term}" in the record of {culprit[0]}' if culprit else "the term"
    if "loop" in reason:
        return (
            f"Remove {where}: a record must not include or redirect to itself, directly or "
            "through other records."
        )
    if "no SPF record there" in reason:
        return (
            f"Remove {where}, or point it at the name the provider documents for SPF (a "
            "domain that publishes a v=spf1 record)."
        )
    if "MX records" in reason:
        return f"Replace {where} by the ip4:/ip6: addresses of the servers that send."
    if "syntax error" in reason:
        return (
            f"Correct the record that {where} reaches (if it is a provider's, ask them, or "
            "drop the include)."
        )
    return f"Correct {where} so that the record evaluates without error."


def _all_findings(
    ctx: CheckContext, domain: str, record: SpfRecord, walk: SpfEvaluation, evidence: str
) -> Iterator[Finding]:
    top_all = next((t for t in record.terms if isinstance(t, Mechanism) and t.name == "all"), None)
    result = walk.result
    if result is SpfResult.PASS:
        if top_all is not None and walk.mechanism == top_all.text:
            explanation = f'The SPF record of {domain} ends in "{top_all.text}".'
            corrected = replacing(record.text, top_all.position, "-all")
        else:
            explanation = (
                f"Evaluating the SPF record of {domain} reaches {walk.reason}, which passes "
                "every address."
            )
            corrected = record.text
        yield ctx.finding(
            "spf.permissive_all",
            subject=domain,
            evidence=evidence,
            explanation=explanation,
            result="pass",
            corrected=zone_txt(domain, corrected),
        )
    elif result is SpfResult.NEUTRAL:
        if top_all is not None:
            explanation = f'The SPF record of {domain} ends in "{top_all.text}" (neutral).'
            corrected = replacing(record.text, top_all.position, "-all")
        else:
            explanation = (
                f"The SPF record of {domain} has no 'all' term, so an unlisted server gets the "
                "default result neutral (RFC 7208 4.7)."
            )
            corrected = with_terms(record, []) + " -all" if record.redirect is None else record.text
        yield ctx.finding(
            "spf.permissive_all",
            subject=domain,
            evidence=evidence,
            severity=Severity.WARNING,
            explanation=explanation,
            result="neutral",
            corrected=zone_txt(domain, corrected),
        )
    elif result is SpfResult.SOFTFAIL and top_all is not None:
        yield ctx.finding(
            "spf.softfail_all",
            subject=domain,
            evidence=evidence,
            domain=domain,
            corrected=zone_txt(domain, replacing(record.text, top_all.position, "-all")),
        )


def _server_findings(
    ctx: CheckContext, ev: SpfEvidence, record: SpfRecord, problems: int
) -> Iterator[Finding | NotChecked]:
    bad: list[SpfServerCheck] = []
    for s in ev.servers:
        result = s.evaluation.result
        if result is SpfResult.TEMPERROR:
            yield NotChecked(
                f"spf.server_authorization {s.ip}",
                f"check_host() gave temperror: {s.evaluation.reason}",
            )
        elif result in (SpfResult.FAIL, SpfResult.SOFTFAIL, SpfResult.NEUTRAL, SpfResult.NONE):
            bad.append(s)
        elif result is SpfResult.PERMERROR and not problems:
            yield ctx.finding(
                "spf.permerror",
                subject=ev.domain,
                evidence=_server_line(s),
                domain=ev.domain,
                reason=s.evaluation.reason,
                remedy=_permerror_remedy(s.evaluation),
            )
    if not bad:
        return
    new = []
    for s in bad:
        ip = ipaddress.ip_address(s.ip)
        new.append(f"ip{ip.version}:{ip}")
    worst = Severity.WARNING
    if any(s.source == "--sending-ip" and s.evaluation.result is SpfResult.FAIL for s in bad):
        worst = Severity.ERROR
    if any(s.source != "--sending-ip" and s.evaluation.result is SpfResult.FAIL for s in bad):
        worst = Severity.ERROR
    yield ctx.finding(
        "spf.server_not_authorized",
        subject=ev.domain,
        severity=worst,
        evidence="\n".join([f"{ev.domain} TXT: {record.text}", *map(_server_line, bad)]),
        servers=", ".join(f"{s.ip} ({s.source})" for s in bad),
        domain=ev.domain,
        results=", ".join(sorted({s.evaluation.result.value for s in bad})),
        corrected=zone_txt(ev.domain, with_terms(record, new)),
    )


def _merged(records: tuple[str, ...]) -> str:
    terms: list[str] = []
    final = ""
    for text in records:
        rec = parse_record(text)
        for t in rec.terms:
            if isinstance(t, Mechanism) and t.name == "all":
                final = final or t.text
            elif t.text not in terms:
                terms.append(t.text)
    return " ".join(["v=spf1", *terms, final or "~all"])


@check(needs=("dns.spf",), codes=CODES)
def spf_record(ctx: CheckContext, ev: SpfEvidence) -> Iterator[Finding | NotChecked]:
    domain, txt = ev.domain, ev.txt
    if txt.status in _DNS_FAILED:
        yield NotChecked("spf.spf_record", f"the TXT lookup failed: {txt.describe()}")
        return
    if txt.status is DnsStatus.NXDOMAIN:
        yield NotChecked("spf.spf_record", f"{domain} does not exist (NXDOMAIN)")
        return
    if not ev.records:
        others = f"{len(txt.records)} other TXT records" if txt.records else "no TXT record"
        yield ctx.finding(
            "spf.missing",
            subject=domain,
            evidence=f"{domain} TXT: {others}, none starting with v=spf1",
            domain=domain,
            suggested=zone_txt(domain, "v=spf1 mx -all"),
        )
        return
    if len(ev.records) > 1:
        yield ctx.finding(
            "spf.multiple_records",
            subject=domain,
            evidence="\n".join(f"{domain} TXT: {r}" for r in ev.records),
            domain=domain,
            count=len(ev.records),
            merged=zone_txt(domain, _merged(ev.records)),
        )
        return
    record = parse_record(ev.records[0])
    if record.errors:
        first = record.errors[0]
        fixed = record.corrected()
        if fixed is not None:
            correction = "Publish the corrected record:\n" + zone_txt(domain, fixed, "  ")
        else:
            correction = (
                "Correct or remove the term (RFC 7208 5 gives each mechanism's syntax); "
                "every error found:\n" + "\n".join(f"  {e.describe()}" for e in record.errors)
            )
        yield ctx.finding(
            "spf.syntax_error",
            subject=domain,
            evidence=f"{domain} TXT: {record.text}\n"
            + "\n".join(f"  {e.describe()}" for e in record.errors),
            domain=domain,
            position=first.position + 1,
            term=first.term,
            message=first.message,
            correction=correction,
        )
        return
    walk = ev.walk
    if walk is None:
        return
    if walk.result is SpfResult.TEMPERROR:
        yield NotChecked("spf.spf_record", f"a DNS lookup of the SPF tree failed: {walk.reason}")
        return
    found = list(_record_findings(ctx, ev, record, walk))
    yield from found
    problems = sum(f.severity.is_problem for f in found)
    server_items = list(_server_findings(ctx, ev, record, problems))
    yield from server_items
    problems += sum(isinstance(f, Finding) and f.severity.is_problem for f in server_items)
    if not problems:
        top_all = next(
            (t.text for t in record.terms if isinstance(t, Mechanism) and t.name == "all"),
            "no all",
        )
        lines = [
            f"{domain} TXT: {record.text}",
            f"lookups {walk.lookups}/10, void {walk.void_lookups}/2",
        ]
        lines += [_server_line(s) for s in ev.servers]
        yield ctx.finding(
            "spf.ok",
            subject=domain,
            evidence="\n".join(lines),
            domain=domain,
            all=top_all,
            authorises=_authorises(walk),
        )
