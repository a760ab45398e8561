"""Asynchronous DNS with one cache per run; every outcome becomes a DnsResult, never a raise."""

from __future__ import annotations

import asyncio
import time

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.net.limits import Limits
from maildoctor.settings import Settings

DNS_CONCURRENCY = 32


class DnsClient:
    """Shares one answer per (name, type) between every probe of a run."""

    def __init__(self, settings: Settings, limits: Limits) -> None:
        self._settings = settings
        self._cache: dict[tuple[str, str], asyncio.Task[DnsResult]] = {}
        self._limits = limits
        self._resolver: dns.asyncresolver.Resolver | None = None
        self._config_error = ""
        self.queries = 0  # sent to the resolver, cache hits excluded

    def _make_resolver(self) -> dns.asyncresolver.Resolver | None:
        if self._resolver is not None or self._config_error:
            return self._resolver
        s = self._settings
        try:
            if s.resolvers:
                res = dns.asyncresolver.Resolver(configure=False)
                res.nameservers = [
                    dns.nameserver.Do53Nameserver(r.address, r.port) for r in s.resolvers
                ]
            else:
                res = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            self._config_error = "no resolver configured (/etc/resolv.conf); use --resolver IP"
            return None
        # Like a stub resolver's "timeout:N attempts:M": a lost UDP answer is asked again
        # within the step instead of costing the whole step (dnspython retries until lifetime).
        res.timeout = max(0.5, s.step_timeout / 3)
        res.lifetime = s.step_timeout
        res.cache = None  # our own cache is per run and shares in-flight queries too
        self._resolver = res
        return res

    async def query(self, name: str, rdtype: str) -> DnsResult:
        key = (name.lower().rstrip("."), rdtype.upper())
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query(*key))
            self._cache[key] = task
        return await asyncio.shield(task)

    async def _query(self, name: str, rdtype: str) -> DnsResult:
        resolver = self._make_resolver()
        if resolver is None:
            return DnsResult(name, rdtype, DnsStatus.ERROR, detail=self._config_error)
        start = time.perf_counter()
        status, detail = DnsStatus.NOERROR, ""
        answer: dns.resolver.Answer | None = None
        # A resolver takes many queries at once; one socket each, under the run's global bound.
        async with self._limits.slot("dns-resolver", cap=DNS_CONCURRENCY):
            self.queries += 1
            try:
                answer = await resolver.resolve(name, rdtype, raise_on_no_answer=True)
            except dns.resolver.NXDOMAIN:
                status = DnsStatus.NXDOMAIN
            except dns.resolver.NoAnswer:
                status = DnsStatus.NODATA
            except dns.resolver.NoNameservers as exc:
                status, detail = DnsStatus.SERVFAIL, _short(exc)
            except dns.exception.Timeout:
                status, detail = DnsStatus.TIMEOUT, f"no answer within {resolver.lifetime:g} s"
            except dns.exception.DNSException as exc:
                status, detail = DnsStatus.ERROR, _short(exc)
        elapsed_ms = round((time.perf_counter() - start) * 1000, 3)
        if answer is None:
            return DnsResult(name, rdtype, status, elapsed_ms=elapsed_ms, detail=detail)
        canonical = answer.canonical_name.to_text().rstrip(".")
        return DnsResult(
            name,
            rdtype,
            status,
            records=tuple(sorted(_text(rdata) for rdata in answer)),
            canonical_name=canonical if canonical.lower() != name else None,
            ttl=answer.rrset.ttl if answer.rrset is not None else None,
            elapsed_ms=elapsed_ms,
        )


def _text(rdata: object) -> str:
    if hasattr(rdata, "strings"):  # TXT: the joined character-strings, as receivers read them
        parts: list[bytes] = list(rdata.strings)
        return b"".join(parts).decode("utf-8", errors="backslashreplace")
    return str(rdata)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
