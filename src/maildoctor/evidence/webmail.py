"""Evidence from loading a webmail login page the way a browser does (probes/webmail.py)."""

from __future__ import annotations

from dataclasses import dataclass

from maildoctor.evidence.http import HttpFetch
from maildoctor.evidence.tls import TlsResult


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header, parsed tolerantly (records/webmail.py: parse_set_cookie).

    The value itself is never kept (it may be a live session id): only its length.
    """

    name: str
    value_len: int
    secure: bool = False
    httponly: bool = False
    samesite: str = ""  # lower-cased attribute value ("lax", "strict", "none", or as sent)
    domain: str = ""  # the Domain attribute, lower-cased, leading dot dropped; "" if none
    path: str = ""
    expired: bool = False  # Max-Age <= 0 or Expires in the past: a deletion, not a cookie
    raw: str = ""  # the header, value masked, cut to 300 characters


@dataclass(frozen=True)
class CookieSeen:
    """A cookie and the response that set it."""

    cookie: SetCookie
    url: str  # the URL whose response carried the header
    host: str  # the host it was set from (what Domain must domain-match)
    https: bool  # set over an https:// response


@dataclass(frozen=True)
class PageRef:
    """A resource the page loads (or a form it submits), as written and as resolved."""

    tag: str  # script, iframe, link, form, object, embed, img, ...
    attr: str  # src, href, action, data
    url: str  # resolved against the page (and its <base href>)
    active: bool  # browsers block it on an https page (script, style, frame, form...)


@dataclass(frozen=True)
class PageScan:
    """What the HTML of a page holds (records/webmail.py: scan_page)."""

    forms: int = 0
    password_fields: int = 0
    login_form_action: str | None = None  # resolved action of the form with a password field
    title: str = ""
    insecure_refs: tuple[PageRef, ...] = ()  # http:// resources (kept at most MAX_REFS)
    meta_refresh: str = ""  # the URL of a <meta http-equiv=refresh>, resolved
    parse_error: str = ""  # the parser gave up (the page is garbage past that point)

    @property
    def has_login_form(self) -> bool:
        return self.password_fields > 0


@dataclass(frozen=True)
class WebmailHop:
    """One request of the chain: the response (body dropped) and the certificate judged."""

    fetch: HttpFetch
    tls: TlsResult | None = None  # None for http:// or when no handshake completed
    scheme: str = "https"


@dataclass(frozen=True)
class WebmailEvidence:
    url: str  # as given
    error: str = ""  # the URL cannot be used (not http/https, no host...)
    hops: tuple[WebmailHop, ...] = ()  # the request and every redirect followed, in order
    redirect_problem: str = ""  # a loop, too many redirects, a Location to another scheme
    plain: HttpFetch | None = None  # GET http://host/path: does it redirect to https?
    cookies: tuple[CookieSeen, ...] = ()
    page: PageScan | None = None  # the final page's HTML, when it was HTML

    @property
    def final(self) -> WebmailHop | None:
        return self.hops[-1] if self.hops else None
