"""Webmail login rules: what stops a browser from showing the login page or keeping the session.

Fed by probes/webmail.py (evidence "webmail.page"), which no registered probe produces: only
`diagnose --symptom webmail-login` plans it, with the URL the user gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from maildoctor.checks import CheckContext, check
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.evidence.webmail import CookieSeen, WebmailEvidence
from maildoctor.records.webmail import is_session_cookie, rejections
from maildoctor.report import Finding, NotChecked, Severity

CODES = (
    "webmail.ok",
    "webmail.unreachable",
    "webmail.cert_invalid",
    "webmail.redirect_loop",
    "webmail.server_error",
    "webmail.http_error",
    "webmail.no_login_form",
    "webmail.login_over_http",
    "webmail.no_https_redirect",
    "webmail.cookie_rejected",
    "webmail.cookie_not_secure",
    "webmail.cookie_not_httponly",
    "webmail.mixed_content",
    "webmail.mixed_content_passive",
    "webmail.hsts_missing",
)
MAX_REFS_SHOWN = 5


def _hsts(fetch: HttpFetch) -> str:
    """Why the Strict-Transport-Security header does not protect, "" when it does."""
    value = fetch.header("strict-transport-security")
    if value is None:
        return ""  # absent: reported with no detail
    # RFC 6797 6.1.1: max-age is required; 0 tells the browser to forget the host
    m = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.I)
    if m is None:
        return f" (the header {value[:80]!r} has no max-age)"
    if int(m.group(1)) == 0:
        return " (max-age=0 switches HSTS off)"
    return "ok"


def _refs(refs: list[str]) -> str:
    shown = ", ".join(refs[:MAX_REFS_SHOWN])
    return shown + (f" and {len(refs) - MAX_REFS_SHOWN} more" if len(refs) > MAX_REFS_SHOWN else "")


def _cookie_findings(ctx: CheckContext, cookies: tuple[CookieSeen, ...]) -> Iterator[Finding]:
    done: set[tuple[str, str]] = set()
    for seen in cookies:
        c = seen.cookie
        if c.expired:
            continue  # a deletion (Roundcube clears roundcube_sessauth this way)
        evidence = f"Set-Cookie: {c.raw} (from {seen.url})"
        why = rejections(c, seen.host, seen.https)
        if why and ("rejected", c.name) not in done:
            done.add(("rejected", c.name))
            yield ctx.finding(
                "webmail.cookie_rejected",
                subject=c.name,
                evidence=evidence,
                name=c.name,
                url=seen.url,
                reasons="; ".join(why),
                host=seen.host,
            )
        if not is_session_cookie(c.name):
            continue
        if seen.https and not c.secure and not why and ("secure", c.name) not in done:
            done.add(("secure", c.name))
            yield ctx.finding(
                "webmail.cookie_not_secure",
                subject=c.name,
                evidence=evidence,
                name=c.name,
                url=seen.url,
            )
        if not c.httponly and ("httponly", c.name) not in done:
            done.add(("httponly", c.name))
            yield ctx.finding(
                "webmail.cookie_not_httponly",
                subject=c.name,
                evidence=evidence,
                name=c.name,
                url=seen.url,
            )


def _plain_finding(ctx: CheckContext, plain: HttpFetch) -> Iterator[Finding]:
    if not plain.ok:
        return  # nothing on port 80: a typed name fails, but no password goes in clear
    status = plain.status or 0
    location = plain.location or ""
    if 200 <= status < 300:
        what = f"it answers HTTP {status} with a page of its own instead of redirecting"
    elif 300 <= status < 400 and not location.lower().startswith("https://"):
        what = f"it redirects to {location[:200] or '(no Location)'}, not to an https:// URL"
    else:
        return
    yield ctx.finding(
        "webmail.no_https_redirect",
        subject=plain.host,
        evidence=plain.describe(),
        host=plain.host,
        what=what,
    )


def _chain(ev: WebmailEvidence) -> str:
    return " | ".join(h.fetch.describe() for h in ev.hops)


@check(needs=("webmail.page",), codes=CODES)
def webmail_login(ctx: CheckContext, ev: WebmailEvidence) -> Iterator[Finding | NotChecked]:
    if ev.error:
        yield NotChecked("webmail", ev.error)
        return
    final = ev.final
    if final is None:
        yield NotChecked("webmail", f"{ev.url}: nothing was fetched")
        return
    found: list[Finding] = []

    def emit(f: Finding) -> Finding:
        found.append(f)
        return f

    judged: set[str] = set()
    for hop in ev.hops:
        host = hop.fetch.host
        if hop.tls is None or host in judged:
            continue
        judged.add(host)
        problem = hop.tls.refusal()
        if problem:
            leaf = hop.tls.leaf
            shown = (
                f"{hop.fetch.url}: certificate {leaf.subject}, issuer {leaf.issuer}, "
                f"names {', '.join(leaf.names[:5])}, valid {leaf.not_before:%Y-%m-%d} to "
                f"{leaf.not_after:%Y-%m-%d}"
                if leaf
                else hop.fetch.url
            )
            yield emit(
                ctx.finding(
                    "webmail.cert_invalid",
                    subject=host,
                    evidence=shown,
                    host=host,
                    problem=problem,
                )
            )

    fetch = final.fetch
    if fetch.error is FetchError.PRIVATE:
        yield NotChecked("webmail", f"{fetch.detail} (--allow-private to test it)")
        return
    if fetch.error is not FetchError.NONE:
        plain = f" | {ev.plain.describe()}" if ev.plain is not None else ""
        yield ctx.finding(
            "webmail.unreachable",
            subject=fetch.host,
            evidence=_chain(ev) + plain,
            url=fetch.url,
            host=fetch.host,
            reason=f"{fetch.error.value}: {fetch.detail}",
        )
        return
    status = fetch.status or 0
    if ev.redirect_problem:
        yield emit(
            ctx.finding(
                "webmail.redirect_loop",
                subject=fetch.host,
                evidence=_chain(ev),
                url=ev.url,
                host=fetch.host,
                problem=ev.redirect_problem,
            )
        )
    elif status >= 500:
        yield emit(
            ctx.finding(
                "webmail.server_error",
                subject=fetch.host,
                evidence=_chain(ev),
                url=fetch.url,
                status=status,
                reason=fetch.reason,
            )
        )
    elif status >= 300:
        yield emit(
            ctx.finding(
                "webmail.http_error",
                subject=fetch.host,
                evidence=_chain(ev),
                url=fetch.url,
                host=fetch.host,
                status=status,
                reason=fetch.reason or ("redirect without a Location" if status < 400 else ""),
            )
        )
    else:
        yield from map(emit, _page_findings(ctx, ev))

    yield from map(emit, _cookie_findings(ctx, ev.cookies))
    if ev.plain is not None:
        yield from map(emit, _plain_finding(ctx, ev.plain))
    if not any(f.severity >= Severity.WARNING for f in found):
        yield ctx.finding("webmail.ok", subject=fetch.host, evidence=_chain(ev), url=fetch.url)


def _page_findings(ctx: CheckContext, ev: WebmailEvidence) -> Iterator[Finding]:
    final = ev.final
    assert final is not None
    fetch = final.fetch
    page = ev.page
    if final.scheme == "http":
        yield ctx.finding(
            "webmail.login_over_http",
            subject=fetch.host,
            evidence=_chain(ev),
            url=fetch.url,
            host=fetch.host,
        )
    if page is None or not page.has_login_form:
        forms = f"{page.forms} form(s), no password field" if page else "no HTML read"
        yield ctx.finding(
            "webmail.no_login_form",
            subject=fetch.host,
            evidence=f"{fetch.describe()}: {forms}",
            url=fetch.url,
            host=fetch.host,
            title=repr(page.title) if page and page.title else "none",
        )
    if final.scheme == "https" and page is not None:
        active = [f"<{r.tag} {r.attr}={r.url}>" for r in page.insecure_refs if r.active]
        passive = [f"<{r.tag} {r.attr}={r.url}>" for r in page.insecure_refs if not r.active]
        if active:
            yield ctx.finding(
                "webmail.mixed_content",
                subject=fetch.host,
                evidence=f"{fetch.url}: {_refs(active)}",
                url=fetch.url,
                refs=_refs(active),
            )
        if passive:
            yield ctx.finding(
                "webmail.mixed_content_passive",
                subject=fetch.host,
                evidence=f"{fetch.url}: {_refs(passive)}",
                url=fetch.url,
                refs=_refs(passive),
            )
    if final.scheme == "https":
        hsts = _hsts(fetch)
        if hsts != "ok":
            value = fetch.header("strict-transport-security")
            yield ctx.finding(
                "webmail.hsts_missing",
                subject=fetch.host,
                evidence=f"{fetch.url}: Strict-Transport-Security: {value or '(absent)'}",
                host=fetch.host,
                detail=hsts,
            )
