"""The PTR probe against a tiny DNS server on loopback: real queries, bounded, never hanging."""

from __future__ import annotations

import time

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.ptr import reverse_dns
from maildoctor.evidence.dns import DnsStatus
from maildoctor.net.dns import DnsClient
from maildoctor.net.limits import Limits
from maildoctor.probes import ProbeContext
from maildoctor.probes.ptr import MAX_PTR_NAMES, probe_ptr, reverse_name
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Resolver, Settings

from .evidence_samples import host, mx
from .fake_dns import fake_dns

V6 = "2a01:4f8:1:2::25"
ZONE = {
    ("10.215.184.93.in-addr.arpa", "PTR"): ["mx1.example.com."],
    ("mx1.example.com", "A"): ["93.184.215.10"],
    ("mx1.example.com", "AAAA"): [V6],
    (reverse_name(V6), "PTR"): ["mx1.example.com."],
    ("11.215.184.93.in-addr.arpa", "PTR"): [f"n{i}.example.net." for i in range(30)],
    ("12.215.184.93.in-addr.arpa", "PTR"): ["other.example.com."],
    ("other.example.com", "A"): ["203.0.113.9"],
}


def context(port: int, **kw: object) -> ProbeContext:
    settings = Settings(resolvers=(Resolver("127.0.0.1", port),), step_timeout=1.0, **kw)  # type: ignore[arg-type]
    limits = Limits(settings.max_connections, settings.per_host)
    return ProbeContext("example.com", settings, DnsClient(settings, limits), limits)


def check(ev: object) -> list[Finding | NotChecked]:
    return list(reverse_dns(CheckContext(Settings(), catalogue.load()), ev))


async def test_probe_follows_ptr_forward_for_both_families() -> None:
    ev_mx = mx("example.com", host(10, "mx1.example.com", "93.184.215.10"))
    with fake_dns(ZONE) as port:
        ctx = context(port, sending_ips=(V6, "93.184.215.12"))
        ev = await probe_ptr(ctx, ev_mx)
    assert [lk.ip for lk in ev.lookups] == ["93.184.215.10", V6, "93.184.215.12"]
    assert ev.confirmed("93.184.215.10") == ("mx1.example.com",)
    assert ev.confirmed(V6) == ("mx1.example.com",)
    assert ev.lookups[1].names[0].forward.rdtype == "AAAA"
    assert ev.names("93.184.215.12") == ("other.example.com",)
    assert ev.confirmed("93.184.215.12") == ()
    found = check(ev)
    assert sorted(f.code for f in found if isinstance(f, Finding)) == ["ptr.mismatch", "ptr.ok"]


async def test_many_ptr_names_are_bounded() -> None:
    ev_mx = mx("example.com", host(10, "mx1.example.com", "93.184.215.11"))
    with fake_dns(ZONE) as port:
        ctx = context(port)
        ev = await probe_ptr(ctx, ev_mx)
    (lk,) = ev.lookups
    assert len(lk.names) == MAX_PTR_NAMES and len(lk.not_followed) == 30 - MAX_PTR_NAMES
    assert ctx.dns.queries == 1 + MAX_PTR_NAMES  # one PTR, then only the followed names


async def test_missing_ptr_and_silent_resolver() -> None:
    ev_mx = mx("example.com", host(10, "mx9.example.com", "93.184.215.99"))
    with fake_dns(ZONE) as port:
        ev = await probe_ptr(context(port), ev_mx)
    assert ev.lookups[0].ptr.status is DnsStatus.NXDOMAIN
    assert [f.code for f in check(ev) if isinstance(f, Finding)] == ["ptr.missing"]
    with fake_dns({}, silent=True) as port:
        start = time.monotonic()
        ev = await probe_ptr(context(port), ev_mx)
        elapsed = time.monotonic() - start
    assert ev.lookups[0].ptr.status is DnsStatus.TIMEOUT
    (item,) = check(ev)
    assert isinstance(item, NotChecked)  # a timeout is never "missing"
    assert elapsed < 3
