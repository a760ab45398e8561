"""Make text from outside (banners, DNS records, log lines) inert before it is shown.

C0/C1 control characters, DEL and the Unicode controls that reorder or hide text are shown as
visible escapes, so a hostile banner cannot clear the screen, set the clipboard (OSC 52),
retitle the terminal or disguise what it says. Rich markup is never interpreted: renderers
build rich Text objects, never markup strings.
"""

from __future__ import annotations

import re

# Tab and newline are kept; everything else below 0x20, DEL, C1, zero-width and bidi controls.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
_UNSAFE_WITH_NEWLINES = re.compile(_UNSAFE.pattern[:-1] + "\n\t]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str, *, multiline: bool = True) -> str:
    """Escape everything that could act on a terminal; keep newlines only when `multiline`."""
    text = text.replace("\r\n", "\n")
    pattern = _UNSAFE if multiline else _UNSAFE_WITH_NEWLINES
    return pattern.sub(_escape, text)
