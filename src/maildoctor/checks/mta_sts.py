"""MTA-STS rules (RFC 8461): the TXT record, the HTTPS policy, and the MX hosts it must match."""

from __future__ import annotations

import zlib
from collections.abc import Generator, Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.evidence.mta_sts import MtaStsEvidence
from maildoctor.records.mta_sts import (
    StsPolicy,
    discover,
    parse_policy,
    suggested_policy,
    unmatched_mx,
)
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "mta_sts.ok",
    "mta_sts.missing",
    "mta_sts.txt_missing",
    "mta_sts.record_invalid",
    "mta_sts.policy_unreachable",
    "mta_sts.policy_invalid",
    "mta_sts.mx_mismatch",
    "mta_sts.mode_testing",
    "mta_sts.mode_none",
    "mta_sts.max_age_short",
)
_UNDECIDED = (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR)
DAY = 86_400
WEEK = 7 * DAY


def indent(text: str) -> str:
    """Multi-line text for a catalogue placeholder written as "  {name}": every line indented."""
    return "\n  ".join(text.rstrip("\r\n").replace("\r\n", "\n").split("\n"))


def new_id(policy_text: str) -> str:
    """An id that changes when the policy does (RFC 8461 3.1: 1 to 32 letters and digits)."""
    return f"{zlib.crc32(policy_text.encode()):08x}"


def _human(seconds: int) -> str:
    for unit, size in (("day", DAY), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds / size
            return f"{n:.3g} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def _fetch_problem(ev: MtaStsEvidence) -> str | None:
    """Why the policy could not be read, in words; None when an HTTP 200 arrived."""
    fetch = ev.policy
    if fetch is None:
        statuses = "/".join(
            sorted({r.status.value for r in (ev.policy_a, ev.policy_aaaa) if r is not None})
        )
        return f"{ev.policy_host} has no address ({statuses or 'not looked up'})"
    if fetch.error is not FetchError.NONE:
        if fetch.error is FetchError.CERT:
            return f"the certificate of {ev.policy_host} does not verify: {fetch.detail}"
        return f"{fetch.error.value}: {fetch.detail}"
    status = fetch.status or 0
    if 300 <= status < 400:
        # RFC 8461 3.3: HTTP 3xx redirects MUST NOT be followed
        return f"HTTP {status} redirect to {fetch.location or '?'}, which senders do not follow"
    if status != 200:
        return f"HTTP {status} {fetch.reason}".rstrip()
    return None


def _policy_of(fetch: HttpFetch) -> StsPolicy:
    policy = parse_policy(fetch.body, truncated=fetch.truncated)
    ctype = fetch.content_type
    if ctype and ctype != "text/plain":
        # RFC 8461 3.3: senders SHOULD check the media type is text/plain
        problems = (*policy.problems, f"served as Content-Type {ctype}, not text/plain")
        return StsPolicy(
            policy.version,
            policy.mode,
            policy.max_age,
            policy.mx,
            policy.extensions,
            problems,
            policy.notes,
        )
    return policy


def _policy_findings(
    ctx: CheckContext,
    ev: MtaStsEvidence,
    policy: StsPolicy,
    mx_hosts: tuple[str, ...],
    good_text: str,
    fresh_id: str,
) -> Generator[Finding | NotChecked, None, int]:
    """Findings about a valid policy (mode, MX match, max_age); returns how many problems."""
    domain, host = ev.domain, ev.policy_host
    assert ev.policy is not None
    served = ev.policy.body[:2000].strip()
    problems = 0
    if policy.mode == "none":
        problems += 1
        yield ctx.finding(
            "mta_sts.mode_none",
            subject=f"https://{host}/.well-known/mta-sts.txt",
            evidence=served,
            domain=domain,
            policy=indent(good_text),
            id=fresh_id,
        )
    elif ev.mx_status in _UNDECIDED:
        yield NotChecked("mta_sts mx match", f"{domain} MX: {ev.mx_status.value}")
        problems += 1  # undecided: never "ok"
    elif mx_hosts:
        missing = unmatched_mx(policy.mx, mx_hosts)
        if missing:
            problems += 1
            yield ctx.finding(
                "mta_sts.mx_mismatch",
                subject=f"https://{host}/.well-known/mta-sts.txt",
                evidence=f"policy: {served.strip()}\nMX: {', '.join(mx_hosts)}",
                severity=Severity.ERROR if policy.mode == "enforce" else Severity.WARNING,
                domain=domain,
                mode=policy.mode,
                patterns=", ".join(policy.mx),
                unmatched=", ".join(missing),
                policy=indent(good_text),
                id=fresh_id,
            )
    if policy.mode == "testing":
        problems += 1
        yield ctx.finding(
            "mta_sts.mode_testing",
            subject=f"https://{host}/.well-known/mta-sts.txt",
            evidence=served,
            domain=domain,
            id=fresh_id,
        )
    if policy.max_age is not None and policy.max_age < WEEK and policy.mode != "none":
        problems += 1
        yield ctx.finding(
            "mta_sts.max_age_short",
            subject=f"https://{host}/.well-known/mta-sts.txt",
            evidence=f"max_age: {policy.max_age}",
            severity=Severity.WARNING if policy.max_age < DAY else Severity.INFO,
            max_age=policy.max_age,
            human=_human(policy.max_age),
            domain=domain,
            id=fresh_id,
        )
    return problems


@check(needs=("dns.mta_sts",), codes=CODES)
def mta_sts(ctx: CheckContext, ev: MtaStsEvidence) -> Iterator[Finding | NotChecked]:
    domain, host = ev.domain, ev.policy_host
    if ev.mx_status is DnsStatus.NXDOMAIN:
        yield NotChecked("mta_sts", f"{domain} does not exist (NXDOMAIN)")
        return
    if ev.txt.status in _UNDECIDED:
        yield NotChecked("mta_sts", f"_mta-sts.{domain} TXT: {ev.txt.describe()}")
        return
    disc = discover(ev.txt.records if ev.txt.status is DnsStatus.NOERROR else ())
    mx_hosts = ev.mx_hosts if ev.mx_status is DnsStatus.NOERROR else ()
    fetch_problem = _fetch_problem(ev)
    policy = _policy_of(ev.policy) if ev.policy is not None and fetch_problem is None else None
    # the policy to publish: the served one corrected for the real MX hosts, or a fresh one
    patterns = policy.mx if policy is not None else ()
    wanted = (*patterns, *unmatched_mx(patterns, mx_hosts))
    mode = policy.mode if policy is not None and policy.mode in ("enforce", "testing") else None
    good_text = suggested_policy(wanted or mx_hosts or (f"mail.{domain}",), mode or "enforce")
    if policy is not None and policy.max_age is not None and policy.max_age >= WEEK:
        good_text = good_text.replace("max_age: 604800", f"max_age: {policy.max_age}")
    fresh_id = new_id(good_text)

    if not disc.records and policy is None and not mx_hosts:
        # RFC 8461 applies to MX hosts: a domain without MX (or with a null MX) has none
        yield NotChecked("mta_sts", f"{domain} has no MX host (MX: {ev.mx_status.value})")
        return
    if not disc.records:
        status = ev.txt.status.value
        if policy is not None and policy.valid:
            yield ctx.finding(
                "mta_sts.txt_missing",
                subject=f"_mta-sts.{domain}",
                evidence=f"{ev.txt.describe()}; {ev.policy.describe() if ev.policy else ''}",
                domain=domain,
                host=host,
                status=status,
                id=fresh_id,
            )
        else:
            first = suggested_policy(mx_hosts or (f"mail.{domain}",), "testing")
            yield ctx.finding(
                "mta_sts.missing",
                subject=domain,
                evidence=ev.txt.describe(),
                domain=domain,
                host=host,
                status=status,
                policy=indent(first),
                id=new_id(first),
            )
        return

    record = disc.record
    record_problems = list(disc.problems) + (list(record.problems) if record else [])
    if record_problems:
        yield ctx.finding(
            "mta_sts.record_invalid",
            subject=f"_mta-sts.{domain}",
            evidence="; ".join(f'"{r}"' for r in disc.records)[:1000],
            domain=domain,
            problems="; ".join(record_problems),
            id=record.id if record is not None and record.id else fresh_id,
        )

    if fetch_problem is not None:
        lookups = [r for r in (ev.policy_a, ev.policy_aaaa) if r is not None]
        if ev.policy is None and any(r.status in _UNDECIDED for r in lookups):
            why = "; ".join(r.describe() for r in lookups)
            yield NotChecked("mta_sts policy", f"{host}: {why}")
            return
        yield ctx.finding(
            "mta_sts.policy_unreachable",
            subject=f"https://{host}/.well-known/mta-sts.txt",
            evidence=ev.policy.describe() if ev.policy is not None else fetch_problem,
            domain=domain,
            host=host,
            reason=fetch_problem,
        )
        return
    assert ev.policy is not None and policy is not None
    served = ev.policy.body[:2000].strip()
    if not policy.valid:
        yield ctx.finding(
            "mta_sts.policy_invalid",
            subject=f"https://{host}/.well-known/mta-sts.txt",
            evidence=f"{ev.policy.describe()}:\n{served}",
            problems="; ".join(policy.problems),
            policy=indent(good_text),
        )
        return

    problems = yield from _policy_findings(ctx, ev, policy, mx_hosts, good_text, fresh_id)
    if not problems and not record_problems and policy.mode == "enforce":
        yield ctx.finding(
            "mta_sts.ok",
            subject=domain,
            evidence=f'"{disc.records[0]}"; mx: {", ".join(policy.mx)}; MX: '
            f"{', '.join(mx_hosts) or ev.mx_status.value}; max_age {policy.max_age}",
        )
