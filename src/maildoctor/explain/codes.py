"""Find the status codes in a pasted text and prepare the text for phrase matching.

Pasted texts are SMTP replies (one line or a multiline reply with `550-` continuation lines),
client error messages, or whole bounce messages (DSNs). Codes are looked for where servers and
bounces put them, not anywhere a number appears: a number in prose ("sent 250 messages",
"retry in 300 s") is not a reply code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 64 * 1024

# RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39.
_BASIC = r"[2-5][0-5][0-9]"
# RFC 3463 2: class "." subject "." detail; subject 1-3 digits, detail 1-3 digits. Subjects
# 0-7 are all that are defined; restricting to them keeps version numbers out.
_ENHANCED = r"[245]\.[0-7]\.[0-9]{1,3}"
_ENHANCED_RE = re.compile(rf"(?<![\w.])#?({_ENHANCED})(?!\d)(?!\.\d)")
# A basic code directly followed by an enhanced one: "550 5.1.1", "550-5.7.26", "550 #5.1.1".
_BASIC_WITH_ENHANCED = re.compile(rf"(?<![\w.])({_BASIC})[ -]#?{_ENHANCED}(?!\d)")
# A basic code at the start of a line (an SMTP reply, a transcript "<<< 550 ...").
_BASIC_AT_LINE = re.compile(
    rf"^[ \t>\"'(\[<]*+(?:<<<|S:|smtp;)?[ \t]*+({_BASIC})(?=[ -]|$)", re.MULTILINE | re.IGNORECASE
)
# A basic code after the words bounces and clients use to introduce a server reply. The
# quantifiers are possessive (*+): a paste of 64 KiB of blanks must not make this cubic.
_BASIC_AFTER_WORD = re.compile(
    r"(?:said|response|reply|replied|returned|answer|answered|error|code|status|smtp;)"
    rf"(?:\s++(?:was|is|with))?\s*+[:=]?\s*+['\"(\[]?\s*+({_BASIC})(?=[ \-'\")\]:.,;]|$)",
    re.IGNORECASE,
)
# Continuation prefixes of a multiline reply, removed so that a phrase wrapped over lines
# ("550-5.7.26 ... is\n550-5.7.26 unauthenticated") reads as one sentence.
_LINE_PREFIX = re.compile(
    rf"^[ \t>]*+(?:<<<[ \t]*+)?{_BASIC}[ -](?:#?{_ENHANCED}[ \t]++)?", re.MULTILINE
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Parsed:
    """A bounded text, its codes in order of appearance, and the forms used for matching."""

    text: str
    truncated: bool
    basic: tuple[str, ...]
    enhanced: tuple[str, ...]
    flat: str  # whitespace collapsed, codes kept
    joined: str  # reply-line prefixes removed, then whitespace collapsed


def bound(text: str) -> tuple[str, bool]:
    """Keep the first MAX_CHARS characters; NUL bytes are dropped (binary pastes)."""
    truncated = len(text) > MAX_CHARS
    text = text[:MAX_CHARS].replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return text, truncated


def _ordered(found: list[tuple[int, str]]) -> tuple[str, ...]:
    out: list[str] = []
    for _, code in sorted(found):
        if code not in out:
            out.append(code)
    return tuple(out)


def parse(text: str) -> Parsed:
    text, truncated = bound(text)
    enhanced = [(m.start(1), m.group(1)) for m in _ENHANCED_RE.finditer(text)]
    basic = [
        (m.start(1), m.group(1))
        for rx in (_BASIC_WITH_ENHANCED, _BASIC_AT_LINE, _BASIC_AFTER_WORD)
        for m in rx.finditer(text)
    ]
    return Parsed(
        text=text,
        truncated=truncated,
        basic=_ordered(basic),
        enhanced=_ordered(enhanced),
        flat=_SPACE.sub(" ", text).strip(),
        joined=_SPACE.sub(" ", _LINE_PREFIX.sub(" ", text)).strip(),
    )
