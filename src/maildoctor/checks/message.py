"""Rules on a sample message that landed in spam (evidence "message.sample", gathered only by
`diagnose --symptom spam-folder --eml FILE`): the receiver's own verdicts, our DKIM
verification, SPF / DKIM alignment with From, spam-filter verdicts, content, the sending IP.
"""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.message import (
    DKIM_BAD_SIGNATURE,
    DKIM_BODY_MODIFIED,
    DKIM_KEY_INVALID,
    DKIM_KEY_MISSING,
    DKIM_KEY_REVOKED,
    DKIM_MALFORMED,
    DKIM_PASS,
    DKIM_UNVERIFIED,
    AuthVerdict,
    DkimCheck,
    MessageEvidence,
    SpamVerdict,
)
from maildoctor.records.dmarc import organizational_domain
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "message.spf_failed",
    "message.dkim_failed",
    "message.dmarc_failed",
    "message.spam_verdict",
    "message.dkim_unsigned",
    "message.dkim_body_modified",
    "message.dkim_bad_signature",
    "message.dkim_key_missing",
    "message.dkim_key_revoked",
    "message.dkim_key_invalid",
    "message.dkim_malformed",
    "message.dkim_not_aligned",
    "message.spf_not_aligned",
    "message.spam_content",
    "message.sent_from",
    "message.ok",
)
# RFC 8601 2.7.1-2.7.2: the results that are not a pass (neutral says nothing either way).
FAILED = frozenset({"fail", "softfail", "none", "temperror", "permerror"})
_DKIM_CODES = {
    DKIM_BODY_MODIFIED: "message.dkim_body_modified",
    DKIM_BAD_SIGNATURE: "message.dkim_bad_signature",
    DKIM_KEY_MISSING: "message.dkim_key_missing",
    DKIM_KEY_REVOKED: "message.dkim_key_revoked",
    DKIM_KEY_INVALID: "message.dkim_key_invalid",
    DKIM_MALFORMED: "message.dkim_malformed",
}
# Where to look for the common spam-filter rules (matched on the rule name, first hit wins).
RULE_HINTS: tuple[tuple[str, str], ...] = (
    ("DMARC", "DMARC: see the DMARC / alignment findings"),
    ("SPF", "SPF: the sending IP is not authorised by the SPF record"),
    ("DKIM", "DKIM: signature missing, invalid or not aligned"),
    ("RCVD_IN_", "the sending IP is on a DNS blocklist / reputation list"),
    ("URIBL", "a link's domain is on a URI blocklist"),
    ("SURBL", "a link's domain is on a URI blocklist"),
    ("RBL", "the sending IP is on a DNS blocklist"),
    ("RDNS", "the sending IP's reverse DNS (PTR) is missing or looks dynamic"),
    ("HELO", "the HELO name the server announces"),
    ("BAYES", "content: the filter's learned word statistics"),
    ("HTML", "content: the HTML part"),
    ("MIME", "message structure"),
    ("MISSING_", "a required header is missing (Date, Message-ID...)"),
    ("FREEMAIL", "the sender uses a free-mail address"),
    ("SFV:", "Microsoft's spam filter verdict"),
    ("CAT:", "Microsoft's protection category"),
    ("SCL:", "Microsoft's spam confidence level (5+ = junk)"),
    ("BCL:", "Microsoft's bulk complaint level"),
)


def rule_hint(name: str) -> str:
    upper = name.upper()
    for key, hint in RULE_HINTS:
        if key in upper:
            return hint
    return ""


def _fail(verdicts: tuple[AuthVerdict, ...]) -> AuthVerdict | None:
    """The failing verdict, unless the receiver also recorded a pass for the method."""
    if any(v.result == "pass" for v in verdicts):
        return None
    return next((v for v in verdicts if v.result in FAILED), None)


def _score(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _org(domain: str) -> str:
    return organizational_domain(domain) if domain else ""


def _aligned(domain: str, from_domain: str) -> bool:
    """RFC 7489 3.1.1 relaxed alignment: the same organisational domain."""
    return bool(domain and from_domain) and _org(domain) == _org(from_domain)


def _evidence(verdicts: tuple[AuthVerdict, ...]) -> str:
    return "; ".join(v.describe() for v in verdicts[:6])


def _dkim_passes(ev: MessageEvidence) -> list[str]:
    """Signing domains that verify: our own verification, else the receiver's dkim=pass."""
    ours = [c.domain for c in ev.dkim if c.status == DKIM_PASS]
    if ours or any(c.status != DKIM_UNVERIFIED for c in ev.dkim):
        return ours
    theirs = []
    for v in ev.trusted("dkim"):
        if v.result == "pass":
            d = v.prop("header.d") or v.prop("header.i").rpartition("@")[2]
            if d:
                theirs.append(d.lower())
    return theirs


@check(needs=("message.sample",), codes=CODES)
def message_sample(ctx: CheckContext, ev: MessageEvidence) -> Iterator[Finding | NotChecked]:
    if ev.error and not ev.header_count:
        yield NotChecked("sample message", ev.error)
        return
    if ev.truncated:
        yield NotChecked(
            "the end of the sample message",
            f"the file has {ev.size} bytes; only the first {ev.read_bytes} were analysed",
        )
    subject = ev.path
    domain = ev.from_domain or "(no From domain)"
    found: list[Finding] = []
    aligned_pass = [d for d in _dkim_passes(ev) if _aligned(d, ev.from_domain)]
    found.extend(_receiver(ctx, ev, subject, domain, bool(aligned_pass)))
    found.extend(_dkim(ctx, ev, domain, bool(aligned_pass)))
    for item in ev.dkim:
        if item.status == DKIM_UNVERIFIED:
            yield NotChecked(f"DKIM signature d={item.domain} s={item.selector}", item.detail)
    found.extend(_alignment(ctx, ev, subject, domain, aligned_pass))
    spam = [s for s in ev.spam if s.is_spam or (s.rules and _score(s.score) > 0)]
    if spam:
        found.append(_spam(ctx, subject, spam))
    if ev.content:
        lines = [f"{h.where}: {h.text}" for h in ev.content]
        found.append(
            ctx.finding(
                "message.spam_content",
                subject=subject,
                evidence="; ".join(lines),
                count=len(ev.content),
            )
        )
    yield from found
    if ev.sending_ip:
        yield ctx.finding(
            "message.sent_from",
            subject=ev.sending_ip,
            evidence=f"{ev.sending_ip_source}: {ev.sending_ip}",
            ip=ev.sending_ip,
            source=ev.sending_ip_source,
            domain=ev.from_domain or "DOMAIN",
        )
    if not any(f.severity.is_problem for f in found):
        yield ctx.finding(
            "message.ok",
            subject=subject,
            evidence=f"From {ev.from_address or '?'}; receiver {ev.receiver or '?'}; "
            f"{len(ev.auth)} verdict(s), {ev.dkim_signatures} DKIM signature(s)",
        )


def _receiver(
    ctx: CheckContext, ev: MessageEvidence, subject: str, domain: str, dkim_aligned: bool
) -> Iterator[Finding]:
    """RFC 8601 2.7: spf / dkim / dmarc results the receiving side wrote."""
    dmarc = _fail(ev.trusted("dmarc"))
    dmarc_ok = any(v.result == "pass" for v in ev.trusted("dmarc"))
    spf = _fail(ev.trusted("spf"))
    if spf is not None:
        spf_domain = (
            spf.prop("smtp.mailfrom").rpartition("@")[2]
            or spf.prop("envelope-from").rpartition("@")[2]
            or ev.return_path_domain
            or domain
        )
        hard = spf.result in ("fail", "permerror") and not dmarc_ok and not dkim_aligned
        yield ctx.finding(
            "message.spf_failed",
            subject=subject,
            evidence=_evidence(ev.trusted("spf")),
            severity=Severity.ERROR if hard else None,
            result=spf.result,
            receiver=spf.authserv_id or ev.receiver or "the receiver",
            domain=spf_domain.strip("<>") or domain,
            ip=ev.sending_ip or "<sending IP>",
        )
    dkim = _fail(ev.trusted("dkim"))
    # dkim=none on an unsigned message is message.dkim_unsigned, from the message itself.
    if dkim is not None and not (dkim.result == "none" and ev.dkim_signatures == 0):
        yield ctx.finding(
            "message.dkim_failed",
            subject=subject,
            evidence=_evidence(ev.trusted("dkim")),
            severity=Severity.ERROR if not dmarc_ok else None,
            result=dkim.result,
            receiver=dkim.authserv_id or ev.receiver or "the receiver",
            domain=dkim.prop("header.d") or dkim.prop("header.i").rpartition("@")[2] or domain,
        )
    if dmarc is not None:
        yield ctx.finding(
            "message.dmarc_failed",
            subject=subject,
            evidence=_evidence(ev.trusted("dmarc")),
            result=dmarc.result,
            receiver=dmarc.authserv_id or ev.receiver or "the receiver",
            domain=dmarc.prop("header.from") or domain,
        )


def _dkim(
    ctx: CheckContext, ev: MessageEvidence, domain: str, aligned_pass: bool
) -> Iterator[Finding]:
    if ev.dkim_signatures == 0:
        yield ctx.finding(
            "message.dkim_unsigned",
            subject=ev.path,
            evidence=f"no DKIM-Signature among the {ev.header_count} headers; "
            f"From {ev.from_address}",
            domain=domain,
        )
        return
    for item in ev.dkim:
        code = _DKIM_CODES.get(item.status)
        if code is None:
            continue
        yield ctx.finding(
            code,
            subject=_key_name(item),
            evidence=_dkim_evidence(item),
            # another signature verifies aligned: this one does not decide DMARC
            severity=Severity.WARNING if aligned_pass else None,
            domain=item.domain or "(none)",
            selector=item.selector or "(none)",
        )


def _key_name(item: DkimCheck) -> str:
    if item.domain and item.selector:
        return f"{item.selector}._domainkey.{item.domain}"
    return f"DKIM-Signature #{item.index + 1}"


def _dkim_evidence(item: DkimCheck) -> str:
    head = f"DKIM-Signature #{item.index + 1}: d={item.domain} s={item.selector} a={item.algorithm}"
    key = f"; key: {item.key_query.describe()[:300]}" if item.key_query is not None else ""
    return f"{head}: {item.detail}{key}"


def _alignment(
    ctx: CheckContext, ev: MessageEvidence, subject: str, domain: str, aligned_pass: list[str]
) -> Iterator[Finding]:
    passes = _dkim_passes(ev)
    if passes and not aligned_pass and ev.from_domain:
        yield ctx.finding(
            "message.dkim_not_aligned",
            subject=subject,
            evidence=f"DKIM passes for d={', '.join(passes)}; From domain {ev.from_domain} "
            f"(organisational domain {_org(ev.from_domain)})",
            signing_domain=passes[0],
            domain=ev.from_domain,
        )
    rp = ev.return_path_domain
    if rp and ev.from_domain and not _aligned(rp, ev.from_domain):
        yield ctx.finding(
            "message.spf_not_aligned",
            subject=subject,
            evidence=f"Return-Path {ev.return_path} (organisational domain {_org(rp)}); From "
            f"{ev.from_address} (organisational domain {_org(ev.from_domain)})",
            severity=None if aligned_pass else Severity.WARNING,
            return_domain=rp,
            domain=ev.from_domain,
        )


def _spam(ctx: CheckContext, subject: str, spam: list[SpamVerdict]) -> Finding:
    filters = list(dict.fromkeys(s.filter for s in spam))
    names: list[str] = []
    lines: list[str] = []
    for s in spam:
        verdict = "spam" if s.is_spam else "not spam"
        score = f", score {s.score}" if s.score else ""
        lines.append(f"{s.header}: {verdict}{score}")
        for r in s.rules:
            names.append(r.name)
            pts = f" ({r.score})" if r.score else ""
            about = "; ".join(x for x in (r.description, rule_hint(r.name)) if x)
            lines.append(f"  {r.name}{pts}" + (f": {about}" if about else ""))
    shown_rules = ", ".join(dict.fromkeys(names)) or "no rule names given"
    return ctx.finding(
        "message.spam_verdict",
        subject=subject,
        evidence="\n".join(lines[:80]),
        severity=None if any(s.is_spam for s in spam) else Severity.WARNING,
        filters=" and ".join(filters),
        rules=shown_rules if len(shown_rules) < 400 else shown_rules[:397] + "...",
    )
