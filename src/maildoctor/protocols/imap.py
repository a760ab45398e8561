"""IMAP without I/O: greeting, untagged CAPABILITY and tagged replies (RFC 3501, RFC 9051)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_CAPA_CODE = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
MAX_CAPABILITIES = 200


@dataclass(frozen=True)
class Greeting:
    status: str  # OK | PREAUTH | BYE | "" (not an IMAP greeting)
    text: str
    capabilities: tuple[str, ...]  # from a [CAPABILITY ...] response code, if sent

    @property
    def ok(self) -> bool:
        return self.status in ("OK", "PREAUTH")


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else "?" for ch in text).strip()


def _caps(raw: bytes) -> tuple[str, ...]:
    out: list[str] = []
    for word in raw.split()[:MAX_CAPABILITIES]:
        cap = _text(word).upper()
        if cap and cap not in out:
            out.append(cap)
    return tuple(out)


def parse_greeting(line: bytes) -> Greeting:
    """RFC 3501 7.1: the greeting is one untagged OK, PREAUTH or BYE."""
    parts = line.split(None, 2)
    if len(parts) < 2 or parts[0] != b"*":
        return Greeting("", _text(line[:200]), ())
    status = parts[1].upper().decode("ascii", "replace")
    if status not in ("OK", "PREAUTH", "BYE"):
        return Greeting("", _text(line[:200]), ())
    rest = parts[2] if len(parts) > 2 else b""
    m = _CAPA_CODE.search(rest)
    return Greeting(status, _text(rest), _caps(m.group(1)) if m else ())


def tagged_end(tag: bytes) -> Callable[[bytes], bool]:
    """is_last for a command's reply: the line that starts with its tag (RFC 3501 2.2.2)."""
    prefix = tag + b" "

    def is_last(line: bytes) -> bool:
        return line.startswith(prefix) or not line.startswith((b"*", b"+"))

    return is_last


def tagged_status(lines: list[bytes], tag: bytes) -> str:
    """OK, NO, BAD of the tagged completion line, "" when it is missing or malformed."""
    if not lines or not lines[-1].startswith(tag + b" "):
        return ""
    parts = lines[-1].split(None, 2)
    return parts[1].upper().decode("ascii", "replace") if len(parts) > 1 else ""


def capabilities(lines: list[bytes]) -> tuple[str, ...]:
    """RFC 3501 7.2.1: the untagged CAPABILITY response's atoms, upper case."""
    for line in lines:
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] == b"*" and parts[1].upper() == b"CAPABILITY":
            return _caps(parts[2] if len(parts) > 2 else b"")
    return ()


def login_allowed_in_clear(caps: tuple[str, ...]) -> bool:
    """RFC 3501 6.2.3: LOGINDISABLED forbids LOGIN; AUTH=PLAIN/LOGIN in clear still leaks."""
    if "LOGINDISABLED" not in caps:
        return True
    return any(c in ("AUTH=PLAIN", "AUTH=LOGIN") for c in caps)
