"""Mail queue rules (`diagnose --symptom overloaded`): QueueEvidence -> findings. Pure.

No registered probe produces "queue.local" (it runs commands on the mail server itself), so
`maildoctor check` never plans these; diagnose merges probes.queue.queue_probes(request).
"""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.queue import (
    DENIED,
    DOWN,
    EXIM,
    NOT_FOUND,
    POSTFIX,
    POSTFIX_QUEUES,
    READ,
    SENDMAIL,
    TIMEOUT,
    Count,
    QueueEvidence,
)
from maildoctor.explain import explain
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "queue.ok",
    "queue.backlog",
    "queue.old_messages",
    "queue.one_sender_floods",
    "queue.deferred_reason",
    "queue.frozen",
)
ERROR_FACTOR = 10  # a backlog this many times the threshold is an error
REASON_MIN = 50  # a deferral reason shared by this many messages is worth a finding
NAMES = {POSTFIX: "Postfix", EXIM: "Exim", SENDMAIL: "Sendmail"}
COMMANDS = {POSTFIX: "postqueue", EXIM: "exim", SENDMAIL: "mailq"}


def age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def _subject(ev: QueueEvidence) -> str:
    return f"mail queue ({ev.command})" if ev.command else "mail queue"


def _breakdown(ev: QueueEvidence) -> str:
    if ev.mta != POSTFIX or not ev.queues:
        return ""
    order = {q: i for i, q in enumerate(POSTFIX_QUEUES)}
    parts = [f"{c.count} {c.value}" for c in sorted(ev.queues, key=lambda c: order.get(c.value, 9))]
    return f" ({', '.join(parts)})"


def _table(title: str, rows: tuple[Count, ...], limit: int = 5) -> str:
    if not rows:
        return ""
    return f"{title}: " + ", ".join(f"{c.value} {c.count}" for c in rows[:limit])


def _evidence(ev: QueueEvidence, *first: str) -> str:
    lines = [x for x in first if x]
    lines.append(f"{ev.command}: {ev.total} messages{_breakdown(ev)}")
    if ev.oldest_s is not None:
        lines.append(f"oldest: {ev.oldest_id} queued {age(ev.oldest_s)} ago")
    lines += [
        _table("top senders", ev.senders),
        _table("top recipient domains", ev.domains),
        _table("top deferral reasons", ev.reasons, 3),
    ]
    if ev.frozen:
        lines.append(f"frozen: {ev.frozen}")
    if ev.truncated:
        lines.append(f"output bounded: details from the first {ev.parsed} messages ({ev.detail})")
    return "\n".join(x for x in lines if x)


def _not_read(ev: QueueEvidence) -> NotChecked:
    what = "mail queue"
    if ev.status == NOT_FOUND:
        missing = ev.detail or "no queue command found"
        instance = (
            "; for a Postfix instance outside /etc/postfix, name its configuration directory "
            "(postqueue -c DIR; postmulti -l lists the instances)"
            if ev.mta == POSTFIX
            else ""
        )
        return NotChecked(
            what,
            f"{missing}: run diagnose on the mail server itself to read the queue "
            f"(postqueue for Postfix, exim -bp for Exim, mailq for Sendmail){instance}",
        )
    if ev.status == DENIED:
        return NotChecked(
            what,
            f"{ev.command or COMMANDS.get(ev.mta, 'the queue command')}: permission denied "
            f"({ev.detail}): run diagnose as root on the mail server to read the queue",
        )
    if ev.status == DOWN:
        return NotChecked(
            what,
            f"{ev.command}: {ev.detail}: the mail system is not running, so it cannot list its "
            "queue (and delivers nothing): start it (systemctl start postfix) and run again",
        )
    if ev.status == TIMEOUT:
        return NotChecked(
            what,
            f"{ev.detail}: a queue too big to list in that time is itself a sign of a large "
            "backlog; count it with: find /var/spool/postfix/deferred -type f | wc -l",
        )
    return NotChecked(what, f"{ev.command or 'the queue command'} failed: {ev.detail}")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _reason(ctx: CheckContext, ev: QueueEvidence, top: Count) -> Finding:
    example = top.example or top.value
    exp = explain(example)
    if exp.matches:
        m = exp.matches[0]
        title = m.fill(m.entry.title)
        meaning = f"{title}: {m.fill(m.entry.meaning)}"
        fix = "\n".join(m.fill(line) for line in m.entry.fix)
    else:
        title = top.value
        meaning = (
            "The receiving side answers with a temporary failure (4xx) or cannot be reached, "
            "so the server keeps the mail and retries (RFC 5321 4.5.4.1)."
        )
        fix = "Fix what the reason names on the receiving side or on the way to it."
    return ctx.finding(
        "queue.deferred_reason",
        subject=_subject(ev),
        evidence=_evidence(ev, f"{top.count} messages: {example}"),
        reason=title,
        count=top.count,
        total=ev.total,
        example=example,
        meaning=meaning,
        fix=fix,
        quoted=_quoted(example),
    )


def _flood(ctx: CheckContext, ev: QueueEvidence) -> Finding | None:
    if ev.total < ev.flood_min or not ev.senders:
        return None
    top = ev.senders[0]
    share = top.count / max(ev.parsed or ev.total, 1)
    if share <= ev.flood_share:
        return None
    bounces = ""
    if top.value == "<>":
        bounces = (
            "Here the sender is empty (<>): these are bounces the server makes itself, usually "
            "for spam it accepted and then could not deliver (backscatter). Reject unknown "
            "recipients at RCPT time (smtpd_reject_unlisted_recipient = yes) instead."
        )
    severity = Severity.CRITICAL if ev.waiting > ev.backlog_threshold else None
    domain = top.value.rpartition("@")[2] or "example.com"
    return ctx.finding(
        "queue.one_sender_floods",
        subject=_subject(ev),
        evidence=_evidence(ev, f"{top.value}: {top.count} of {ev.parsed or ev.total} messages"),
        severity=severity,
        sender=top.value,
        count=top.count,
        total=ev.parsed or ev.total,
        share=f"{share:.0%}",
        bounces=bounces,
        domain=domain,
    )


@check(needs=("queue.local",), codes=CODES)
def queue_local(ctx: CheckContext, ev: QueueEvidence) -> Iterator[Finding | NotChecked]:
    if ev.status != READ:
        yield _not_read(ev)
        return
    mta = NAMES.get(ev.mta, ev.mta or "The MTA")
    subject = _subject(ev)
    problems = 0
    backlog = ev.waiting > ev.backlog_threshold
    if backlog:
        problems += 1
        big = ev.waiting > ev.backlog_threshold * ERROR_FACTOR
        yield ctx.finding(
            "queue.backlog",
            subject=subject,
            evidence=_evidence(ev),
            severity=Severity.ERROR if big else None,
            waiting=ev.waiting,
            mta=mta,
            breakdown=_breakdown(ev),
            threshold=ev.backlog_threshold,
        )
    flood = _flood(ctx, ev)
    if flood is not None:
        problems += 1
        yield flood
    if ev.oldest_s is not None and ev.oldest_s > ev.old_after_s:
        problems += 1
        yield ctx.finding(
            "queue.old_messages",
            subject=subject,
            evidence=_evidence(ev),
            oldest=age(ev.oldest_s),
            qid=ev.oldest_id,
            mta=mta,
            limit=age(ev.old_after_s),
            domains=", ".join(c.value for c in ev.domains[:5]) or "none listed",
        )
    if ev.frozen:
        problems += 1
        yield ctx.finding(
            "queue.frozen",
            subject=subject,
            evidence=_evidence(ev),
            frozen=ev.frozen,
            total=ev.total,
        )
    if ev.reasons and (problems or ev.reasons[0].count >= REASON_MIN):
        problems += 1
        yield _reason(ctx, ev, ev.reasons[0])
    if ev.truncated:
        yield NotChecked(
            "mail queue details",
            f"the queue listing was cut at the output bound: {ev.detail}",
        )
    if not problems:
        yield ctx.finding(
            "queue.ok",
            subject=subject,
            evidence=_evidence(ev),
            total=ev.total,
            mta=mta,
            breakdown=_breakdown(ev),
            threshold=ev.backlog_threshold,
            oldest=age(ev.oldest_s) if ev.oldest_s is not None else "nothing (empty queue)",
        )
