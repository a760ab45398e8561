"""Log rules: a LogSummary (maildoctor logs) -> findings. Pure; thresholds travel in the summary.

No probe produces "log.summary", so the domain `check` never plans this check (the engine skips
checks whose evidence is not gathered); `maildoctor logs` calls `log_findings` directly.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.logs.clock import iso_utc
from maildoctor.logs.model import LogSummary
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "log.ok",
    "log.brute_force",
    "log.auth_failures",
    "log.plaintext_refused",
    "log.relay_denied",
    "log.blocked_by_dnsbl",
    "log.deferred_backlog",
    "log.software_fault",
    "log.mailbox_full",
    "log.size_rejected",
    "log.rate_limited",
    "log.compromised_account",
    "log.tls_failures",
    "log.unparsed",
    "log.input_error",
)
SERIOUS_FAULTS = ("fatal", "panic", "crash", "syserr")
# A client retrying a saved wrong password: at least this many failures for one user.
AUTH_FAILURES_MIN = 3
TLS_FAILURES_MANY = 10


def _list(items: list[str] | tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _counts(by: dict[str, int], limit: int = 5) -> str:
    return _list([f"{k or 'unknown'} ({n})" for k, n in by.items()], limit)


def _subject(files: tuple[str, ...]) -> str:
    names = ["stdin" if f == "-" else f for f in files]
    if len(names) <= 2:
        return ", ".join(names) or "stdin"
    return f"{names[-1]} and {len(names) - 1} more files"


def _logpath(files: tuple[str, ...], dovecot: bool = False) -> str:
    """The live log for a fail2ban jail: a given file that is not a rotated or compressed one,
    Dovecot's own log for the dovecot jail when one was given by name, another for Postfix."""
    live = [
        f
        for f in reversed(files)
        if f != "-" and not re.search(r"(\.\d+|-\d{8,10})?\.(gz|bz2|xz)$|\.\d+$", f)
    ]
    named = [f for f in live if ("dovecot" in f.rsplit("/", 1)[-1]) == dovecot]
    return (named or live or ["/var/log/mail.log"])[0]


@check(needs=("log.summary",), codes=CODES)
def log_findings(ctx: CheckContext, s: LogSummary) -> Iterator[Finding | NotChecked]:
    subject = _subject(s.files)
    logpath = _logpath(s.files)
    dovecot_log = _logpath(s.files, dovecot=True)
    found: list[Finding] = []
    t = s.thresholds

    for err in s.input_errors:
        found.append(ctx.finding("log.input_error", subject=subject, evidence=err, detail=err))

    brute_ips = {b.ip for b in s.brute_force}
    for b in s.brute_force:
        # Above the address cap the count is a Space-Saving upper bound: say both bounds.
        failures = (
            f"{b.failures - b.failures_error} to {b.failures}" if b.failures_error else b.failures
        )
        approx = (
            " (approximate: first seen after the table of addresses was full)"
            if b.failures_error
            else ""
        )
        success = (
            f"{b.logins_ok} logins from this address SUCCEEDED: treat those accounts as "
            "compromised."
            if b.logins_ok
            else "No login from this address succeeded."
        )
        found.append(
            ctx.finding(
                "log.brute_force",
                subject=b.ip,
                evidence=(
                    f"{failures} failures from {b.ip}{approx}, {iso_utc(b.first_seen)} to "
                    f"{iso_utc(b.last_seen)}, users {_list(b.users)}"
                ),
                severity=Severity.ERROR if b.logins_ok else None,
                ip=b.ip,
                failures=failures,
                services=", ".join(b.services),
                users=_list(b.users),
                first=iso_utc(b.first_seen) or "?",
                last=iso_utc(b.last_seen) or "?",
                rate=b.max_in_window,
                window=int(t.brute_force_window),
                success=success,
                logpath=logpath,
                dovecot_log=dovecot_log,
                maxretry=t.brute_force_count,
            )
        )

    # Failures outside brute force: a client retrying a saved wrong password.
    per_user: dict[str, dict[str, int]] = {}
    for user, ip, n in s.auth_pairs:
        if ip not in brute_ips and user:
            per_user.setdefault(user, {})[ip] = n
    for user, ips in list(per_user.items())[:10]:
        n = sum(ips.values())
        if n < AUTH_FAILURES_MIN:
            continue
        found.append(
            ctx.finding(
                "log.auth_failures",
                subject=user,
                evidence=f"{n} failed logins for {user} from {_counts(ips)}",
                user=user,
                failures=n,
                ips=_list(list(ips)),
                first_ip=next(iter(ips)),
                logpath=logpath,
            )
        )

    if s.plaintext_refused.total:
        found.append(
            ctx.finding(
                "log.plaintext_refused",
                subject=subject,
                evidence=s.plaintext_refused.examples[0],
                count=s.plaintext_refused.total,
                ips=_counts(s.plaintext_refused.by_key),
            )
        )

    if s.relay_denied.total:
        # From strangers it is the server doing its job; from an address that also logged in
        # or sent authenticated mail, it is a user whose client does not authenticate.
        users = sorted(set(s.relay_denied.by_key) & s.user_ips)
        found.append(
            ctx.finding(
                "log.relay_denied",
                subject=subject,
                severity=None if users else Severity.INFO,
                evidence=s.relay_denied.examples[0]
                + (f" (also used by logged-in users: {_list(users)})" if users else ""),
                count=s.relay_denied.total,
                ips=_counts(s.relay_denied.by_key),
            )
        )

    dnsbl = [r for r in s.bounce_reasons + s.deferral_reasons if "blocked by DNSBL" in r.reason]
    if dnsbl:
        zones = sorted({r.reason.rsplit(" ", 1)[-1] for r in dnsbl})
        found.append(
            ctx.finding(
                "log.blocked_by_dnsbl",
                subject=", ".join(zones),
                evidence=dnsbl[0].example,
                zones=", ".join(zones),
                count=sum(r.count for r in dnsbl),
            )
        )

    deferrals = s.deliveries.get("deferred", 0)
    if s.deferred_pending >= t.deferred_backlog:
        found.append(
            ctx.finding(
                "log.deferred_backlog",
                subject=subject,
                evidence=s.deferral_reasons[0].example if s.deferral_reasons else "",
                pending=s.deferred_pending,
                deferrals=deferrals,
                reasons=_list([f"{r.reason} ({r.count})" for r in s.deferral_reasons], 3)
                or "not logged",
            )
        )

    serious = {k: n for k, n in s.faults.by_key.items() if k in SERIOUS_FAULTS}
    if serious:
        count = sum(serious.values())
        example = next(
            (e for e in s.faults.examples if any(k in e.lower() for k in serious)),
            s.faults.examples[0] if s.faults.examples else "",
        )
        found.append(
            ctx.finding(
                "log.software_fault",
                subject=subject,
                evidence=example,
                count=count,
                levels=_counts(serious),
                example=example,
            )
        )

    if s.mailbox_full.total:
        found.append(
            ctx.finding(
                "log.mailbox_full",
                subject=subject,
                evidence=s.mailbox_full.examples[0],
                count=s.mailbox_full.total,
                users=_counts(s.mailbox_full.by_key),
            )
        )

    if s.size_rejected.total:
        found.append(
            ctx.finding(
                "log.size_rejected",
                subject=subject,
                evidence=s.size_rejected.examples[0],
                count=s.size_rejected.total,
            )
        )

    if s.rate_limited.total:
        found.append(
            ctx.finding(
                "log.rate_limited",
                subject=subject,
                evidence=s.rate_limited.examples[0],
                count=s.rate_limited.total,
                kinds=_counts(s.rate_limited.by_key),
                example=s.rate_limited.examples[0],
            )
        )

    found.extend(_compromised(ctx, s))

    if s.tls_failures.total:
        # A few failures are scanners; many, or a user's own address, are a real client.
        real = s.tls_failures.total >= TLS_FAILURES_MANY or bool(
            set(s.tls_failures.by_key) & s.user_ips
        )
        found.append(
            ctx.finding(
                "log.tls_failures",
                subject=subject,
                severity=None if real else Severity.INFO,
                evidence=s.tls_failures.examples[0],
                count=s.tls_failures.total,
                ips=_counts(s.tls_failures.by_key),
                example=s.tls_failures.examples[0],
            )
        )

    if s.unparsed:
        found.append(
            ctx.finding(
                "log.unparsed",
                subject=subject,
                evidence=f"{s.unparsed} of {s.lines} lines",
                count=s.unparsed,
                lines=s.lines,
                files=" ".join(s.files) or "-",
            )
        )

    if not any(f.severity.is_problem for f in found):
        found.append(
            ctx.finding(
                "log.ok",
                subject=subject,
                evidence=(
                    f"{s.lines} lines; sent {s.deliveries.get('sent', 0)}, deferred "
                    f"{deferrals}, bounced {s.deliveries.get('bounced', 0)}; "
                    f"{s.auth_failures} failed logins"
                ),
            )
        )
    yield from found


def _compromised(ctx: CheckContext, s: LogSummary) -> Iterator[Finding]:
    """An authenticated account sending far more than the rest (by recipients)."""
    t = s.thresholds
    accounts = list(s.accounts)
    for acc in accounts:
        others = [a.recipients for a in accounts if a.user != acc.user]
        if len(others) < 2 or acc.recipients < t.compromised_min_recipients:
            continue  # "far more than the rest" needs a rest to compare with
        median = statistics.median(others)
        limit = max(median * t.compromised_factor, t.compromised_min_recipients)
        if acc.recipients >= limit:
            yield ctx.finding(
                "log.compromised_account",
                subject=acc.user,
                evidence=(
                    f"{acc.user}: {acc.messages} messages, {acc.recipients} recipients, "
                    f"{acc.domains} domains; median of the other {len(others)} accounts: "
                    f"{median:g}"
                ),
                user=acc.user,
                messages=acc.messages,
                recipients=acc.recipients,
                domains=acc.domains,
                median=f"{median:g}",
            )
