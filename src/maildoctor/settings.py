"""One settings object per run: resolver, timeouts, trust anchors, private-address policy.

There is no global configuration; everything a probe needs to know travels in here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STEP_TIMEOUT = 5.0
DEFAULT_DEADLINE = 60.0
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_PER_HOST = 8


@dataclass(frozen=True)
class Resolver:
    address: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}" if self.port != 53 else self.address


def parse_resolver(text: str) -> Resolver:
    """Parse IP, IP:PORT, [IPv6] or [IPv6]:PORT; raise ValueError with a readable reason."""
    raw = text.strip()
    port = 53
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: missing ']'")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: expected ':PORT' after ']'")
            port = _port(rest[1:], text)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
        port = _port(port_text, text)
    else:
        host = raw
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address (give IP or IP:PORT)") from None
    return Resolver(str(address), port)


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{whole!r}: port must be a number from 1 to 65535")
    return int(text)


@dataclass(frozen=True)
class Settings:
    resolvers: tuple[Resolver, ...] = ()  # empty: the system's resolver (/etc/resolv.conf)
    step_timeout: float = DEFAULT_STEP_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    per_host: int = DEFAULT_PER_HOST  # DNS to the resolver counts as one host
    ca_file: Path | None = None
    allow_private: bool = False
    dkim_selectors: tuple[str, ...] = ()  # asked besides the common selectors
    sending_ips: tuple[str, ...] = ()  # servers that send for the domain, besides its MX
    dnsbl_zones: tuple[str, ...] = ()  # IP lists asked besides the default ones
    host: str | None = None  # the client-facing server, instead of SRV / name discovery

    def describe_resolver(self) -> str:
        if not self.resolvers:
            return "the system resolver"
        return ", ".join(str(r) for r in self.resolvers)
