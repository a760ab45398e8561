"""A tiny in-process DNS server on loopback for unit tests of the CLI and the resolver path.

It answers from a dict of (name, type) -> records; unknown names get NXDOMAIN, known names
without that type get NODATA. `silent=True` makes it swallow queries (a dead resolver).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

Zone = Mapping[tuple[str, str], list[str]]


def _answer(zone: Zone, data: bytes) -> bytes:
    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name.to_text().rstrip(".").lower()
    rdtype = dns.rdatatype.to_text(question.rdtype)
    names = {n for n, _ in zone}
    if name not in names:
        response.set_rcode(dns.rcode.NXDOMAIN)
    elif (name, "CNAME") in zone and rdtype != "CNAME":
        target = zone[(name, "CNAME")][0]
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "CNAME", target))
        tname = target.rstrip(".").lower()
        for rd in zone.get((tname, rdtype), []):
            response.answer.append(dns.rrset.from_text(target, 60, "IN", rdtype, rd))
    else:
        for rd in zone.get((name, rdtype), []):
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", rdtype, rd))
    return response.to_wire()


@contextmanager
def fake_dns(zone: Zone, *, silent: bool = False) -> Iterator[int]:
    """Serve `zone` on 127.0.0.1 and yield the UDP port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not silent:
                sock.sendto(_answer(zone, data), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()
