"""SASL without I/O: the client responses of PLAIN, LOGIN and CRAM-MD5, and a password holder.

The password lives in a `Secret`, whose repr and str never show it, so a stray f-string, log
line or exception message cannot carry it into a report. Its encoded forms are computed only
here and handed straight to the stream, whose transcript redacts every AUTH exchange.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

# What maildoctor can answer, in the order clients prefer them once TLS protects the session.
# RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN), RFC 2195 (CRAM-MD5).
SUPPORTED = ("PLAIN", "LOGIN", "CRAM-MD5")
# How Outlook and Thunderbird name the authentication method for a mechanism.
CLIENT_TERMS = {
    "PLAIN": "Normal password",
    "LOGIN": "Normal password",
    "USER": "Normal password",
    "IMAP LOGIN": "Normal password",
    "CRAM-MD5": "Encrypted password",
}


class Secret:
    """A password that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[redacted]')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def plain(user: str, password: Secret, authzid: str = "") -> bytes:
    """RFC 4616 2: base64 of authzid NUL authcid NUL passwd (UTF-8)."""
    raw = authzid.encode() + b"\0" + user.encode() + b"\0" + password.reveal().encode()
    return _b64(raw)


def login_user(user: str) -> bytes:
    """LOGIN: the answer to "Username:" (base64)."""
    return _b64(user.encode())


def login_password(password: Secret) -> bytes:
    """LOGIN: the answer to "Password:" (base64)."""
    return _b64(password.reveal().encode())


def decode_challenge(text: str) -> bytes | None:
    """A 334 / "+" challenge's base64 text; None when it is not base64."""
    try:
        return base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def cram_md5(user: str, password: Secret, challenge: bytes) -> bytes:
    """RFC 2195 2: base64 of "user SP hex(HMAC-MD5(password, challenge))"."""
    digest = hmac.new(password.reveal().encode(), challenge, hashlib.md5).hexdigest()
    return _b64(user.encode() + b" " + digest.encode("ascii"))


def usable(offered: tuple[str, ...]) -> tuple[str, ...]:
    """The offered mechanisms maildoctor can answer, in preference order."""
    wanted = {m.upper() for m in offered}
    return tuple(m for m in SUPPORTED if m in wanted)


def secret_forms(user: str, password: str) -> tuple[str, ...]:
    """Every form in which a password could leak: raw, and as PLAIN and LOGIN put it on the wire.

    For tests and for the output guard: none of these may appear in anything maildoctor writes.
    """
    sec = Secret(password)
    forms = {
        password,
        plain(user, sec).decode(),
        login_password(sec).decode(),
        # base64 of the password at each alignment inside a longer blob (PLAIN puts it after
        # "\0user\0"): the stable middle part of each shift is what a leak would contain.
    }
    for shift in (1, 2):
        blob = _b64(b"\0" * shift + password.encode()).decode()
        inner = blob[4:-4] if len(blob) > 12 else ""
        if len(inner) >= 8:
            forms.add(inner)
    return tuple(sorted(forms))


def imap_quoted(text: str) -> bytes | None:
    """RFC 3501 4.3 quoted string of `text`, or None when it needs a literal (CR, LF, 8-bit).

    Literals are avoided: the continuation after `{n}` would be a line of its own.
    """
    raw = text.encode("utf-8")
    if any(b > 0x7E or b < 0x20 for b in raw):
        return None
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
