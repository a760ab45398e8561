"""Port rules: refused, silently dropped, unreachable, each with its likely cause."""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import ROLE_SYMPTOMS, CheckContext, check
from maildoctor.checks.servers import evidence, service, where
from maildoctor.evidence.smtp import SmtpEvidence, SmtpSession
from maildoctor.report import Finding, NotChecked, Severity

CODES = ("port.ok", "port.refused", "port.timeout", "port.unreachable")


def _port_findings(
    ctx: CheckContext, ev: SmtpEvidence, sessions: tuple[SmtpSession, ...]
) -> Iterator[Finding | NotChecked]:
    for addr, why in ev.skipped:
        yield NotChecked(f"{ev.role} server {addr}", why)
    if not sessions:
        if ev.note:
            yield NotChecked(f"{ev.role} ports of {ev.target}", ev.note)
        return
    open_ports = sorted({f"{where(s)}" for s in sessions if s.connect_s is not None})
    any_open_on = {s.ip for s in sessions if s.connect_s is not None}
    for s in sessions:
        f = s.failure
        if f is None or f.step != "connect":
            continue
        if f.kind == "no_route":  # about this machine (no IPv6 here), not about the server
            yield NotChecked(f"{s.subject}", f.detail)
            continue
        # A client port that is closed while another submission port of the same server
        # works is a choice, not a fault: said as info.
        severity = None
        if ev.role == "submission" and s.ip in any_open_on:
            severity = Severity.INFO
        subject, ev_text = s.subject, evidence(s, f.detail)
        if f.kind == "refused":
            yield ctx.finding(
                "port.refused",
                subject=subject,
                evidence=ev_text,
                severity=severity,
                only_symptoms=ROLE_SYMPTOMS.get(ev.role),
                port=s.port,
                where=where(s),
                service=service(s.port),
            )
        elif f.kind == "timeout":
            extra = (
                "Port 25 is the one most often blocked by ISPs and cloud providers."
                if s.port == 25
                else "Check the firewall and port forwarding for this port."
            )
            yield ctx.finding(
                "port.timeout",
                subject=subject,
                evidence=ev_text,
                severity=severity,
                only_symptoms=ROLE_SYMPTOMS.get(ev.role),
                port=s.port,
                where=where(s),
                service=service(s.port),
                timeout=f"{ctx.settings.step_timeout:g}",
                extra=extra,
                host=s.host,
            )
        else:
            yield ctx.finding(
                "port.unreachable",
                subject=subject,
                evidence=ev_text,
                severity=severity,
                only_symptoms=ROLE_SYMPTOMS.get(ev.role),
                where=where(s),
                detail=f.detail,
                host=s.host,
                ip=s.ip,
            )
    if open_ports and all(s.connect_s is not None for s in sessions):
        yield ctx.finding(
            "port.ok",
            subject=ev.host or ev.target,
            evidence=", ".join(open_ports),
            ports=", ".join(open_ports),
        )


@check(needs=("smtp.mx",), codes=CODES)
def mx_ports(ctx: CheckContext, ev: SmtpEvidence) -> Iterator[Finding | NotChecked]:
    yield from _port_findings(ctx, ev, ev.sessions)


@check(needs=("smtp.submission",), codes=CODES)
def submission_ports(ctx: CheckContext, ev: SmtpEvidence) -> Iterator[Finding | NotChecked]:
    yield from _port_findings(ctx, ev, ev.sessions)
