"""Blocklist rules: trust a list only after its RFC 5782 5 test points, then read its answers.

A list that refuses the query (Spamhaus 127.255.255.x) is "query refused", never "listed"; a
list that does not list 127.0.0.2 or lists 127.0.0.1 is "unusable" and its answers ignored.
A listing is an A record in 127.0.0.0/8 (RFC 5782 2.1); its value says why, per list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypedDict

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dnsbl import (
    Blocklist,
    DnsblAnswer,
    DnsblEvidence,
    Health,
    ListKind,
    blocklist,
    is_loopback_code,
)
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "dnsbl.ok",
    "dnsbl.listed",
    "dnsbl.domain_listed",
    "dnsbl.query_refused",
    "dnsbl.list_unusable",
)

MAX_REASON = 300  # characters of a list's TXT reason kept (hostile lists send kilobytes)
_URL = re.compile(r"https?://[^\s\"'<>]+")


def _clean(text: str) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def reason_text(ans: DnsblAnswer) -> str:
    reasons = [_clean(r) for r in ans.reasons()[:3] if r.strip()]
    return " | ".join(reasons) if reasons else "none given (no TXT record)"


def delist_text(bl: Blocklist, ans: DnsblAnswer) -> str:
    url = bl.delist_url(ans.item)
    if url:
        return url
    for reason in ans.reasons():
        found = _URL.search(reason)
        if found:
            return _clean(found.group(0))
    return f"the web site of the operator of {bl.zone} (its removal or lookup page)"


class _Common(TypedDict):
    zone: str
    list_name: str
    meaning: str
    reason: str
    delist: str


def _refused_code(bl: Blocklist, answers: tuple[DnsblAnswer, ...]) -> str | None:
    for ans in answers:
        for code in ans.codes:
            if bl.refusal(code) is not None:
                return code
    return None


def _listing(
    ctx: CheckContext, bl: Blocklist, ans: DnsblAnswer, codes: list[str], ev: DnsblEvidence
) -> Finding:
    described = [bl.describe_code(c) for c in codes]
    meaning = "; ".join(f"{c.value} = {c.meaning}" for c in described)
    evidence = f"{ans.name} A {', '.join(ans.codes)}"
    if ans.txt is not None:
        evidence += f"; TXT: {reason_text(ans)}"
    common: _Common = {
        "zone": bl.zone,
        "list_name": bl.name,
        "meaning": meaning,
        "reason": reason_text(ans),
        "delist": delist_text(bl, ans),
    }
    if bl.kind is ListKind.DOMAIN:
        return ctx.finding(
            "dnsbl.domain_listed", subject=ans.item, evidence=evidence, domain=ans.item, **common
        )
    server = next((s for s in ev.servers if s.ip == ans.item), None)
    advice = list(dict.fromkeys(c.advice for c in described if c.advice))
    # a policy list (Spamhaus PBL) says the range should not send directly: a warning; an
    # abuse listing (SBL, XBL, Barracuda, SpamCop, unknown lists) blocks mail: an error
    severity = Severity.WARNING if all(c.policy for c in described) else Severity.ERROR
    return ctx.finding(
        "dnsbl.listed",
        subject=f"{ans.item} on {bl.zone}",
        evidence=evidence,
        severity=severity,
        ip=ans.item,
        roles=", ".join(server.roles) if server else "server",
        advice=" ".join(advice) or "Read the list's reason and follow its removal rules.",
        **common,
    )


def _judge_lists(
    ctx: CheckContext, ev: DnsblEvidence, usable: dict[str, Blocklist]
) -> Iterator[Finding | NotChecked]:
    """RFC 5782 5: report each list that failed its test points; fill `usable` with the rest."""
    unreachable: list[str] = []
    for zone in ev.lists:
        bl = blocklist(zone)
        health = ev.health_of(zone)
        if health is None:
            yield NotChecked(f"dnsbl: {zone}", "the list's test points were not asked")
            continue
        verdict, detail = health.verdict(bl)
        if verdict is Health.USABLE:
            usable[zone] = bl
        elif verdict is Health.REFUSED:
            code = _refused_code(bl, (*health.must_list, health.must_not_list)) or "?"
            yield ctx.finding(
                "dnsbl.query_refused",
                subject=zone,
                evidence=detail,
                zone=zone,
                answer=code,
                meaning=bl.refusal(code) or "query refused",
                domain=ev.domain,
            )
        elif verdict is Health.UNREACHABLE and not ev.resolver_answered:
            unreachable.append(f"{zone}: {detail}")
        else:
            yield ctx.finding(
                "dnsbl.list_unusable",
                subject=zone,
                evidence=detail,
                zone=zone,
                problem=f"{verdict.value}: {detail}",
                test_name=health.must_list[0].name,
            )

    if unreachable:
        # the resolver itself is not answering (reported by the dns checks): no list verdict
        yield NotChecked(
            "dnsbl: blacklists", "the resolver did not answer: " + "; ".join(unreachable)
        )


@check(needs=("dns.dnsbl",), codes=CODES)
def blocklists(ctx: CheckContext, ev: DnsblEvidence) -> Iterator[Finding | NotChecked]:
    usable: dict[str, Blocklist] = {}
    if ev.over_bound:
        yield NotChecked(
            "dnsbl: " + ", ".join(ev.over_bound),
            "more --dnsbl zones than the bound of extra lists per run; not asked",
        )
    yield from _judge_lists(ctx, ev, usable)
    listed_ips: set[str] = set()
    clean: dict[str, list[str]] = {}  # item -> usable lists that answered "not listed"
    unsure: list[DnsblAnswer] = []
    for ans in ev.answers:
        trusted = usable.get(ans.zone)
        if trusted is None:
            continue  # the list failed its health check: already reported
        bl = trusted
        if not ans.answered:
            unsure.append(ans)
            continue
        listing = [c for c in ans.codes if is_loopback_code(c) and bl.refusal(c) is None]
        if listing:
            if bl.kind is ListKind.IP:
                listed_ips.add(ans.item)
            yield _listing(ctx, bl, ans, listing, ev)
        elif ans.codes:
            # refused after passing the test points (rate limit mid-run), or an answer outside
            # 127.0.0.0/8 (a resolver rewriting NXDOMAIN): neither says listed nor clean
            unsure.append(ans)
        else:
            clean.setdefault(ans.item, []).append(ans.zone)
    for ans in unsure:
        yield NotChecked(f"dnsbl: {ans.item} on {ans.zone}", ans.a.describe())

    if ev.skipped:
        yield NotChecked(
            "dnsbl: " + ", ".join(s.ip for s in ev.skipped),
            "; ".join(f"{s.ip}: {s.reason}" for s in ev.skipped),
        )
    if not ev.servers:
        if not ev.skipped:
            yield NotChecked("dnsbl: server addresses", f"{ev.domain} has no server address")
        return
    ip_lists = [z for z, bl in usable.items() if bl.kind is ListKind.IP]
    if not ip_lists:
        yield NotChecked("dnsbl: server addresses", "no IP blacklist passed its health check")
        return
    if listed_ips:
        return
    lines = [f"{item} not listed on {', '.join(zones)}" for item, zones in clean.items()]
    if ev.ipv4_only:
        lines.append(f"IPv6 addresses not asked of IPv4-only lists {', '.join(ev.ipv4_only)}")
    if any(s.ip in clean for s in ev.servers):
        yield ctx.finding(
            "dnsbl.ok", subject=ev.domain, evidence="; ".join(lines), lists=", ".join(ip_lists)
        )
