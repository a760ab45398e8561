"""TLS-RPT rules (RFC 8460): is there one valid _smtp._tls record with a usable rua?"""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.mta_sts import TlsRptEvidence
from maildoctor.records.tlsrpt import discover
from maildoctor.report import Finding, NotChecked

CODES = ("tlsrpt.ok", "tlsrpt.missing", "tlsrpt.invalid")


@check(needs=("dns.tlsrpt",), codes=CODES)
def tlsrpt(ctx: CheckContext, ev: TlsRptEvidence) -> Iterator[Finding | NotChecked]:
    domain, txt = ev.domain, ev.txt
    if ev.mx_status is DnsStatus.NXDOMAIN:
        yield NotChecked("tlsrpt", f"{domain} does not exist (NXDOMAIN)")
        return
    if txt.status in (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR):
        yield NotChecked("tlsrpt", txt.describe())
        return
    disc = discover(txt.records if txt.status is DnsStatus.NOERROR else ())
    subject = f"_smtp._tls.{domain}"
    if not disc.records and not ev.mx_hosts:
        # TLS-RPT reports on delivery to the MX hosts: no MX (or a null MX), nothing to report
        yield NotChecked("tlsrpt", f"{domain} has no MX host (MX: {ev.mx_status.value})")
        return
    if not disc.records:
        yield ctx.finding(
            "tlsrpt.missing",
            subject=subject,
            evidence=txt.describe(),
            domain=domain,
            status=txt.status.value,
        )
        return
    problems = [*disc.problems, *(disc.record.problems if disc.record else ())]
    if problems:
        usable = disc.record.rua if disc.record else ()
        rua = ",".join(usable) or f"mailto:tlsrpt@{domain}"
        yield ctx.finding(
            "tlsrpt.invalid",
            subject=subject,
            evidence="; ".join(f'"{r}"' for r in disc.records)[:1000],
            domain=domain,
            problems="; ".join(problems),
            record=f"v=TLSRPTv1; rua={rua}",
        )
        return
    assert disc.record is not None
    yield ctx.finding(
        "tlsrpt.ok",
        subject=subject,
        evidence=f'"{disc.record.text}"',
        rua=", ".join(disc.record.rua),
    )
