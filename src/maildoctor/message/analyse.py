"""Bytes of a sample message -> MessageEvidence (without the DKIM verification, which needs
the DNS and is done by probes/message.py). No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from maildoctor.evidence.message import DKIM_MALFORMED, DkimCheck, MessageEvidence
from maildoctor.message.content import analyse as analyse_content
from maildoctor.message.parse import (
    address_domain,
    decode_words,
    parse,
    sending_ip,
    shown,
    spam_verdicts,
    trusted_verdicts,
    unfold,
)
from maildoctor.records.dkim import parse_tag_list
from maildoctor.records.dmarc import valid_hostname

MAX_SIGNATURES = 8  # DKIM-Signature headers verified, from the top


@dataclass(frozen=True)
class Signature:
    """One DKIM-Signature's identity (RFC 6376 3.5), or why it names none."""

    index: int
    domain: str
    selector: str
    algorithm: str
    problem: str  # "" when d= and s= name a key record to fetch

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


def signatures(values: list[str]) -> list[Signature]:
    out: list[Signature] = []
    for index, value in enumerate(values[:MAX_SIGNATURES]):
        tags = parse_tag_list(unfold(value)[:65536])
        domain = (tags.get("d") or "").strip().lower().rstrip(".")
        selector = (tags.get("s") or "").strip().lower()
        algorithm = (tags.get("a") or "").strip().lower()
        problem = ""
        missing = [t for t in ("v", "a", "b", "bh", "d", "h", "s") if tags.get(t) is None]
        if missing:
            # RFC 6376 3.5: v, a, b, bh, d, h and s are REQUIRED
            problem = "missing required tag(s) " + ", ".join(f"{t}=" for t in missing)
        elif not valid_hostname(f"{selector}._domainkey.{domain}"):
            problem = f"d={shown(domain, 60)} s={shown(selector, 60)} do not form a DNS name"
        out.append(
            Signature(index, shown(domain, 120), shown(selector, 60), shown(algorithm, 30), problem)
        )
    return out


def analyse(
    data: bytes, *, path: str, size: int, truncated: bool
) -> tuple[MessageEvidence, list[Signature]]:
    parsed = parse(data)
    if parsed.error and parsed.message is None:
        return empty(path, size, len(data), truncated, parsed.error), []
    receiver, verdicts = trusted_verdicts(parsed)
    ip, ip_source = sending_ip(parsed, verdicts)
    from_address, from_domain = address_domain(parsed.first("From"))
    return_path, rp_domain = address_domain(parsed.first("Return-Path"))
    subject = decode_words(parsed.first("Subject"))
    content = analyse_content(parsed.message, subject)
    sigs = signatures(parsed.values("DKIM-Signature"))
    malformed = tuple(
        DkimCheck(s.index, s.domain, s.selector, s.algorithm, DKIM_MALFORMED, s.problem, None)
        for s in sigs
        if s.problem
    )
    defects = [*parsed.defects, *content.defects]
    evidence = MessageEvidence(
        path=path,
        size=size,
        read_bytes=len(data),
        truncated=truncated,
        error=parsed.error,
        defects=tuple(dict.fromkeys(shown(d, 120) for d in defects))[:20],
        header_count=len(parsed.headers),
        from_address=from_address,
        from_domain=from_domain,
        return_path=return_path,
        return_path_domain=rp_domain,
        subject=shown(subject, 200),
        message_id=shown(re.sub(r"\s+", "", parsed.first("Message-ID")), 200),
        receiver=receiver,
        auth=tuple(verdicts[:200]),
        spam=tuple(spam_verdicts(parsed)),
        dkim_signatures=len(parsed.values("DKIM-Signature")),
        dkim=malformed,
        content=tuple(content.hits),
        sending_ip=ip,
        sending_ip_source=ip_source,
        text_chars=content.text_chars,
        parts=content.parts,
    )
    return evidence, [s for s in sigs if not s.problem]


def empty(path: str, size: int, read: int, truncated: bool, error: str) -> MessageEvidence:
    return MessageEvidence(
        path=path,
        size=size,
        read_bytes=read,
        truncated=truncated,
        error=error,
        defects=(),
        header_count=0,
        from_address="",
        from_domain="",
        return_path="",
        return_path_domain="",
        subject="",
        message_id="",
        receiver="",
        auth=(),
        spam=(),
        dkim_signatures=0,
        dkim=(),
        content=(),
        sending_ip="",
        sending_ip_source="",
    )


def with_dkim(ev: MessageEvidence, checks: tuple[DkimCheck, ...]) -> MessageEvidence:
    merged = tuple(sorted((*ev.dkim, *checks), key=lambda c: c.index))
    return replace(ev, dkim=merged)
