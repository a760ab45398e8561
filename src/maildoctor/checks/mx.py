"""MX rules: the records that route incoming mail (RFC 5321 5.1, RFC 7505, RFC 2181 10.3)."""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.addresses import parse_ip, unreachable_kind
from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dns import DnsStatus, MxEvidence, MxHost
from maildoctor.report import Finding

CODES = (
    "mx.ok",
    "mx.missing",
    "mx.null",
    "mx.target_unresolvable",
    "mx.target_is_ip",
    "mx.target_is_cname",
    "mx.private_address",
)


def _lookup_status(host: MxHost) -> str:
    statuses = {r.status.value for r in (host.a, host.aaaa) if r is not None}
    return "/".join(sorted(statuses)) or "not looked up"


def _describe(host: MxHost) -> str:
    addresses = ", ".join(host.addresses) or _lookup_status(host)
    return f"MX {host.preference} {host.target or '.'} -> {addresses}"


@check(needs=("dns.mx",), codes=CODES)
def mx_records(ctx: CheckContext, ev: MxEvidence) -> Iterator[Finding]:
    domain = ev.domain
    if ev.mx.status is DnsStatus.NODATA:
        fallback = [
            rec
            for res in (ev.fallback_a, ev.fallback_aaaa)
            if res is not None and res.status is DnsStatus.NOERROR
            for rec in res.records
        ]
        yield ctx.finding(
            "mx.missing",
            subject=domain,
            evidence=f"{domain} MX: NODATA; {domain} A/AAAA: {', '.join(fallback) or 'none'}",
            domain=domain,
            fallback=", ".join(fallback) or "none: the domain has no A/AAAA either",
        )
        return
    if ev.mx.status is not DnsStatus.NOERROR:
        return  # reported by the dns checks
    # RFC 7505 3: a null MX is a single record with an empty target.
    if any(h.target == "" for h in ev.hosts):
        yield ctx.finding("mx.null", subject=domain, evidence=ev.mx.describe(), domain=domain)
        return
    problems = 0
    for host in ev.hosts:
        subject = f"MX {host.target}"
        if parse_ip(host.target) is not None:
            problems += 1
            yield ctx.finding(
                "mx.target_is_ip",
                subject=subject,
                evidence=_describe(host),
                target=host.target,
                domain=domain,
            )
            continue
        canonical = host.canonical_name
        if canonical:
            problems += 1
            yield ctx.finding(
                "mx.target_is_cname",
                subject=subject,
                evidence=f"{host.target} is an alias for {canonical}",
                target=host.target,
                canonical=canonical + ".",
                preference=host.preference,
                domain=domain,
            )
        if not host.addresses:
            problems += 1
            yield ctx.finding(
                "mx.target_unresolvable",
                subject=subject,
                evidence=_describe(host),
                target=host.target,
                status=_lookup_status(host),
            )
            continue
        if ctx.settings.allow_private:
            continue
        for address in host.addresses:
            kind = unreachable_kind(address)
            if kind:
                problems += 1
                yield ctx.finding(
                    "mx.private_address",
                    subject=subject,
                    evidence=_describe(host),
                    target=host.target,
                    address=address,
                    kind=kind,
                )
    if not problems:
        yield ctx.finding(
            "mx.ok", subject=domain, evidence="; ".join(_describe(h) for h in ev.hosts)
        )
