"""What the server probes (SMTP, IMAP, POP3) share: the per-run session cache, the
client-facing host, the greeting wait, the TLS judgement and the extra legacy-TLS handshake.

Registers no probe itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from maildoctor.addresses import parse_ip, unreachable_kind
from maildoctor.evidence.dns import DnsStatus, MxEvidence
from maildoctor.evidence.server import StepFailure
from maildoctor.evidence.tls import TlsResult
from maildoctor.net import certs
from maildoctor.net.stream import NetError, Stream, TlsError, connect
from maildoctor.probes import ProbeContext

T = TypeVar("T")

# RFC 5321 4.5.3.2.1 lets a client wait 5 minutes for the greeting, and Postfix's postscreen
# holds it back 6 s by default: the greeting wait is longer than one step, bounded at 10 s
# (or the step timeout if that is longer), so a slow greeting is measured and named instead
# of being taken for a dead server, and a silent one costs at most those 10 s, in parallel.
GREETING_WAIT_MIN = 10.0
SLOW_GREETING_S = 3.0  # clients and sending MTAs start giving up around here


def greeting_wait(ctx: ProbeContext) -> float:
    return max(ctx.settings.step_timeout, GREETING_WAIT_MIN)


async def once(
    ctx: ProbeContext, key: tuple[Any, ...], make: Callable[[], Coroutine[Any, Any, T]]
) -> T:
    """Run `make()` once per `key` in this run; later callers share the answer.

    Several names often share one server: each IP:port is talked to once per run.
    """
    task = ctx.memo.get(key)
    if task is None:
        task = asyncio.ensure_future(make())
        ctx.memo[key] = task
    result: T = await asyncio.shield(task)
    return result


def failure(step: str, exc: NetError) -> StepFailure:
    return StepFailure(step=step, kind=exc.kind, detail=exc.detail, elapsed_s=round(exc.elapsed, 3))


def tls_failed(host: str, exc: TlsError) -> TlsResult:
    return TlsResult(host=host, ok=False, error=exc.detail)


def rename_tls(tls: TlsResult | None, host: str) -> TlsResult | None:
    """The same server reached under another name: judge the certificate against that name."""
    if tls is None or tls.host == host:
        return tls
    from dataclasses import replace

    leaf = tls.leaf
    matches = certs.name_matches(host, leaf.names) if leaf is not None else None
    return replace(tls, host=host, name_matches=matches)


async def legacy_tls(
    ctx: ProbeContext,
    ip: str,
    port: int,
    host: str,
    prelude: Callable[[Stream], Awaitable[bool]] | None = None,
    *,
    software: str,
) -> tuple[str, str]:
    """One more handshake offering only TLS 1.0/1.1: (accepted version or "", detail).

    Done once per server address and `software` ("smtp": 25/587/465 share the MTA's TLS
    settings; "mailbox": 993/995 share Dovecot's), on the first port that gets there: one
    extra connection per server instead of one per port. `prelude` brings a new connection
    to the point of the handshake (greeting, EHLO, STARTTLS); it returns False when it could
    not. OpenSSL 3 on Debian needs SECLEVEL=0 to offer these versions at all.
    """
    return await once(
        ctx, ("legacy-tls", software, ip), lambda: _legacy_tls(ctx, ip, port, host, prelude)
    )


async def _legacy_tls(
    ctx: ProbeContext,
    ip: str,
    port: int,
    host: str,
    prelude: Callable[[Stream], Awaitable[bool]] | None,
) -> tuple[str, str]:
    timeout = ctx.settings.step_timeout
    try:
        async with connect(ctx.limits, ip, port, timeout=timeout) as stream:
            if prelude is not None and not await prelude(stream):
                return "", "the server did not get to the TLS handshake a second time"
            info = await stream.start_tls(host, timeout, legacy=True)
            return info.version, (
                f"port {port} accepted a handshake limited to TLS 1.0/1.1: {info.version}"
            )
    except TlsError as exc:
        return "", f"port {port} refused TLS 1.0/1.1 ({exc.detail})"
    except NetError as exc:
        return "", f"second connection to port {port} failed: {exc.detail}"


def reachable(
    ctx: ProbeContext, addresses: Iterable[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Split addresses into those to connect to and those skipped (private, loopback...).

    Without --allow-private, an address no one on the internet could reach is not connected
    to: a public name pointing there is reported by the DNS checks, and a probe must never be
    a way into the network it runs in.
    """
    keep: list[str] = []
    skipped: list[tuple[str, str]] = []
    for addr in addresses:
        kind = unreachable_kind(addr)
        if kind and not ctx.settings.allow_private:
            skipped.append((addr, f"a {kind} address, not connected to (use --allow-private)"))
        elif addr not in keep:
            keep.append(addr)
    return keep, skipped


@dataclass(frozen=True)
class ClientHost:
    """The host a mail client is configured with, and how it was found."""

    name: str
    source: str
    addresses: tuple[str, ...]
    port: int | None = None  # the SRV's port, when it names one


async def _addresses(ctx: ProbeContext, name: str) -> tuple[str, ...]:
    a, aaaa = await asyncio.gather(ctx.dns.query(name, "A"), ctx.dns.query(name, "AAAA"))
    return tuple(r for res in (a, aaaa) if res.status is DnsStatus.NOERROR for r in res.records)


async def client_host(
    ctx: ProbeContext, mx: MxEvidence, srv_labels: tuple[str, ...], names: tuple[str, ...]
) -> ClientHost | None:
    """`--host` when given (settings.host, once the CLI has it), else RFC 6186 SRV if
    published, else the first of `names` under the domain that resolves, else the first MX
    with an address."""
    domain = ctx.target
    named = ctx.settings.host
    if isinstance(named, str) and named:
        ip = parse_ip(named)
        addrs = (str(ip),) if ip is not None else await _addresses(ctx, named)
        return ClientHost(named, "named with --host", addrs) if addrs else None
    answers = await asyncio.gather(
        *(ctx.dns.query(f"{label}.{domain}", "SRV") for label in srv_labels)
    )
    for label, res in zip(srv_labels, answers, strict=True):
        if res.status is not DnsStatus.NOERROR:
            continue
        best: tuple[int, int, str] | None = None
        for rec in res.records:
            parts = rec.split()
            if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
                continue
            target = parts[3].rstrip(".").lower()
            if target == "":  # RFC 6186 4: "." means the service is not offered
                continue
            cand = (int(parts[0]), int(parts[2]), target)
            if best is None or cand[0] < best[0]:
                best = cand
        if best is not None:
            addrs = await _addresses(ctx, best[2])
            if addrs:
                return ClientHost(best[2], f"SRV {label}.{domain}", addrs, best[1])
    found = await asyncio.gather(*(_addresses(ctx, f"{n}.{domain}") for n in names))
    for n, addrs in zip(names, found, strict=True):
        if addrs:
            return ClientHost(f"{n}.{domain}", f"{n}.{domain} exists (no SRV record)", addrs)
    for h in mx.hosts:
        if h.addresses:
            return ClientHost(h.target, "the MX (no SRV record, no mail./smtp. name)", h.addresses)
    return None
