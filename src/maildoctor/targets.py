"""Validation of what a user names on the command line: domains and hosts."""

from __future__ import annotations

import re

from maildoctor.addresses import parse_ip

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def parse_domain(text: str) -> str:
    """Return the domain in lowercase ASCII (IDNA) form, or raise ValueError saying why not."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty domain name")
    if "@" in raw:
        domain = raw.rsplit("@", 1)[1]
        raise ValueError(f"{text!r} is a mail address; give the domain, e.g. {domain!r}")
    if "://" in raw or "/" in raw:
        raise ValueError(f"{text!r} is a URL or path; give the domain name alone")
    if parse_ip(raw) is not None:
        raise ValueError(f"{text!r} is an IP address; give the domain name")
    name = raw.rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise ValueError(f"{text!r} is not a valid internationalised domain name") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError(f"{text!r} is not a domain name (expected at least two labels)")
    if len(ascii_name) > 253:
        raise ValueError(f"{text!r} is longer than 253 characters")
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"{text!r} is not a domain name (bad label {label!r})")
    return ascii_name


def parse_host(text: str) -> str:
    """A server given by name or address: the IP as written, or the name as parse_domain."""
    ip = parse_ip(text)
    if ip is not None:
        return str(ip)
    try:
        return parse_domain(text)
    except ValueError as exc:
        raise ValueError(f"--host: {exc}") from None
