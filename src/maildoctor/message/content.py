"""Content signals spam filters weigh: trigger words, ALL-CAPS, "!!!", HTML-only, image-only,
link shorteners and links whose text shows another domain than they lead to.

No I/O (the word list is package data, words.toml). A weak signal next to authentication and
reputation; the checks say so. Every part is decoded (base64, quoted-printable, RFC 2047
words, the declared charset, falling back to UTF-8 with replacement when the charset is wrong
or unknown), bounded in parts, depth and characters.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from urllib.parse import urlsplit

from maildoctor.evidence.message import ContentHit
from maildoctor.message.parse import shown, walk
from maildoctor.records.dmarc import organizational_domain

MAX_PART_BYTES = 2 * 1024 * 1024  # decoded bytes of one text part analysed
MAX_TEXT_CHARS = 4 * 1024 * 1024  # characters of text analysed in all
MAX_LINKS = 500
MAX_HITS = 60
CAPS_MIN_LETTERS = 10
CAPS_RATIO = 0.8
LITTLE_TEXT = 300  # characters of visible text under which an image-bearing message is "image-only"

PLAIN, HTML, SUBJECT = "text/plain", "text/html", "subject"


@dataclass(frozen=True)
class Phrase:
    text: str
    meaning: str
    lang: str
    exact: re.Pattern[str]
    folded: re.Pattern[str]


def fold(text: str) -> str:
    """Lower-cased, without diacritics: "Miễn Phí" -> "mien phi" (đ -> d, as people type it)."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


@cache
def _data() -> tuple[tuple[Phrase, ...], frozenset[str]]:
    raw = tomllib.loads(
        resources.files("maildoctor.message").joinpath("words.toml").read_text("utf-8")
    )
    phrases = tuple(
        Phrase(
            p["text"],
            p["meaning"],
            p["lang"],
            _pattern(unicodedata.normalize("NFC", p["text"].lower())),
            _pattern(fold(p["text"])),
        )
        for p in raw["phrase"]
    )
    return phrases, frozenset(h.lower() for h in raw["shorteners"]["hosts"])


def phrases() -> tuple[Phrase, ...]:
    return _data()[0]


def shorteners() -> frozenset[str]:
    return _data()[1]


class _Html(HTMLParser):
    """Visible text, links (href, text) and images of an HTML part; never raises on garbage."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.images = 0
        self._skip = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "img":
            self.images += 1
        elif tag == "a":
            self._close_link()
            self._href = dict(attrs).get("href") or ""
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "a":
            self._close_link()

    def _close_link(self) -> None:
        if self._href is not None and len(self.links) < MAX_LINKS:
            self.links.append((self._href, " ".join("".join(self._link_text).split())))
        self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._href is not None:
            self._link_text.append(data)


@dataclass
class Content:
    hits: list[ContentHit] = field(default_factory=list)
    text_chars: int = 0
    parts: int = 0
    defects: list[str] = field(default_factory=list)


def _decode(part: Message, defects: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: what the parser kept, as text
        defects.append("undecodable part body")
        raw = part.get_payload()
        return raw[:MAX_PART_BYTES] if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return ""
    payload = payload[:MAX_PART_BYTES]
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except (LookupError, ValueError):
        defects.append(f"unknown charset {shown(charset, 40)}: read as UTF-8")
        return payload.decode("utf-8", errors="replace")


_URL = re.compile(r"https?://([^/\s\"'<>()\[\]]{1,255})", re.IGNORECASE)
_SHOWN_DOMAIN = re.compile(
    r"^(?:https?://)?(?:www\.)?((?:[a-z0-9-]{1,63}\.)+[a-z]{2,24})(?:[/:?#]\S*)?$", re.IGNORECASE
)


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def _short_host(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _words(text: str, where: str, out: list[ContentHit]) -> None:
    lowered = unicodedata.normalize("NFC", text.lower())
    folded = fold(text)
    seen_here: list[str] = []
    # Longest first, so "100% free" is not listed again as "free" for the same text.
    for p in sorted(phrases(), key=lambda x: -len(x.text)):
        m = p.exact.search(lowered)
        seen = m.group(0) if m else ""
        count = len(p.exact.findall(lowered)) if m else 0
        fm = p.folded.search(folded)
        if fm and not m:
            seen, count = fm.group(0), len(p.folded.findall(folded))
        if seen and any(seen in longer for longer in seen_here):
            continue
        if seen:
            seen_here.append(seen)
            label = p.text if p.text == p.meaning else f"{p.text} ({p.meaning})"
            times = f", {count} times" if count > 1 else ""
            written = f' written "{shown(seen, 60)}"' if seen != p.text.lower() else ""
            out.append(ContentHit("word", where, f"{label}{written}{times}"))


def _links(links: Iterable[tuple[str, str]], out: list[ContentHit]) -> set[str]:
    hosts: set[str] = set()
    for href, text in links:
        host = _host(href) if href.lower().startswith(("http://", "https://")) else ""
        if not host:
            continue
        hosts.add(host)
        m = _SHOWN_DOMAIN.match(text.strip())
        if m:
            shown_host = m.group(1).lower()
            if organizational_domain(shown_host) != organizational_domain(host):
                out.append(
                    ContentHit(
                        "link_mismatch",
                        HTML,
                        f'link text "{shown(text, 80)}" leads to {shown(href, 120)}',
                    )
                )
    return hosts


def _read_html(text: str, defects: list[str]) -> _Html:
    parser = _Html()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # HTMLParser on hostile markup: keep what it read
        defects.append("HTML part not fully parseable")
    return parser


def _subject(subject: str, hits: list[ContentHit]) -> None:
    _words(subject, SUBJECT, hits)
    letters = [ch for ch in subject if ch.isalpha()]
    upper = sum(ch.isupper() for ch in letters)
    if len(letters) >= CAPS_MIN_LETTERS and upper >= CAPS_RATIO * len(letters):
        hits.append(ContentHit("caps_subject", SUBJECT, shown(subject, 120)))
    if "!!!" in subject or subject.count("!") >= 3:
        hits.append(ContentHit("exclamations", SUBJECT, shown(subject, 120)))


def analyse(message: Message | None, subject: str) -> Content:
    """Every content signal of a parsed message and its decoded subject."""
    found = Content()
    hits = found.hits
    _subject(subject, hits)
    if message is None:
        return found
    plain_parts = html_parts = images = img_tags = 0
    visible: list[str] = []
    hosts: set[str] = set()
    budget = MAX_TEXT_CHARS
    for part in walk(message):
        found.parts += 1
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        attachment = (part.get("Content-Disposition") or "").strip().lower().startswith("attach")
        if ctype.startswith("image/"):
            images += 1
            continue
        if attachment or ctype not in (PLAIN, HTML) or budget <= 0:
            continue
        text = _decode(part, found.defects)[:budget]
        budget -= len(text)
        if ctype == PLAIN:
            plain_parts += 1
            visible.append(text)
            _words(text, PLAIN, hits)
            hosts.update(_host(f"http://{h}") for h in _URL.findall(text)[:MAX_LINKS])
            where = PLAIN
        else:
            html_parts += 1
            parser = _read_html(text, found.defects)
            img_tags += parser.images
            shown_text = " ".join(" ".join(parser.text).split())
            visible.append(shown_text)
            _words(shown_text, HTML, hits)
            hosts.update(_links(parser.links, hits))
            where = HTML
        if "!!!" in text:
            hits.append(ContentHit("exclamations", where, '"!!!" in the text'))
    for host in sorted(h for h in hosts if h):
        if _short_host(host) in shorteners():
            hits.append(ContentHit("shortener", "links", f"{host} (a link shortener)"))
    text_chars = len("".join("".join(visible).split()))
    found.text_chars = text_chars
    if html_parts and not plain_parts:
        hits.append(
            ContentHit("html_only", "structure", f"{html_parts} text/html part(s), no text/plain")
        )
    images = max(images, img_tags)  # an inline image is both a part and an <img>
    if images and text_chars < LITTLE_TEXT:
        hits.append(
            ContentHit(
                "image_only",
                "structure",
                f"{images} image(s) and {text_chars} characters of text",
            )
        )
    del found.hits[MAX_HITS:]
    return found
