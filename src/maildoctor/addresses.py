"""Classification of IP addresses that no sender on the internet can reach."""

from __future__ import annotations

import ipaddress


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().rstrip(".").strip("[]"))
    except ValueError:
        return None


def unreachable_kind(text: str) -> str | None:
    """Name the kind of a non-public address ("loopback", "private"...), None when public."""
    ip = parse_ip(text)
    if ip is None:
        return None
    # Order matters: loopback and link-local are also "private" to the ipaddress module.
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return None
