"""SMTP without I/O: reply lines -> typed replies, EHLO keywords -> Ehlo (RFC 5321 4.2)."""

from __future__ import annotations

import re

from maildoctor.evidence.smtp import Ehlo, Reply

_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -]|$)(.*)$", re.DOTALL)
MAX_KEYWORDS = 100


class SmtpSyntaxError(ValueError):
    """Bytes that are not an SMTP reply."""


def is_last_line(line: bytes) -> bool:
    """RFC 5321 4.2.1: every line but the last has a hyphen after the code.

    A line that is not a reply line at all also ends the read, so garbage is reported at once
    instead of waiting for the deadline.
    """
    m = _LINE.match(line)
    return m is None or m.group(2) != b"-"


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else "?" for ch in text).strip()


def parse_reply(lines: list[bytes]) -> Reply:
    """Lines of one reply (ends stripped) -> Reply; SmtpSyntaxError when they are not SMTP."""
    if not lines:
        raise SmtpSyntaxError("empty reply")
    code: bytes | None = None
    texts: list[str] = []
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m is None:
            raise SmtpSyntaxError(f"not an SMTP reply line: {_text(line[:80])!r}")
        if code is None:
            code = m.group(1)
        elif m.group(1) != code:
            # RFC 5321 4.2.1: every line of a multiline reply carries the same code.
            raise SmtpSyntaxError(
                f"multiline reply changes its code from {code.decode()} to {m.group(1).decode()}"
            )
        if i < len(lines) - 1 and m.group(2) != b"-":
            raise SmtpSyntaxError("reply continues after its last line")
        texts.append(_text(m.group(3)))
    assert code is not None
    return Reply(int(code), tuple(texts))


def parse_ehlo(reply: Reply) -> Ehlo:
    """The keywords of a 250 EHLO reply (RFC 5321 4.1.1.1); a HELO reply gives none."""
    first = reply.lines[0].split() if reply.lines else []
    hostname = first[0].lower().rstrip(".") if first else ""
    keywords: list[str] = []
    size: int | None = None
    auth: list[str] = []
    for line in reply.lines[1 : MAX_KEYWORDS + 1]:
        parts = line.split()
        if not parts:
            continue
        word = parts[0].upper()
        params = parts[1:]
        if word.startswith("AUTH="):  # pre-RFC 4954 form some servers still send
            params = [word[5:], *params]
            word = "AUTH"
        if word not in keywords:
            keywords.append(word)
        if word == "SIZE":
            # RFC 1870 4: "SIZE" alone or "SIZE 0" means no fixed limit is declared.
            size = int(params[0]) if params and params[0].isdigit() else 0
        elif word == "AUTH":
            auth.extend(p.upper() for p in params if p.upper() not in auth)
    return Ehlo(hostname=hostname, keywords=tuple(keywords), size=size, auth=tuple(auth))


def greeting_hostname(reply: Reply) -> str:
    """RFC 5321 4.3.1: the greeting starts with the server's name (or an address literal)."""
    first = reply.lines[0].split() if reply.lines else []
    return first[0].lower().rstrip(".") if first else ""
