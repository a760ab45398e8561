"""Client autoconfiguration rules: what a mail client finds when a user adds an account.

RFC 6186 SRV records (with RFC 8314 5.1's implicit-TLS names), Thunderbird autoconfig and
Outlook autodiscover. Missing autoconfiguration is not a fault of the mail server, but it is
where many "the password is wrong" reports start: the client guessed the settings.
"""

from __future__ import annotations

from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.autoconfig import (
    SRV_SERVICES,
    AutoconfigEvidence,
    SrvTarget,
    WebEndpoint,
    parse_srv,
)
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.http import FetchError
from maildoctor.records.autoconfig import ClientConfig, parse_autodiscover, parse_thunderbird
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "autoconfig.ok",
    "autoconfig.missing",
    "autoconfig.insecure",
    "autoconfig.endpoint_broken",
    "autoconfig.srv_target_unresolvable",
)
_UNDECIDED = (DnsStatus.TIMEOUT, DnsStatus.SERVFAIL, DnsStatus.ERROR)
_SERIOUS = (FetchError.CERT, FetchError.TLS, FetchError.TIMEOUT)
_TLS_PORT = {"submission": 465, "imap": 993, "pop3": 995}
_DOC_PROTO = {"smtp": "submission", "imap": "imap", "pop3": "pop3"}


def _srv_targets(ev: AutoconfigEvidence) -> dict[str, list[SrvTarget]]:
    """label -> the SRV targets that offer the service (RFC 2782: "." offers nothing)."""
    out: dict[str, list[SrvTarget]] = {}
    for (label, *_), res in zip(SRV_SERVICES, ev.srv, strict=False):
        if res.status is DnsStatus.NOERROR:
            targets = [t for t in (parse_srv(r) for r in res.records) if t and t.target]
            if targets:
                out[label] = sorted(targets, key=lambda t: (t.priority, -t.weight))
    return out


def _document(ep: WebEndpoint) -> ClientConfig | None:
    final = ep.final
    if final is None or not final.ok or final.status != 200:
        return None
    if ep.kind == "autoconfig":
        return parse_thunderbird(final.body)
    return parse_autodiscover(final.body)


def _broken(ep: WebEndpoint, doc: ClientConfig | None) -> tuple[str, Severity] | None:
    """Why a named endpoint fails a client, with how much it matters; None if it works."""
    final = ep.final
    if final is None:
        return None
    if final.error is FetchError.PRIVATE:
        return final.detail, Severity.INFO
    if final.error is not FetchError.NONE:
        what = "certificate not valid" if final.error is FetchError.CERT else final.error.value
        severity = Severity.WARNING if final.error in _SERIOUS else Severity.INFO
        return f"{what}: {final.detail}", severity
    status = final.status or 0
    if ep.kind != "autoconfig" and status in (401, 403):
        return None  # an Exchange-style endpoint: Outlook logs in to it
    if status != 200:
        if 300 <= status < 400:
            return (
                f"HTTP {status} redirect to {final.location or '?'} (not followed)",
                Severity.INFO,
            )
        return f"HTTP {status} {final.reason}".rstrip(), Severity.INFO
    if doc is not None and not doc.valid:
        return "; ".join(doc.problems) or "no server settings in it", Severity.INFO
    return None


def _dead_targets(
    ctx: CheckContext, ev: AutoconfigEvidence, srv: dict[str, list[SrvTarget]]
) -> Iterator[Finding]:
    """SRV targets whose name has no address (NXDOMAIN/NODATA; a DNS failure decides nothing)."""
    host = _client_host(ev)
    for lookup in ev.targets:
        if lookup.addresses or lookup.status not in ("NXDOMAIN", "NODATA"):
            continue
        uses = [(label, t) for label, ts in srv.items() for t in ts if t.target == lookup.name]
        fixed = [
            f"{label}.{ev.domain}.  3600  IN  SRV  {t.priority} {t.weight} {t.port} {host}."
            for label, t in uses
        ]
        yield ctx.finding(
            "autoconfig.srv_target_unresolvable",
            subject=lookup.name,
            evidence=f"{lookup.a.describe()}; {lookup.aaaa.describe()}",
            records=", ".join(label for label, _ in uses) or "an SRV record",
            target=lookup.name,
            status=lookup.status,
            fixed="\n  ".join(fixed)
            if host != lookup.name
            else f"{lookup.name}.  IN  A  <address>",
        )


def _client_host(ev: AutoconfigEvidence) -> str:
    for lookup in ev.hosts:
        if lookup.addresses:
            return lookup.name
    return ev.mx_hosts[0] if ev.mx_hosts else f"mail.{ev.domain}"


@check(needs=("dns.autoconfig",), codes=CODES)
def autoconfig(ctx: CheckContext, ev: AutoconfigEvidence) -> Iterator[Finding | NotChecked]:
    domain = ev.domain
    if ev.mx_status is DnsStatus.NXDOMAIN:
        yield NotChecked("autoconfig", f"{domain} does not exist (NXDOMAIN)")
        return
    if all(r.status in _UNDECIDED for r in ev.srv):
        yield NotChecked("autoconfig", "; ".join(r.describe() for r in ev.srv[:2]))
        return
    srv = _srv_targets(ev)
    found: list[str] = []
    for label, *_ in SRV_SERVICES:
        for t in srv.get(label, ())[:3]:
            found.append(f"SRV {label} -> {t.target}:{t.port}")
    plain: list[str] = []
    records: list[str] = []
    for proto, tls_port in _TLS_PORT.items():
        tls_label = next(lb for lb, p, tls, _ in SRV_SERVICES if p == proto and tls)
        plain_label = next(lb for lb, p, tls, _ in SRV_SERVICES if p == proto and not tls)
        if plain_label in srv and tls_label not in srv:
            t = srv[plain_label][0]
            plain.append(f"{plain_label} ({t.target}:{t.port})")
            records.append(f"{tls_label}.{domain}.  3600  IN  SRV  0 1 {tls_port} {t.target}.")

    dead = list(_dead_targets(ctx, ev, srv))
    yield from dead
    for ep in ev.endpoints:
        final = ep.final
        if final is None:
            continue
        doc = _document(ep)
        broken = _broken(ep, doc)
        if broken is not None:
            reason, severity = broken
            yield ctx.finding(
                "autoconfig.endpoint_broken",
                subject=final.url,
                evidence="\n".join(f.describe() for f in ep.fetches),
                severity=severity,
                url=ep.fetches[0].url,
                kind=ep.kind,
                reason=reason,
                host=ep.lookup.name,
            )
            continue
        if doc is None:
            found.append(f"{ep.kind} {final.url} (HTTP {final.status}: asks for the login)")
            continue
        found.append(f"{ep.kind} {final.url}: " + ", ".join(s.describe() for s in doc.servers))
        for proto, tls_port in _TLS_PORT.items():
            offered = [s for s in doc.servers if _DOC_PROTO.get(s.protocol) == proto]
            if offered and all(s.security == "plain" for s in offered):
                s = offered[0]
                plain.append(f"{s.protocol} {s.host}:{s.port} without TLS in {ep.kind}")
                socket = "SSL"
                records.append(
                    f"{ep.kind} {final.url}: {s.protocol} {s.host} port {tls_port}, "
                    f"socketType {socket}"
                )

    if not found and not ev.mx_hosts:
        # no MX (or a null MX) and nothing published: the domain has no mailboxes to set up
        yield NotChecked("autoconfig", f"{domain} has no MX host (MX: {ev.mx_status.value})")
        return
    if not found:
        status = "/".join(sorted({r.status.value for r in ev.srv}))
        yield ctx.finding(
            "autoconfig.missing",
            subject=domain,
            evidence="; ".join(r.describe() for r in (*ev.srv, ev.autodiscover_srv))
            + "; "
            + "; ".join(
                f"{ep.lookup.name}: {ep.lookup.status}" for ep in ev.endpoints if not ep.fetches
            ),
            domain=domain,
            status=status,
            host=_client_host(ev),
        )
        return
    if plain:
        yield ctx.finding(
            "autoconfig.insecure",
            subject=domain,
            evidence="; ".join(found),
            plain=", ".join(plain),
            records="\n  ".join(records),
        )
        return
    if dead:
        return
    yield ctx.finding(
        "autoconfig.ok",
        subject=domain,
        evidence="\n".join(found),
        found="; ".join(found),
        domain=domain,
    )
