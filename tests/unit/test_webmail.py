"""Webmail login checks: the Set-Cookie parser, the HTML scanner, the rules on hand-built
evidence, and the probe against small HTTP(S) servers on loopback (no DNS: IP-literal URLs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.webmail import CODES, webmail_login
from maildoctor.engine import runnable_checks
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.evidence.tls import CertInfo, TlsResult
from maildoctor.evidence.webmail import (
    CookieSeen,
    PageRef,
    PageScan,
    WebmailEvidence,
    WebmailHop,
)
from maildoctor.probes import all_probes
from maildoctor.probes.runner import Runner
from maildoctor.probes.webmail import (
    BODY_KEPT,
    EVIDENCE_KEY,
    MAX_COOKIES,
    MAX_REDIRECTS,
    probe_webmail,
    webmail_probes,
)
from maildoctor.records.webmail import (
    MAX_REFS,
    domain_matches,
    is_session_cookie,
    parse_set_cookie,
    rejections,
    scan_page,
    split_url,
)
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Settings

HOST = "webmail.example.com"
URL = f"https://{HOST}/"
NOW = datetime(2026, 11, 28, tzinfo=UTC)

# ---------------------------------------------------------------- Set-Cookie


def test_cookie_with_every_attribute() -> None:
    c = parse_set_cookie(
        "roundcube_sessid=abc123; Path=/; Secure; HttpOnly; SameSite=Lax; Domain=.Example.COM"
    )
    assert c is not None
    assert (c.name, c.value_len, c.path, c.domain, c.samesite) == (
        "roundcube_sessid",
        6,
        "/",
        "example.com",
        "lax",
    )
    assert c.secure and c.httponly and not c.expired
    assert "abc123" not in c.raw  # a live session id never lands in a report
    assert c.raw.startswith("roundcube_sessid=<6 chars>;")


def test_cookie_attributes_are_case_insensitive_and_spaced() -> None:
    c = parse_set_cookie("PHPSESSID = x ;  secure ;HTTPONLY;samesite = None ; PATH=/mail")
    assert c is not None
    assert c.name == "PHPSESSID" and c.secure and c.httponly
    assert c.samesite == "none" and c.path == "/mail"


@pytest.mark.parametrize("header", ["novalue", "=value", "  =x; Secure", "", ";;;", " ; a=b"])
def test_cookies_browsers_ignore_are_none(header: str) -> None:
    assert parse_set_cookie(header) is None


@pytest.mark.parametrize(
    ("header", "expired"),
    [
        ("a=-del-; expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/", True),
        ("a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT", True),
        ("a=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT", False),
        ("a=1; Max-Age=0", True),
        ("a=1; Max-Age=-5", True),
        ("a=1; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:00 GMT", False),  # Max-Age wins
        ("a=1; Max-Age=soon", False),
        ("a=1; Expires=garbage", False),
        ("a=1; Expires=1969", True),
    ],
)
def test_cookie_expiry(header: str, expired: bool) -> None:
    c = parse_set_cookie(header, now=NOW)
    assert c is not None and c.expired is expired


@pytest.mark.parametrize(
    "header",
    [
        "a=" + "x" * 100_000,
        "a=1" + "; Secure" * 10_000,
        "a=1; " + "=" * 5000,
        "a=1; Domain=\x00\x01; Path=\udcff; SameSite=\u202e",
        "a=1; Expires=Thu, 99-Foo-99999999999999999999 99:99:99 GMT",
        "a=1; Max-Age=99999999999999999999999999",
        "\x00=\x00",
        'a="quoted; value"; Secure',
    ],
)
def test_hostile_cookie_headers_never_raise(header: str) -> None:
    c = parse_set_cookie(header, now=NOW)
    assert c is None or (len(c.raw) <= 300 and len(c.name) <= 100)


def test_many_attributes_are_bounded() -> None:
    c = parse_set_cookie("a=1" + "; x=y" * 40 + "; Secure")
    assert c is not None and not c.secure  # past MAX_ATTRIBUTES, not read


def test_session_cookie_names() -> None:
    for name in ("roundcube_sessid", "roundcube_sessauth", "PHPSESSID", "ZM_AUTH_TOKEN", "sid"):
        assert is_session_cookie(name), name
    for name in ("roundcube_cookies", "lang", "timezone", "sidebar_state"):
        assert not is_session_cookie(name), name


@pytest.mark.parametrize(
    ("host", "domain", "ok"),
    [
        ("webmail.example.com", "example.com", True),
        ("webmail.example.com", "webmail.example.com", True),
        ("webmail.example.com", "ample.com", False),
        ("webmail.example.com", "other.example.com", False),
        ("example.com", "webmail.example.com", False),
        ("192.0.2.1", "0.2.1", False),
        ("192.0.2.1", "192.0.2.1", True),
    ],
)
def test_domain_match(host: str, domain: str, ok: bool) -> None:
    assert domain_matches(host, domain) is ok


def _cookie(header: str):  # type: ignore[no-untyped-def]
    c = parse_set_cookie(header, now=NOW)
    assert c is not None
    return c


def test_rejections() -> None:
    good = _cookie("s=1; Secure; HttpOnly; SameSite=Lax; Path=/")
    assert rejections(good, HOST, https=True) == []
    assert rejections(_cookie("s=1; SameSite=None"), HOST, True) == ["SameSite=None without Secure"]
    assert rejections(_cookie("s=1; SameSite=None; Secure"), HOST, True) == []
    assert rejections(_cookie("s=1; Domain=other.test"), HOST, True) == [
        f"Domain=other.test does not cover the host {HOST}"
    ]
    assert rejections(_cookie("s=1; Domain=example.com"), HOST, True) == []
    assert rejections(_cookie("s=1; Secure"), HOST, https=False) == [
        "Secure cookie set by an http:// response"
    ]
    assert rejections(_cookie("__Secure-s=1"), HOST, True) != []
    assert rejections(_cookie("__Secure-s=1; Secure"), HOST, True) == []
    assert rejections(_cookie("__Host-s=1; Secure; Path=/"), HOST, True) == []
    assert rejections(_cookie("__Host-s=1; Secure; Path=/; Domain=example.com"), HOST, True)
    assert rejections(_cookie("__Host-s=1; Secure"), HOST, True)  # no Path=/


# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("webmail.example.com", ("https", HOST, 443, "/")),
        ("https://Webmail.Example.com./mail/", ("https", HOST, 443, "/mail/")),
        ("http://webmail.example.com:8080", ("http", HOST, 8080, "/")),
        ("https://webmail.example.com/?_task=login", ("https", HOST, 443, "/?_task=login")),
        ("https://[2001:db8::1]/", ("https", "2001:db8::1", 443, "/")),
    ],
)
def test_split_url(url: str, expected: tuple[str, str, int, str]) -> None:
    assert split_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://webmail.example.com/",
        "javascript:alert(1)",
        "https://",
        "https://user:pw@webmail.example.com/",
        "https://webmail.example.com:99999/",
        "https://webmail.example.com:x/",
        "https://web mail.example.com/",
        "https://webmail.example.com/\r\nX: y",
    ],
)
def test_split_url_refuses(url: str) -> None:
    assert split_url(url) is None


# ---------------------------------------------------------------- HTML

ROUNDCUBE = """<!DOCTYPE html><html><head><title>Example :: Welcome to Roundcube Webmail</title>
<link rel="stylesheet" href="/skins/elastic/styles/styles.min.css"></head><body>
<form id="login-form" method="post" action="/?_task=login">
<input type="hidden" name="_token" value="x"><input name="_user" type="text">
<input name="_pass" id="rcmloginpwd" type="PASSWORD"></form></body></html>"""


def test_roundcube_page() -> None:
    page = scan_page(ROUNDCUBE, URL)
    assert page.forms == 1 and page.password_fields == 1 and page.has_login_form
    assert page.login_form_action == "https://webmail.example.com/?_task=login"
    assert page.title == "Example :: Welcome to Roundcube Webmail"
    assert page.insecure_refs == () and page.parse_error == ""


def test_password_outside_a_form_and_no_form() -> None:
    assert scan_page('<div><input type="password"></div>', URL).login_form_action == ""
    page = scan_page("<h1>Welcome to nginx!</h1>", URL)
    assert not page.has_login_form and page.forms == 0


def test_mixed_content_active_and_passive() -> None:
    html = """<script src="http://cdn.example.net/app.js"></script>
    <script src="//cdn.example.net/ok.js"></script><script src="/ok.js"></script>
    <iframe src="http://ads.example.net/"></iframe>
    <link rel="stylesheet" href="http://cdn.example.net/s.css"><link rel="icon" href="http://x/i">
    <form action="http://webmail.example.com/login"><input type=password></form>
    <img src="http://cdn.example.net/logo.png"><object data="http://x/o"></object>"""
    page = scan_page(html, URL)
    active = {(r.tag, r.url) for r in page.insecure_refs if r.active}
    passive = {(r.tag, r.url) for r in page.insecure_refs if not r.active}
    assert active == {
        ("script", "http://cdn.example.net/app.js"),
        ("iframe", "http://ads.example.net/"),
        ("link", "http://cdn.example.net/s.css"),
        ("form", "http://webmail.example.com/login"),
        ("object", "http://x/o"),
    }
    assert passive == {("link", "http://x/i"), ("img", "http://cdn.example.net/logo.png")}
    assert page.login_form_action == "http://webmail.example.com/login"


def test_base_href_makes_relative_urls_insecure() -> None:
    page = scan_page('<base href="http://webmail.example.com/"><script src="app.js"></script>', URL)
    assert [r.url for r in page.insecure_refs] == ["http://webmail.example.com/app.js"]


def test_meta_refresh() -> None:
    page = scan_page('<meta http-equiv="Refresh" content="0; URL=\'/roundcube/\'">', URL)
    assert page.meta_refresh == "https://webmail.example.com/roundcube/"


@pytest.mark.parametrize(
    "html",
    [
        "<form><input type=password",  # cut mid-tag
        "<scr<script>ipt src=http://x/a.js>",
        "<![CDATA[ <input type=password> ]]><!-- <form> -->",
        "\x00\x01\xff<</<<>>>" * 1000,
        "<form " + "a=b " * 10000 + ">",
        "<input type=password>" + "<div>" * 50_000,
        "</form></form><form><form><input type=password></form>",
        "<title>" + "t" * 10_000,
        '<a href="&#xffffffff;">',
        "<base href='http://[::1'><script src=x></script>",
    ],
)
def test_garbage_html_never_raises(html: str) -> None:
    page = scan_page(html, URL)
    assert len(page.title) <= 120
    assert len(page.insecure_refs) <= MAX_REFS


@pytest.mark.parametrize("pattern", ["<a", "<!--", "<a href='", "</", "<?"])
def test_quadratic_garbage_is_cut_by_the_budget(pattern: str) -> None:
    # html.parser rescans unterminated markup to the end on every retry: a megabyte of it
    # took 40 s in one feed; chunked under a budget it costs about the budget at most
    html = ((pattern + "x") * (1024 * 1024))[: 1024 * 1024]
    start = time.monotonic()
    page = scan_page(html, URL, budget_s=0.5)
    assert time.monotonic() - start < 1.5
    assert page.parse_error and not page.has_login_form


def test_refs_are_bounded() -> None:
    page = scan_page('<script src="http://x/a.js"></script>' * 1000, URL)
    assert len(page.insecure_refs) == MAX_REFS


# ---------------------------------------------------------------- the checks


def _fetch(
    url: str = URL,
    status: int | None = 200,
    headers: tuple[tuple[str, str], ...] = (("strict-transport-security", "max-age=31536000"),),
    error: FetchError = FetchError.NONE,
    detail: str = "",
    reason: str = "OK",
) -> HttpFetch:
    parts = split_url(url)
    assert parts is not None
    return HttpFetch(
        url,
        "GET",
        parts[1],
        "192.0.2.10",
        parts[2],
        error=error,
        detail=detail,
        status=None if error is not FetchError.NONE else status,
        reason=reason,
        headers=headers,
        body_bytes=100,
    )


def _cert(not_after: datetime, names: tuple[str, ...] = (HOST,)) -> CertInfo:
    return CertInfo(
        subject=f"CN={names[0]}",
        issuer="CN=R11,O=Let's Encrypt",
        names=names,
        not_before=not_after - timedelta(days=90),
        not_after=not_after,
        key_type="EC prime256v1",
        key_bits=256,
        self_signed=False,
        sha256="00",
    )


def _tls(
    *,
    trusted: bool = True,
    trust_error: str = "",
    names: tuple[str, ...] = (HOST,),
    not_after: datetime = NOW + timedelta(days=60),
) -> TlsResult:
    return TlsResult(
        host=HOST,
        ok=True,
        version="TLSv1.3",
        chain=(_cert(not_after, names),),
        trusted=trusted,
        trust_error=trust_error,
        name_matches=HOST in names,
        checked_at=NOW,
    )


def _seen(header: str, url: str = URL) -> CookieSeen:
    parts = split_url(url)
    assert parts is not None
    return CookieSeen(_cookie(header), url, parts[1], parts[0] == "https")


GOOD_COOKIE = "roundcube_sessid=abc; path=/; secure; HttpOnly; SameSite=Lax"
REDIRECTS = _fetch(
    "http://webmail.example.com/", 301, (("location", URL),), reason="Moved Permanently"
)


def _evidence(**kw: object) -> WebmailEvidence:
    base = WebmailEvidence(
        url=URL,
        hops=(WebmailHop(_fetch(), _tls()),),
        plain=REDIRECTS,
        cookies=(_seen(GOOD_COOKIE),),
        page=scan_page(ROUNDCUBE, URL),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _run(ev: WebmailEvidence) -> list[Finding | NotChecked]:
    return list(webmail_login(CheckContext(Settings(), catalogue.load()), ev))


def _codes(ev: WebmailEvidence) -> list[str]:
    return sorted(f.code for f in _run(ev) if isinstance(f, Finding))


def test_the_good_webmail_is_ok() -> None:
    found = _run(_evidence())
    assert [f.code for f in found if isinstance(f, Finding)] == ["webmail.ok"]


def test_bad_url_and_private_address_are_not_checked() -> None:
    found = _run(WebmailEvidence("ftp://x", error="not an http:// or https:// URL"))
    assert found == [NotChecked("webmail", "not an http:// or https:// URL")]
    private = _fetch(error=FetchError.PRIVATE, detail="resolves only to non-public addresses")
    found = _run(_evidence(hops=(WebmailHop(private, None),), cookies=(), page=None))
    assert len(found) == 1 and isinstance(found[0], NotChecked)
    assert "--allow-private" in found[0].reason


def test_unreachable() -> None:
    refused = _fetch(error=FetchError.REFUSED, detail="connection to 192.0.2.10:443 refused")
    found = _run(_evidence(hops=(WebmailHop(refused, None),), cookies=(), page=None))
    assert [f.code for f in found if isinstance(f, Finding)] == ["webmail.unreachable"]
    assert isinstance(found[0], Finding) and "refused" in found[0].cause


@pytest.mark.parametrize(
    ("tls", "words"),
    [
        (_tls(not_after=NOW - timedelta(days=3)), "expired on 2026-11-25"),
        (_tls(names=("www.hosting.test",)), "does not name webmail.example.com"),
        (_tls(trusted=False, trust_error="self-signed certificate"), "self-signed"),
    ],
)
def test_cert_invalid(tls: TlsResult, words: str) -> None:
    found = _run(_evidence(hops=(WebmailHop(_fetch(), tls),)))
    codes = [f.code for f in found if isinstance(f, Finding)]
    assert codes == ["webmail.cert_invalid"]
    assert isinstance(found[0], Finding) and words in found[0].title
    assert "client-ssl-error" in found[0].symptoms and "webmail-login" in found[0].symptoms
    assert words in tls.refusal()


def test_cert_judged_once_per_host() -> None:
    bad = _tls(not_after=NOW - timedelta(days=3))
    first = WebmailHop(_fetch(URL, 302, (("location", URL + "mail/"),)), bad)
    hops = (first, WebmailHop(_fetch(URL + "mail/"), bad))
    assert _codes(_evidence(hops=hops)) == ["webmail.cert_invalid"]


def test_redirect_problem() -> None:
    ev = _evidence(
        hops=(WebmailHop(_fetch(status=302, headers=(("location", URL),)), _tls()),),
        redirect_problem="redirect loop: https://webmail.example.com/ leads back to itself",
        page=None,
    )
    assert _codes(ev) == ["webmail.redirect_loop"]


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        (502, "Bad Gateway", "webmail.server_error"),
        (503, "Service Unavailable", "webmail.server_error"),
        (504, "Gateway Time-out", "webmail.server_error"),
        (500, "Internal Server Error", "webmail.server_error"),
        (404, "Not Found", "webmail.http_error"),
        (403, "Forbidden", "webmail.http_error"),
        (302, "", "webmail.http_error"),  # a redirect without a Location
    ],
)
def test_http_status(status: int, reason: str, code: str) -> None:
    hop = WebmailHop(_fetch(status=status, reason=reason), _tls())
    found = _run(_evidence(hops=(hop,), cookies=(), page=None))
    assert [f.code for f in found if isinstance(f, Finding)] == [code]
    assert isinstance(found[0], Finding) and str(status) in found[0].title


def test_server_error_names_the_backend() -> None:
    hop = WebmailHop(_fetch(status=502, reason="Bad Gateway"), _tls())
    (f,) = _run(_evidence(hops=(hop,), cookies=(), page=None))
    assert isinstance(f, Finding) and "PHP-FPM" in f.cause and "php8.2-fpm" in f.fix


def test_no_login_form() -> None:
    ev = _evidence(page=scan_page("<title>Welcome to nginx!</title><h1>Welcome</h1>", URL))
    found = [f for f in _run(ev) if isinstance(f, Finding)]
    assert [f.code for f in found] == ["webmail.no_login_form"]
    assert "Welcome to nginx!" in found[0].cause


def test_login_over_http() -> None:
    http_url = "http://webmail.example.com/"
    ev = _evidence(
        hops=(WebmailHop(_fetch(http_url, headers=()), None, "http"),),
        plain=None,
        cookies=(_seen("roundcube_sessid=abc; path=/; HttpOnly", http_url),),
        page=scan_page(ROUNDCUBE, http_url),
    )
    assert _codes(ev) == ["webmail.login_over_http"]  # no HSTS or mixed content on http


@pytest.mark.parametrize(
    ("plain", "flagged"),
    [
        (_fetch("http://webmail.example.com/", 200, ()), True),
        (
            _fetch(
                "http://webmail.example.com/", 302, (("location", "http://webmail.example.com/x"),)
            ),
            True,
        ),
        (REDIRECTS, False),
        (_fetch("http://webmail.example.com/", error=FetchError.REFUSED, detail="refused"), False),
        (_fetch("http://webmail.example.com/", 404, ()), False),
    ],
)
def test_no_https_redirect(plain: HttpFetch, flagged: bool) -> None:
    codes = _codes(_evidence(plain=plain))
    assert codes == (["webmail.no_https_redirect"] if flagged else ["webmail.ok"])


def test_cookie_rejected_samesite_none_without_secure() -> None:
    ev = _evidence(cookies=(_seen("roundcube_sessid=abc; path=/; SameSite=None"),))
    found = [f for f in _run(ev) if isinstance(f, Finding)]
    # rejected (error) and without HttpOnly; "not Secure" is part of the rejection
    assert sorted(f.code for f in found) == [
        "webmail.cookie_not_httponly",
        "webmail.cookie_rejected",
    ]
    rejected = next(f for f in found if f.code == "webmail.cookie_rejected")
    assert "SameSite=None without Secure" in rejected.cause
    assert "proxy_cookie_flags ~ secure httponly samesite=lax;" in rejected.fix


def test_cookie_rejected_for_a_foreign_domain_even_when_not_a_session() -> None:
    ev = _evidence(cookies=(_seen(GOOD_COOKIE), _seen("roundcube_cookies=enabled; Domain=x.test")))
    found = [f for f in _run(ev) if isinstance(f, Finding)]
    assert [(f.code, f.subject) for f in found] == [
        ("webmail.cookie_rejected", "roundcube_cookies")
    ]


def test_cookie_flags() -> None:
    ev = _evidence(cookies=(_seen("PHPSESSID=abc; path=/"),))
    assert _codes(ev) == ["webmail.cookie_not_httponly", "webmail.cookie_not_secure"]
    # not a session cookie, a deletion, and the same cookie twice: nothing, and once
    ev = _evidence(
        cookies=(
            _seen("lang=en; path=/"),
            _seen("roundcube_sessauth=-del-; expires=Thu, 01-Jan-1970 00:00:01 GMT"),
            _seen("PHPSESSID=a; Secure"),
            _seen("PHPSESSID=b; Secure"),
        )
    )
    assert _codes(ev) == ["webmail.cookie_not_httponly"]


def test_mixed_content() -> None:
    page = PageScan(
        forms=1,
        password_fields=1,
        login_form_action=URL,
        insecure_refs=(
            *(PageRef("script", "src", f"http://cdn.example.net/{i}.js", True) for i in range(7)),
            PageRef("img", "src", "http://cdn.example.net/logo.png", False),
        ),
    )
    found = [f for f in _run(_evidence(page=page)) if isinstance(f, Finding)]
    assert sorted(f.code for f in found) == [
        "webmail.mixed_content",
        "webmail.mixed_content_passive",
    ]
    active = next(f for f in found if f.code == "webmail.mixed_content")
    assert "http://cdn.example.net/0.js" in active.evidence and "and 2 more" in active.evidence


def test_only_images_over_http_is_a_warning() -> None:
    page = replace(
        scan_page(ROUNDCUBE, URL), insecure_refs=(PageRef("img", "src", "http://x/l.png", False),)
    )
    assert _codes(_evidence(page=page)) == ["webmail.mixed_content_passive"]


@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        ((), True),
        ((("strict-transport-security", "max-age=0"),), True),
        ((("strict-transport-security", "includeSubDomains"),), True),
        ((("strict-transport-security", 'max-age="31536000"; includeSubDomains'),), False),
    ],
)
def test_hsts(headers: tuple[tuple[str, str], ...], missing: bool) -> None:
    ev = _evidence(hops=(WebmailHop(_fetch(headers=headers), _tls()),))
    codes = _codes(ev)
    # hsts_missing is info: the page still counts as ok
    assert codes == (["webmail.hsts_missing", "webmail.ok"] if missing else ["webmail.ok"])


def test_every_code_is_tested_here() -> None:
    text = Path(__file__).read_text()
    assert all(f'"{code}"' in text for code in CODES)
    assert set(CODES) == {c for c in catalogue.load() if c.startswith("webmail.")}


def test_check_never_plans_the_webmail_probe() -> None:
    assert EVIDENCE_KEY not in all_probes()
    assert all(c.area != "webmail" for c in runnable_checks())
    assert set(webmail_probes(URL)) == {EVIDENCE_KEY}


# ---------------------------------------------------------------- the probe, on loopback

Handler = Callable[[str], bytes]


def _response(status: str, headers: list[str], body: bytes = b"") -> bytes:
    head = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@asynccontextmanager
async def _server(
    handler: Handler,
    tls: ssl.SSLContext | None = None,
    silent: bool = False,
    seen: list[bytes] | None = None,
) -> AsyncIterator[int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if seen is not None:
                seen.append(head)
            if silent:
                await asyncio.sleep(30)
            path = head.split(b" ", 2)[1].decode()
            writer.write(handler(path))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()


async def _probe(url: str, **settings: object) -> WebmailEvidence:
    opts: dict[str, object] = {"step_timeout": 1.0, "allow_private": True, **settings}
    s = Settings(**opts)  # type: ignore[arg-type]
    return await probe_webmail(Runner(s).context("webmail"), url)


def test_probe_follows_redirects_and_parses_the_page() -> None:
    def handler(path: str) -> bytes:
        if path == "/":
            return _response("302 Found", ["Location: /roundcube/", "Set-Cookie: lang=en"])
        cookies = [f"Set-Cookie: c{i}=v; SameSite=None" for i in range(MAX_COOKIES + 20)]
        return _response("200 OK", ["Content-Type: text/html", *cookies], ROUNDCUBE.encode())

    seen: list[bytes] = []
    ports: list[int] = []

    async def go() -> WebmailEvidence:
        async with _server(handler, seen=seen) as port:
            ports.append(port)
            return await _probe(f"http://127.0.0.1:{port}/")

    ev = asyncio.run(go())
    # RFC 9110 7.2: the port is part of Host when it is not the default
    assert seen[0].startswith(b"GET / HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{ports[0]}\r\n".encode() in seen[0]
    assert seen[1].startswith(b"GET /roundcube/ HTTP/1.1\r\n")
    assert [h.fetch.status for h in ev.hops] == [302, 200]
    assert ev.hops[1].fetch.url.endswith("/roundcube/") and ev.hops[1].scheme == "http"
    assert ev.page is not None and ev.page.has_login_form and ev.plain is None
    assert len(ev.cookies) == MAX_COOKIES and ev.cookies[0].cookie.name == "lang"
    # cookie values (session ids) never reach the report
    assert ("set-cookie", "lang=<2 chars>") in ev.hops[0].fetch.headers
    assert "=v;" not in repr(ev)
    codes = _codes(ev)
    # every cN cookie is SameSite=None without Secure; one finding each, bounded by MAX_COOKIES
    assert "webmail.login_over_http" in codes
    assert codes.count("webmail.cookie_rejected") == MAX_COOKIES - 1


@pytest.mark.parametrize(
    ("locations", "words"),
    [
        ({"/": "/a", "/a": "/b", "/b": "/a"}, "redirect loop"),
        ({f"/{i}": f"/{i + 1}" for i in range(12)} | {"/": "/0"}, "more than 5 redirects"),
        ({"/": "javascript:alert(1)"}, "not an http(s) URL"),
        ({"/": "ftp://example.com/"}, "not an http(s) URL"),
    ],
)
def test_probe_redirect_problems(locations: dict[str, str], words: str) -> None:
    def handler(path: str) -> bytes:
        return _response("301 Moved", [f"Location: {locations.get(path, '/')}"])

    async def go() -> WebmailEvidence:
        async with _server(handler) as port:
            return await _probe(f"http://127.0.0.1:{port}/")

    ev = asyncio.run(go())
    assert words in ev.redirect_problem
    assert len(ev.hops) <= MAX_REDIRECTS + 1
    assert _codes(ev) == ["webmail.redirect_loop"]


def test_probe_bounds_a_huge_page_and_a_silent_server() -> None:
    body = b"<form><input type=password></form>" + b"x" * (3 * 1024 * 1024)

    async def go() -> tuple[WebmailEvidence, WebmailEvidence, float]:
        async with _server(lambda p: _response("200 OK", [], body)) as port:
            big = await _probe(f"http://127.0.0.1:{port}/")
        async with _server(lambda p: b"", silent=True) as port:
            t0 = time.monotonic()
            slow = await _probe(f"http://127.0.0.1:{port}/", step_timeout=0.3)
            return big, slow, time.monotonic() - t0

    big, slow, elapsed = asyncio.run(go())
    final = big.hops[-1].fetch
    assert final.truncated and final.body_bytes == 1024 * 1024
    assert len(final.body) == BODY_KEPT and big.page is not None and big.page.has_login_form
    assert slow.hops[-1].fetch.error is FetchError.TIMEOUT and elapsed < 2.0
    assert _codes(slow) == ["webmail.unreachable"]


def test_probe_refuses_private_addresses_unless_allowed() -> None:
    ev = asyncio.run(
        probe_webmail(Runner(Settings(step_timeout=1.0)).context("x"), "https://127.0.0.1:9/")
    )
    assert ev.hops[-1].fetch.error is FetchError.PRIVATE
    assert ev.plain is not None and ev.plain.error is FetchError.PRIVATE
    assert all(isinstance(f, NotChecked) for f in _run(ev))


def _self_signed(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webmail.other.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("webmail.other.test")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx


def test_probe_judges_a_bad_certificate_and_still_reads_the_page(tmp_path: Path) -> None:
    page = _response(
        "200 OK",
        ["Content-Type: text/html", "Strict-Transport-Security: max-age=600"],
        ROUNDCUBE.encode(),
    )

    async def go() -> WebmailEvidence:
        async with _server(lambda p: page, tls=_self_signed(tmp_path)) as port:
            return await _probe(f"https://127.0.0.1:{port}/")

    ev = asyncio.run(go())
    tls = ev.hops[0].tls
    assert tls is not None and tls.trusted is False and tls.name_matches is False
    assert ev.page is not None and ev.page.has_login_form
    # nothing listens on 127.0.0.1:80 in the test: no finding from the plain try
    codes = _codes(ev)
    assert codes == ["webmail.cert_invalid"]
    (f,) = [f for f in _run(ev) if isinstance(f, Finding)]
    assert "self-signed" in f.title and "does not name 127.0.0.1" in f.title


def test_a_certificate_not_yet_valid_is_refused() -> None:
    early = replace(_cert(NOW + timedelta(days=92)), not_before=NOW + timedelta(days=2))
    tls = replace(_tls(), chain=(early,))
    assert tls.refusal() == f"the certificate is not valid before {early.not_before:%Y-%m-%d}"
    assert _tls().refusal() == ""
