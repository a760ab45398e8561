"""No-I/O parsers for the webmail probe: Set-Cookie headers, login-page HTML, URLs.

Set-Cookie is parsed the way browsers do (RFC 6265 5.2, tolerant: any garbage gives a cookie
or None, never an exception); http.cookies.SimpleCookie is not used, it drops a whole header on
one odd character and knows nothing of SameSite or cookie prefixes. The HTML is read with the
standard html.parser, which tolerates broken markup; only what a login needs is kept: forms,
password fields, the resources an https page loads over http://, a meta refresh.
"""

from __future__ import annotations

import email.utils
import re
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from maildoctor.evidence.webmail import PageRef, PageScan, SetCookie

MAX_COOKIE_HEADER = 8192  # characters of one Set-Cookie header read (browsers stop at 4096)
MAX_ATTRIBUTES = 32
MAX_REFS = 20  # insecure references kept as evidence
MAX_TAGS = 20000  # start tags looked at: a 1 MiB page of tags is not read to the end
FEED_CHUNK = 8192  # characters given to html.parser at a time
PARSE_BUDGET_S = 1.0  # time one page may cost (the probe parses in a thread)

# Cookie names that carry a login session (Roundcube roundcube_sessid / roundcube_sessauth,
# PHP PHPSESSID, SOGo, Zimbra ZM_AUTH_TOKEN, Horde, SnappyMail/RainLoop, generic ones).
SESSION_NAME = re.compile(
    r"sess|(?<![a-z])sid(?![a-z])|auth|token|jwt|login|remember|^sogo|^zm_|horde", re.I
)


# ---------------------------------------------------------------- URLs


def split_url(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path+query) of an http(s) URL; a bare host means https://host/.

    None for anything else (another scheme, credentials in the URL, no host, a bad port).
    """
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    if any(c.isspace() or ord(c) < 32 for c in text):
        return None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def join_url(scheme: str, host: str, port: int, path: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{shown}{'' if port == default else f':{port}'}{path}"


# ---------------------------------------------------------------- cookies


def _expired(attr: str, value: str, now: datetime) -> bool:
    if attr == "max-age":
        text = value.strip()
        # RFC 6265 5.2.2: a leading "-" or digits only; anything else is ignored
        if re.fullmatch(r"-?\d{1,18}", text):
            return int(text) <= 0
        return False
    try:
        when = email.utils.parsedate_to_datetime(value.replace("-", " "))
    except (TypeError, ValueError, IndexError, OverflowError):
        year = re.search(r"\b(\d{4})\b", value)
        return bool(year) and int(year.group(1)) < now.year if year else False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when < now


def parse_set_cookie(header: str, now: datetime | None = None) -> SetCookie | None:
    """One Set-Cookie value -> SetCookie; None when a browser would ignore it altogether.

    RFC 6265 5.2: the name-value pair ends at the first ";", the name at the first "=";
    no "=" or an empty name: ignored. Attribute names are case-insensitive; the last of a kind
    wins (RFC 6265 5.3 step 11 reads them in order).
    """
    now = now or datetime.now(UTC)
    text = header[:MAX_COOKIE_HEADER]
    pair, _, rest = text.partition(";")
    name, eq, value = pair.partition("=")
    name, value = name.strip(), value.strip()
    if not eq or not name:
        return None
    secure = httponly = expired = False
    samesite = domain = path = ""
    max_age_seen = False
    for raw in rest.split(";")[:MAX_ATTRIBUTES]:
        attr, _, val = raw.partition("=")
        attr, val = attr.strip().lower(), val.strip()
        if attr == "secure":
            secure = True
        elif attr == "httponly":
            httponly = True
        elif attr == "samesite":
            samesite = val.lower()
        elif attr == "domain":
            # RFC 6265 5.2.3: a leading "." is dropped; an empty value is ignored
            domain = val.lower().lstrip(".")
        elif attr == "path":
            path = val
        elif attr == "max-age":
            max_age_seen = True
            expired = _expired(attr, val, now)
        elif attr == "expires" and not max_age_seen:
            # RFC 6265 5.3 step 3: Max-Age wins over Expires
            expired = _expired(attr, val, now)
    masked = f"{name}=<{len(value)} chars>" + (f";{rest}" if rest else "")
    return SetCookie(
        name=name[:100],
        value_len=len(value),
        secure=secure,
        httponly=httponly,
        samesite=samesite,
        domain=domain,
        path=path,
        expired=expired,
        raw=masked[:300],
    )


def is_session_cookie(name: str) -> bool:
    return bool(SESSION_NAME.search(name))


def domain_matches(host: str, domain: str) -> bool:
    """RFC 6265 5.1.3: the host is the domain, or a name under it (never for IP addresses)."""
    host, domain = host.lower().rstrip("."), domain.lower().rstrip(".")
    if host == domain:
        return True
    if re.fullmatch(r"[\d.]+|.*:.*", host):
        return False
    return host.endswith("." + domain)


def rejections(cookie: SetCookie, host: str, https: bool) -> list[str]:
    """Why a current browser refuses to store the cookie at all (empty: it stores it)."""
    out = []
    if cookie.domain and not domain_matches(host, cookie.domain):
        # RFC 6265 5.3 step 6: the whole cookie is ignored
        out.append(f"Domain={cookie.domain} does not cover the host {host}")
    if cookie.samesite == "none" and not cookie.secure:
        # RFC 6265bis 5.6 step 18 (draft-ietf-httpbis-rfc6265bis): Chrome, Edge and Safari
        # reject SameSite=None without Secure
        out.append("SameSite=None without Secure")
    if cookie.secure and not https:
        # RFC 6265bis 5.6 step 9: a Secure cookie from an insecure origin is ignored
        out.append("Secure cookie set by an http:// response")
    if cookie.name.startswith("__Secure-") and not (cookie.secure and https):
        out.append("__Secure- prefix without Secure over https")  # RFC 6265bis 4.1.3.1
    if cookie.name.startswith("__Host-") and (
        not cookie.secure or not https or cookie.domain or cookie.path != "/"
    ):
        out.append("__Host- prefix needs Secure, no Domain and Path=/")  # RFC 6265bis 4.1.3.2
    return out


# ---------------------------------------------------------------- HTML

# On an https page, browsers block these over http:// (W3C Mixed Content 3.1: blockable).
_ACTIVE = {
    ("script", "src"),
    ("iframe", "src"),
    ("frame", "src"),
    ("object", "data"),
    ("embed", "src"),
    ("form", "action"),
}
# ... and load (or upgrade) these with a warning (W3C Mixed Content 3.2: upgradeable).
_PASSIVE = {
    ("img", "src"),
    ("audio", "src"),
    ("video", "src"),
    ("source", "src"),
    ("input", "src"),
}


class _Scanner(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self.page_url = page_url
        self.forms = 0
        self.passwords = 0
        self.form_action: str | None = None
        self.login_action: str | None = None
        self.in_form = False
        self.title: list[str] = []
        self.in_title = False
        self.refs: list[PageRef] = []
        self.refresh = ""
        self.tags = 0

    def _resolve(self, ref: str) -> str:
        try:
            return urljoin(self.base, ref.strip())
        except ValueError:
            return ref.strip()

    def _ref(self, tag: str, attr: str, value: str, active: bool) -> None:
        url = self._resolve(value)
        if url.lower().startswith("http://") and len(self.refs) < MAX_REFS:
            self.refs.append(PageRef(tag, attr, url[:300], active))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if self.tags > MAX_TAGS:
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base == self.page_url:
            self.base = self._resolve(a["href"])  # HTML: the first <base href> counts
        elif tag == "form":
            self.forms += 1
            self.in_form = True
            # HTML 4.10.21.3: no action (or an empty one) submits to the page itself
            self.form_action = self._resolve(a.get("action") or "")
            if a.get("action"):
                self._ref("form", "action", a["action"], True)
        elif tag == "input" and a.get("type", "").strip().lower() == "password":
            self.passwords += 1
            if self.login_action is None:
                self.login_action = self.form_action if self.in_form else ""
        elif tag == "title":
            self.in_title = True
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh" and not self.refresh:
            # content="0; url=/mail/"
            m = re.search(r"url\s*=\s*['\"]?([^'\";]+)", a.get("content", ""), re.I)
            if m:
                self.refresh = self._resolve(m.group(1))[:300]
        if tag == "link" and a.get("href"):
            rel = a.get("rel", "").lower().split()
            if "stylesheet" in rel or "modulepreload" in rel:
                self._ref("link", "href", a["href"], True)
            elif "icon" in rel:
                self._ref("link", "href", a["href"], False)
        for attr in ("src", "data"):
            if a.get(attr):
                if (tag, attr) in _ACTIVE:
                    self._ref(tag, attr, a[attr], True)
                elif (tag, attr) in _PASSIVE:
                    self._ref(tag, attr, a[attr], False)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title and sum(map(len, self.title)) < 200:
            self.title.append(data)


def scan_page(html: str, page_url: str, budget_s: float = PARSE_BUDGET_S) -> PageScan:
    """Forms, password fields and http:// resources of a page; tolerant of any garbage.

    html.parser goes quadratic on some garbage (a megabyte of "<a" or unterminated "<!--"
    takes minutes: each retry rescans to the end), so the page is fed in chunks under a time
    budget, and the end of the document is flushed only when little is left pending.
    """
    scanner = _Scanner(page_url)
    error = ""
    start = time.monotonic()
    try:
        for at in range(0, len(html), FEED_CHUNK):
            if time.monotonic() - start > budget_s:
                error = f"gave up after {budget_s:g} s at character {at} of {len(html)}"
                break
            scanner.feed(html[at : at + FEED_CHUNK])
        else:
            pending = len(scanner.rawdata)
            if pending <= FEED_CHUNK:
                scanner.close()
            else:
                error = f"{pending} characters of unterminated markup at the end not read"
    except Exception as exc:  # html.parser is tolerant, but a parser bug must not be ours
        error = f"{type(exc).__name__}: {exc}"[:200]
    title = " ".join("".join(scanner.title).split())[:120]
    return PageScan(
        forms=scanner.forms,
        password_fields=scanner.passwords,
        login_form_action=scanner.login_action,
        title=title,
        insecure_refs=tuple(scanner.refs),
        meta_refresh=scanner.refresh,
        parse_error=error,
    )
