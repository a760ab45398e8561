"""Mail client configuration documents: Thunderbird autoconfig (config-v1.1.xml) and the
Outlook autodiscover (POX, 2006a schema) response. No I/O.

Both are XML from a web server we do not control: documents with a DTD are refused before
parsing (no entity expansion at all), and only the few elements a client reads are looked at.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

MAX_SERVERS = 20


@dataclass(frozen=True)
class ClientServer:
    protocol: str  # imap | pop3 | smtp
    host: str
    port: int | None
    security: str  # ssl | starttls | plain | "" (not said)

    def describe(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol} {self.host}{port} {self.security or 'security not given'}"


@dataclass(frozen=True)
class ClientConfig:
    servers: tuple[ClientServer, ...]
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems and bool(self.servers)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _parse_xml(text: str) -> ET.Element | str:
    head = text[:4096]
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return "the document has a DTD (<!DOCTYPE or <!ENTITY): refused, clients never need one"
    if not head.lstrip().startswith("<"):
        shown = head.strip()[:60].encode("unicode_escape").decode("ascii")
        return f"not XML: starts with {shown!r}"
    try:
        # No DTD reached this point (refused above), so no entity can expand or be fetched:
        # the protection defusedxml gives with forbid_dtd=True, without the dependency.
        return ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        return f"not well-formed XML: {exc}"


def _child_text(elem: ET.Element, name: str) -> str:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def parse_thunderbird(text: str) -> ClientConfig:
    """config-v1.1.xml: clientConfig/emailProvider/{incoming,outgoing}Server."""
    root = _parse_xml(text)
    if isinstance(root, str):
        return ClientConfig((), (root,))
    if _local(root.tag) != "clientconfig":
        return ClientConfig((), (f"the root element is <{_local(root.tag)}>, not <clientConfig>",))
    servers: list[ClientServer] = []
    for elem in root.iter():
        name = _local(elem.tag)
        if name not in ("incomingserver", "outgoingserver") or len(servers) >= MAX_SERVERS:
            continue
        proto = (elem.get("type") or "").lower()
        socket_type = _child_text(elem, "sockettype").lower()
        security = {"ssl": "ssl", "starttls": "starttls", "plain": "plain"}.get(socket_type, "")
        servers.append(
            ClientServer(
                proto,
                _child_text(elem, "hostname").lower(),
                _port(_child_text(elem, "port")),
                security,
            )
        )
    problems = () if servers else ("no <incomingServer> or <outgoingServer> in the document",)
    return ClientConfig(tuple(servers), problems)


def parse_autodiscover(text: str) -> ClientConfig:
    """Outlook autodiscover response: Autodiscover/Response/Account/Protocol (Type, Server,
    Port, SSL, Encryption)."""
    root = _parse_xml(text)
    if isinstance(root, str):
        return ClientConfig((), (root,))
    if _local(root.tag) != "autodiscover":
        return ClientConfig((), (f"the root element is <{_local(root.tag)}>, not <Autodiscover>",))
    servers: list[ClientServer] = []
    errors: list[str] = []
    for elem in root.iter():
        name = _local(elem.tag)
        if name == "error":
            errors.append(_child_text(elem, "message") or _child_text(elem, "errorcode") or "error")
        if name != "protocol" or len(servers) >= MAX_SERVERS:
            continue
        kind = _child_text(elem, "type").lower()
        proto = {"imap": "imap", "pop3": "pop3", "smtp": "smtp"}.get(kind)
        if proto is None:
            continue  # EXCH, EXPR, WEB...: not a mail protocol a client configures by hand
        encryption = _child_text(elem, "encryption").lower()
        ssl_on = _child_text(elem, "ssl").lower()
        if encryption in ("ssl", "tls"):
            security = "ssl" if encryption == "ssl" else "starttls"
        elif ssl_on == "off":
            security = "plain"
        elif ssl_on == "on":
            security = "ssl"
        else:
            security = ""
        servers.append(
            ClientServer(
                proto,
                _child_text(elem, "server").lower(),
                _port(_child_text(elem, "port")),
                security,
            )
        )
    problems: list[str] = []
    if not servers:
        problems.append(
            "no IMAP/POP3/SMTP <Protocol> in the response"
            + (f" (error: {errors[0][:100]})" if errors else "")
        )
    return ClientConfig(tuple(servers), tuple(problems))


def autodiscover_request(email: str) -> bytes:
    """The POST body Outlook sends (the 2006a "outlook" response schema)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\r\n'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
        'requestschema/2006">\r\n'
        f"  <Request><EMailAddress>{email}</EMailAddress>\r\n"
        "    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/"
        "outlook/responseschema/2006a</AcceptableResponseSchema>\r\n"
        "  </Request>\r\n</Autodiscover>\r\n"
    ).encode()
