"""Send-test rules (`maildoctor send-test`): SendEvidence -> findings. Pure.

The server's verdict is read from its reply code and enhanced status code (RFC 3463): the
enhanced code decides when present, the basic code and the text otherwise. No registered
probe produces "account.send", so `maildoctor check` never plans these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.account import SendEvidence
from maildoctor.report import Finding, NotChecked

CODES = (
    "send.ok",
    "send.relay_denied",
    "send.rate_limited",
    "send.too_large",
    "send.size_limit",
    "send.mailbox_full",
    "send.recipient_unknown",
    "send.rejected",
    "send.auth_failed",
    "send.not_sent",
    "send.delivered",
    "send.landed_in_junk",
    "send.not_delivered",
)
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def verdict(code: int, text: str, stage: str) -> str:
    """The finding code for a refusal `code text` at `stage` (mail, rcpt, data)."""
    low = text.lower()
    m = _ENHANCED.search(text)
    enhanced = m.group(0) if m else ""
    if "relay access denied" in low or "relaying denied" in low or "relay not permitted" in low:
        return "send.relay_denied"
    if code == 554 and enhanced == "5.7.1" and stage == "rcpt":
        return "send.relay_denied"  # RFC 3463 3.8: delivery not authorized
    if enhanced == "5.3.4" or (code == 552 and re.search(r"size|too (big|large)", low)):
        return "send.too_large"  # RFC 1870 6, RFC 3463 3.4
    if enhanced == "5.4.5" or re.search(r"sending (quota|limit)|daily|rate limit", low):
        return "send.rate_limited"  # Gmail 5.4.5 daily sending quota; 4xx/5xx rate limits
    if enhanced in ("5.2.2", "4.2.2") or re.search(r"quota|mailbox (is )?full|over ?quota", low):
        return "send.mailbox_full"  # RFC 3463 3.3
    if enhanced in ("5.1.1", "5.1.10") or (
        code == 550 and stage == "rcpt" and re.search(r"unknown|no such user|does not exist", low)
    ):
        return "send.recipient_unknown"  # RFC 3463 3.2
    if code == 421 or (code in (450, 451, 452) and enhanced.startswith("4.7.")):
        return "send.rate_limited"  # RFC 5321 4.2.3, RFC 3463 3.8
    if re.search(r"too many (messages|connections)", low) and 400 <= code < 500:
        return "send.rate_limited"
    return "send.rejected"


def _transcript_tail(ev: SendEvidence, n: int = 8) -> str:
    return "\n".join(ev.transcript[-n:])


@check(needs=("account.send",), codes=CODES)
def send_findings(ctx: CheckContext, ev: SendEvidence) -> Iterator[Finding | NotChecked]:
    subject = f"{ev.mail_from} -> {ev.rcpt_to} via {ev.host}"
    common = {"host": ev.host, "rcpt": ev.rcpt_to, "sender": ev.mail_from, "user": ev.user}
    where = f"{ev.host} port {ev.port} ({ev.security})" if ev.port else ev.host
    evidence = f"{where}\n{_transcript_tail(ev)}".strip()
    if ev.size_limit is not None:
        above = min((s.size for s in ev.size_search if not s.accepted), default=ev.size_limit + 1)
        advertised = f"; EHLO declares SIZE {ev.advertised_size}" if ev.advertised_size else ""
        yield ctx.finding(
            "send.size_limit",
            subject=ev.host,
            evidence="\n".join(f"SIZE={s.size}: {s.reply}" for s in ev.size_search[-6:]),
            host=ev.host,
            limit=ev.size_limit,
            above=above,
            tries=len(ev.size_search),
            advertised=advertised,
            attachment=ev.size_limit * 3 // 4,
        )
    elif ev.note:
        yield NotChecked("send size limit", ev.note)
    if ev.failure is not None or ev.stage == "connect":
        why = ev.failure.describe() if ev.failure else ev.note or "no connection"
        if ev.cert_problem:
            why = f"{why}; certificate: {ev.cert_problem}"
        yield ctx.finding(
            "send.not_sent",
            subject=subject,
            evidence=evidence,
            why=why,
            **_h(common, "rcpt", "sender"),
        )
        return
    if ev.stage == "auth":
        if ev.reply_code:
            yield ctx.finding(
                "send.auth_failed",
                subject=subject,
                evidence=evidence,
                port=ev.port,
                reply=ev.reply,
                **_h(common, "rcpt", "sender"),
            )
        else:
            yield ctx.finding(
                "send.not_sent",
                subject=subject,
                evidence=evidence,
                why=ev.reply,
                **_h(common, "rcpt", "sender"),
            )
        return
    if ev.stage != "sent":
        code = verdict(ev.reply_code, ev.reply, ev.stage)
        params: dict[str, Any] = {"reply": ev.reply}
        if code == "send.too_large":
            limit = (
                f"The server declares a limit of {ev.advertised_size} bytes (EHLO SIZE)."
                if ev.advertised_size
                else ""
            )
            params.update(size=ev.size, limit=limit)
        elif code == "send.rate_limited":
            params.update(stage=ev.stage.upper())
        elif code == "send.rejected":
            params.update(stage=ev.stage.upper(), token=ev.token)
        keep = {
            "send.relay_denied": ("host", "rcpt", "user"),
            "send.rate_limited": ("host",),
            "send.too_large": ("host", "user", "sender", "rcpt"),
            "send.mailbox_full": ("host", "rcpt"),
            "send.recipient_unknown": ("host", "rcpt"),
            "send.rejected": ("host", "sender", "rcpt"),
        }[code]
        params.update({k: common[k] for k in keep})
        yield ctx.finding(code, subject=subject, evidence=evidence, **params)
        return
    yield ctx.finding(
        "send.ok",
        subject=subject,
        evidence=evidence,
        port=ev.port,
        reply=ev.reply,
        message_id=ev.message_id,
        size=ev.size,
        token=ev.token,
        **_h(common, "user"),
    )
    d = ev.delivery
    if d is None:
        return
    if d.error:
        yield NotChecked("send delivery (--imap-check)", d.error)
        return
    results = " | ".join(d.authentication_results) or "none added by the receiving server"
    if d.found:
        code = "send.landed_in_junk" if d.junk else "send.delivered"
        extra: dict[str, Any] = {"domain": ev.mail_from.rpartition("@")[2]} if d.junk else {}
        yield ctx.finding(
            code,
            subject=f"{ev.rcpt_to} on {ev.host}",
            evidence="\n".join(
                (f"found in {d.folder} after {d.delay_s} s", *d.authentication_results)
            ),
            folder=d.folder,
            rcpt=ev.rcpt_to,
            delay=d.delay_s,
            token=ev.token,
            auth_results=results,
            **({"host": ev.host} if not d.junk else extra),
        )
        return
    yield ctx.finding(
        "send.not_delivered",
        subject=f"{ev.rcpt_to} on {ev.host}",
        evidence=f"searched {', '.join(d.folders_searched)} for {d.waited_s} s",
        waited=d.waited_s,
        token=ev.token,
        folders=", ".join(d.folders_searched) or "INBOX",
        host=ev.host,
        rcpt=ev.rcpt_to,
        sender=ev.mail_from,
    )


def _h(common: dict[str, str], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in common.items() if k not in drop}
