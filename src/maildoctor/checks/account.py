"""Account login rules (`maildoctor auth`): AccountEvidence -> findings. Pure.

No registered probe produces "account.auth" (it needs a password), so `maildoctor check`
never plans these; `maildoctor auth` runs them (maildoctor.account.command).
"""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.account import (
    ERROR,
    FAILED,
    NONE,
    NOT_OFFERED,
    OK,
    REQUIRES_TLS,
    SSL_TLS,
    TEMPORARY,
    UNSUPPORTED,
    AccountEvidence,
    PortTry,
)
from maildoctor.protocols.sasl import CLIENT_TERMS
from maildoctor.report import Finding, NotChecked

CODES = (
    "auth.ok",
    "auth.failed",
    "auth.requires_tls",
    "auth.not_offered",
    "auth.mechanism_unsupported",
    "auth.protocol_mismatch",
    "auth.working_settings",
    "auth.cert_untrusted",
    "auth.plaintext_only",
)
NAMES = {"smtp": "SMTP (sending)", "imap": "IMAP", "pop3": "POP3"}
ROLE = {"smtp": "Outgoing (SMTP)", "imap": "Incoming (IMAP)", "pop3": "Incoming (POP3)"}
TLS_PORT = {"smtp": 465, "imap": 993, "pop3": 995}


def _where(t: PortTry) -> str:
    return f"{t.protocol.upper()} {t.port}"


def _attempts(t: PortTry) -> str:
    return "; ".join(
        f"{_where(t)} {a.mechanism or 'AUTH'}: {a.reply}".replace("  ", " ") for a in t.attempts
    )


def _evidence(t: PortTry) -> str:
    lines = [f"{t.label} on {t.ip}"]
    if t.before_tls:
        lines.append(f"before TLS: {t.before_tls}")
    if t.mechanisms:
        lines.append("mechanisms: " + " ".join(t.mechanisms))
    lines.extend(f"{a.mechanism or 'AUTH'}: {a.reply}" for a in t.attempts)
    if t.skipped:
        lines.append(t.skipped)
    if t.failure:
        lines.append(t.failure.describe())
    return "\n".join(lines)


def _port_findings(ctx: CheckContext, ev: AccountEvidence, t: PortTry) -> Iterator[Finding]:
    subject = f"{ev.host} {t.label}"
    ev_text = _evidence(t)
    offered_in_clear = t.security == NONE and (
        bool(t.mechanisms) or bool(t.attempts) or "not tried: no TLS" in t.skipped
    )
    if offered_in_clear and not any(a.outcome == NOT_OFFERED for a in t.attempts):
        yield ctx.finding(
            "auth.plaintext_only",
            subject=subject,
            evidence=ev_text,
            label=t.label,
            host=ev.host,
            port=t.port,
            offered=" ".join(t.mechanisms) or "USER/PASS or LOGIN",
            action=(
                "maildoctor sent the password anyway because of --insecure."
                if t.attempts
                else "maildoctor did not send the password (--insecure would)."
            ),
        )
    for a in t.attempts:
        if a.outcome == NOT_OFFERED:
            reply = f'; asked anyway, it answered "{a.reply}"' if a.reply else ""
            yield ctx.finding(
                "auth.not_offered",
                subject=subject,
                evidence=ev_text,
                host=ev.host,
                port=t.port,
                reply=reply,
            )
    works = [a.mechanism for a in t.attempts if a.outcome == OK]
    for a in t.attempts:
        bad = a.outcome == UNSUPPORTED or (a.outcome == FAILED and works)
        if not bad:
            continue
        if a.outcome == FAILED:
            detail = (
                f"On {t.label} the password works with {', '.join(works)} but {a.mechanism} "
                f'was refused: "{a.reply}". The server offers a mechanism its password store '
                "cannot check; a client set to it reports a wrong password."
            )
        else:
            detail = (
                f'On {t.label} the authentication method {a.mechanism} cannot be used: "{a.reply}".'
            )
        yield ctx.finding(
            "auth.mechanism_unsupported",
            subject=subject,
            evidence=ev_text,
            label=t.label,
            mechanism=a.mechanism or "?",
            detail=detail,
        )


def _refused_before_tls(t: PortTry) -> str:
    """What the port answered to a login before STARTTLS, when it refused it."""
    no_auth = any(a.outcome == NOT_OFFERED for a in t.attempts)
    if t.security == NONE or no_auth:
        return ""
    for a in t.attempts:
        if a.outcome == REQUIRES_TLS:
            return a.reply
    if t.before_tls and not t.before_tls.endswith("before TLS"):
        return t.before_tls
    return ""


def _grouped(ctx: CheckContext, ev: AccountEvidence) -> Iterator[Finding]:
    """One finding per certificate problem and one for STARTTLS-first, each naming its ports:
    the same certificate and the same policy usually serve every port."""
    by_problem: dict[str, list[PortTry]] = {}
    for t in ev.tries:
        if t.cert_problem:
            by_problem.setdefault(t.cert_problem, []).append(t)
    for problem, tries in by_problem.items():
        tried = any(t.attempts for t in tries)
        action = (
            "maildoctor tried the password anyway because of --insecure."
            if tried
            else "maildoctor did not send the password over it (--insecure would)."
        )
        yield ctx.finding(
            "auth.cert_untrusted",
            subject=f"{ev.host} " + ", ".join(t.label for t in tries),
            evidence="\n".join(f"{t.label} on {t.ip}: {problem}" for t in tries),
            label=", ".join(_where(t) for t in tries),
            host=ev.host,
            port=", ".join(str(t.port) for t in tries),
            problem=problem,
            action=action,
        )
    first = [(t, _refused_before_tls(t)) for t in ev.tries]
    first = [(t, why) for t, why in first if why]
    if first:
        yield ctx.finding(
            "auth.requires_tls",
            subject=f"{ev.host} " + ", ".join(t.label for t, _ in first),
            evidence="\n".join(f"{t.label} before TLS: {why}" for t, why in first),
            label=", ".join(_where(t) for t, _ in first),
            host=ev.host,
            port=", ".join(str(t.port) for t, _ in first),
            before="; ".join(f"{_where(t)}: {why}" for t, why in first),
            tls_port=", ".join(
                dict.fromkeys(f"{TLS_PORT[t.protocol]} ({t.protocol.upper()})" for t, _ in first)
            ),
        )


def _settings_line(t: PortTry, user: str) -> str:
    mech = next(a.mechanism for a in t.attempts if a.outcome == OK)
    method = CLIENT_TERMS.get(mech, mech)
    return (
        f"  {ROLE[t.protocol]}: server {t.host}, port {t.port}, connection security "
        f'{t.security}, authentication "{method}", user name {user}'
    )


def _best(tries: list[PortTry]) -> PortTry:
    """RFC 8314 3.3: implicit TLS first; then the port tried first."""
    return sorted(tries, key=lambda t: (t.security != SSL_TLS, t.security == NONE))[0]


@check(needs=("account.auth",), codes=CODES)
def auth_findings(ctx: CheckContext, ev: AccountEvidence) -> Iterator[Finding | NotChecked]:
    if ev.note or not ev.tries:
        yield NotChecked("auth", ev.note or "no port was tried")
        return
    yield from _grouped(ctx, ev)
    by_protocol: dict[str, list[PortTry]] = {}
    for t in ev.tries:
        by_protocol.setdefault(t.protocol, []).append(t)
        yield from _port_findings(ctx, ev, t)
        if t.failure is not None and not t.failure.connect_failed:
            yield NotChecked(f"auth {t.label}", t.failure.describe())
        for a in t.attempts:
            if a.outcome in (TEMPORARY, ERROR):
                yield NotChecked(f"auth {t.label}", f"the server answered: {a.reply}")
    spared = [t for t in ev.tries if t.skipped.startswith("not tried: the password was already")]
    if spared:
        yield NotChecked("auth " + ", ".join(_where(t) for t in spared), spared[0].skipped)
    ok: dict[str, list[PortTry]] = {}
    failed: dict[str, list[PortTry]] = {}
    for proto, tries in by_protocol.items():
        if all(t.failure is not None and t.failure.connect_failed for t in tries):
            why = "; ".join(f"{t.port}: {t.failure.kind}" for t in tries if t.failure)
            yield NotChecked(f"auth {NAMES[proto]}", f"no {proto.upper()} port answers ({why})")
            continue
        good = [t for t in tries if t.outcome == OK]
        bad = [t for t in tries if t.outcome == FAILED]
        if good:
            ok[proto] = good
        elif bad:
            failed[proto] = bad
    user = ev.user
    if ok and failed:
        yield ctx.finding(
            "auth.protocol_mismatch",
            subject=f"{user} on {ev.host}",
            evidence="\n".join(
                [_attempts(t) for ts in ok.values() for t in ts]
                + [_attempts(t) for ts in failed.values() for t in ts]
            ),
            works=" and ".join(NAMES[p] for p in ok),
            fails=" and ".join(NAMES[p] for p in failed),
            works_detail=", ".join(t.label for ts in ok.values() for t in ts),
            fails_detail="; ".join(_attempts(t) for ts in failed.values() for t in ts),
            user=user,
            host=ev.host,
        )
    elif failed:
        yield ctx.finding(
            "auth.failed",
            subject=f"{user} on {ev.host}",
            evidence="\n".join(_attempts(t) for ts in failed.values() for t in ts),
            user=user,
            host=ev.host,
            detail="; ".join(_attempts(t) for ts in failed.values() for t in ts),
        )
    elif ok:
        ways = "; ".join(
            f"{p.upper()} " + ", ".join(str(t.port) for t in ts) for p, ts in ok.items()
        )
        yield ctx.finding(
            "auth.ok",
            subject=f"{user} on {ev.host}",
            evidence="\n".join(_attempts(t) for ts in ok.values() for t in ts),
            ways=ways,
            host=ev.host,
            user=user,
            detail="; ".join(_attempts(t) for ts in ok.values() for t in ts),
        )
    if ok:
        order = [p for p in ("imap", "pop3", "smtp") if p in ok]
        lines = [_settings_line(_best(ok[p]), user) for p in order]
        summary = "; ".join(
            f"{NAMES[p]} {_best(ok[p]).port} {_best(ok[p]).security}" for p in order
        )
        yield ctx.finding(
            "auth.working_settings",
            subject=f"{user} on {ev.host}",
            evidence="\n".join(line.strip() for line in lines),
            user=user,
            host=ev.host,
            summary=summary,
            settings="\n".join(lines),
        )
