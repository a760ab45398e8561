"""Webmail probe: load the login page as a browser would (for `diagnose --symptom webmail-login`).

Not registered with @probe: `check` takes a domain, not a webmail URL, so it never plans this.
diagnose merges `webmail_probes(url)` into its plan; checks/webmail.py reads "webmail.page".

Every step is bounded: names resolved through the run's DNS (ctx.dns, never the system
resolver), each request under settings.step_timeout (net/https.py), bodies cut at 1 MiB, at
most MAX_REDIRECTS redirects (http/https only), one overall budget. Private and loopback
addresses only with settings.allow_private (net/https.py refuses them otherwise). The TLS
handshake completes whatever the certificate (a browser shows its warning; the page behind it
is still evidence) and the chain is judged apart by net/certs.py, as for the mail ports.
Nothing is posted: no login is tried, no password is needed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from functools import partial
from urllib.parse import urljoin

from maildoctor.addresses import parse_ip
from maildoctor.evidence.dns import DnsStatus
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.evidence.webmail import CookieSeen, PageScan, WebmailEvidence, WebmailHop
from maildoctor.net import certs, https
from maildoctor.probes import ProbeContext, ProbeSpec
from maildoctor.records.webmail import join_url, parse_set_cookie, scan_page, split_url

EVIDENCE_KEY = "webmail.page"
MAX_REDIRECTS = 5
MAX_BYTES = 1024 * 1024  # a login page is a few KiB; Roundcube's is ~10 KiB
MAX_COOKIES = 50
BODY_KEPT = 1024  # characters of the final body kept as evidence (the rest was scanned)


async def addresses(ctx: ProbeContext, host: str) -> tuple[tuple[str, ...], str]:
    """The host's addresses from the run's DNS, or why there are none."""
    if parse_ip(host) is not None:
        return (host,), ""
    a, aaaa = await asyncio.gather(ctx.dns.query(host, "A"), ctx.dns.query(host, "AAAA"))
    found = tuple(r for res in (a, aaaa) if res.status is DnsStatus.NOERROR for r in res.records)
    if found:
        return found, ""
    why = f"{host} has no address (A: {a.status.value}, AAAA: {aaaa.status.value})"
    if {a.status, aaaa.status} - {DnsStatus.NOERROR, DnsStatus.NODATA, DnsStatus.NXDOMAIN}:
        why += " - DNS failed"
    return (), why


async def _get(
    ctx: ProbeContext, scheme: str, host: str, port: int, path: str, budget: float
) -> tuple[HttpFetch, WebmailHop]:
    found, why = await addresses(ctx, host)
    if not found:
        url = join_url(scheme, host, port, path)
        got = HttpFetch(url, "GET", host, "", port, FetchError.NO_ADDRESS, why)
        return got, WebmailHop(got, None, scheme)
    got, info = await https.fetch_ex(
        host,
        path,
        found,
        settings=ctx.settings,
        limits=ctx.limits,
        port=port,
        scheme=scheme,
        verify=False,
        host_port=True,
        max_bytes=MAX_BYTES,
        total_timeout=max(0.1, min(2 * ctx.settings.step_timeout, budget)),
    )
    tls = certs.judge(info, host, ctx.settings.ca_file) if info is not None else None
    return got, WebmailHop(_kept(got), tls, scheme)


def _kept(got: HttpFetch) -> HttpFetch:
    """What goes into the report: the body cut short, cookie values (session ids) masked."""
    headers = tuple(
        (name, _mask_cookie(value) if name == "set-cookie" else value)
        for name, value in got.headers
    )
    return replace(got, body=got.body[:BODY_KEPT], headers=headers)


def _mask_cookie(value: str) -> str:
    parsed = parse_set_cookie(value)
    return parsed.raw if parsed is not None else f"<ignored by browsers, {len(value)} chars>"


def _cookies(got: HttpFetch, scheme: str) -> list[CookieSeen]:
    out = []
    for name, value in got.headers:
        if name == "set-cookie":
            parsed = parse_set_cookie(value)
            if parsed is not None:
                out.append(CookieSeen(parsed, got.url, got.host, scheme == "https"))
    return out


async def probe_webmail(ctx: ProbeContext, url: str) -> WebmailEvidence:
    start = split_url(url)
    if start is None:
        return WebmailEvidence(url, error=f"not an http:// or https:// URL with a host: {url!r}")
    scheme, host, port, path = start
    step = ctx.settings.step_timeout

    plain_task: asyncio.Task[tuple[HttpFetch, WebmailHop]] | None = None
    if scheme == "https":
        # What a user typing the bare name gets: does http:// send them to https://?
        plain_task = asyncio.create_task(_get(ctx, "http", host, 80, path, 2 * step))
    try:
        return await _follow(ctx, url, (scheme, host, port, path), plain_task)
    finally:
        if plain_task is not None and not plain_task.done():
            plain_task.cancel()


async def _follow(
    ctx: ProbeContext,
    url: str,
    start: tuple[str, str, int, str],
    plain_task: asyncio.Task[tuple[HttpFetch, WebmailHop]] | None,
) -> WebmailEvidence:
    """GET the URL and follow its redirects (and a meta refresh), bounded."""
    scheme, host, port, path = start
    step = ctx.settings.step_timeout
    deadline = time.monotonic() + (MAX_REDIRECTS + 3) * step
    hops: list[WebmailHop] = []
    cookies: list[CookieSeen] = []
    page: PageScan | None = None
    problem = ""
    seen = {join_url(scheme, host, port, path)}
    for n in range(MAX_REDIRECTS + 1):
        got, hop = await _get(ctx, scheme, host, port, path, deadline - time.monotonic())
        hops.append(hop)
        cookies.extend(_cookies(got, scheme))
        status = got.status or 0
        here = join_url(scheme, host, port, path)
        target = ""
        if got.ok and 300 <= status < 400 and got.location:
            target = got.location
        elif got.ok and status == 200:
            # in a thread: a hostile page costs up to PARSE_BUDGET_S, not the event loop's time
            page = await asyncio.to_thread(scan_page, got.body, here)
            if not page.has_login_form and page.meta_refresh:
                target = page.meta_refresh  # a landing page sending the browser on
        if not target:
            break
        nxt = split_url(https_join(here, target))
        if nxt is None:
            problem = f"{here} redirects to {target[:200]!r}, not an http(s) URL"
            break
        if n == MAX_REDIRECTS:
            problem = f"more than {MAX_REDIRECTS} redirects (the last to {target[:200]})"
            break
        key = join_url(*nxt)
        if key in seen:
            problem = f"redirect loop: {here} leads back to {key}"
            break
        seen.add(key)
        if time.monotonic() >= deadline:
            problem = f"the redirects took longer than {(MAX_REDIRECTS + 3) * step:g} s"
            break
        page = None
        scheme, host, port, path = nxt

    plain: HttpFetch | None = None
    if plain_task is not None:
        plain_got, _ = await plain_task
        plain = _kept(plain_got)
    return WebmailEvidence(
        url=url,
        hops=tuple(hops),
        redirect_problem=problem,
        plain=plain,
        cookies=tuple(cookies[:MAX_COOKIES]),
        page=page,
    )


def https_join(base: str, ref: str) -> str:
    """A Location resolved against the URL it came from (RFC 9110 10.2.2: may be relative)."""
    try:
        return urljoin(base, ref.strip())
    except ValueError:
        return ref


def webmail_probes(url: str) -> dict[str, ProbeSpec]:
    """The probe plan diagnose merges in: {"webmail.page": spec} for the given URL."""
    return {EVIDENCE_KEY: ProbeSpec(EVIDENCE_KEY, (), partial(probe_webmail, url=url))}
