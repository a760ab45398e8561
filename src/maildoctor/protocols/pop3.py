"""POP3 without I/O: status lines and the CAPA list (RFC 1939, RFC 2449, RFC 2595)."""

from __future__ import annotations

from collections.abc import Callable

MAX_CAPABILITIES = 200


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else "?" for ch in text).strip()


def status(line: bytes) -> str:
    """RFC 1939 3: "+OK" or "-ERR" starts every reply; "" when neither does."""
    if line.startswith(b"+OK"):
        return "+OK"
    if line.startswith(b"-ERR"):
        return "-ERR"
    return ""


def is_single_line_end(line: bytes) -> bool:
    """is_last for a one-line reply (greeting, STLS)."""
    return True


def multiline_end() -> Callable[[bytes], bool]:
    """is_last for a multiline reply: "." alone ends it (RFC 1939 3); an -ERR ends at once."""

    first_seen = [False]

    def is_last(line: bytes) -> bool:
        if not first_seen[0]:
            first_seen[0] = True
            return not line.startswith(b"+OK")
        return line == b"."

    return is_last


def capabilities(lines: list[bytes]) -> tuple[str, ...]:
    """RFC 2449 5: one capability per line between +OK and "."; the tag word upper case."""
    out: list[str] = []
    for line in lines[1:MAX_CAPABILITIES]:
        if line == b".":
            break
        text = _text(line)
        if text:
            words = text.split()
            cap = " ".join([words[0].upper(), *words[1:]])
            if cap not in out:
                out.append(cap)
    return tuple(out)


def login_allowed_in_clear(caps: tuple[str, ...]) -> bool:
    """USER (RFC 2449 6.8) or a SASL PLAIN/LOGIN mechanism advertised before TLS."""
    for cap in caps:
        words = cap.upper().split()
        if words and words[0] == "USER":
            return True
        if words and words[0] == "SASL" and any(w in ("PLAIN", "LOGIN") for w in words[1:]):
            return True
    return False
