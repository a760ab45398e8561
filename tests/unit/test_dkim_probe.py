"""The DKIM probe through the real DNS client against a tiny DNS server on loopback."""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.dkim import dkim_keys
from maildoctor.evidence.dkim import DkimEvidence
from maildoctor.evidence.dns import DnsStatus
from maildoctor.net.dns import DnsClient
from maildoctor.net.limits import Limits
from maildoctor.probes import ProbeContext
from maildoctor.probes.dkim import COMMON_SELECTORS, probe_dkim, selectors_to_try
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Settings, parse_resolver

from .fake_dns import fake_dns

KEY = base64.b64encode(
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


def _strings(text: str, size: int) -> str:
    """Zone-file TXT rdata: `text` cut in character-strings of `size` octets."""
    return " ".join(f'"{text[i : i + size]}"' for i in range(0, len(text), size))


async def _probe(port: int, **kw: object) -> tuple[DkimEvidence, DnsClient]:
    settings = Settings(resolvers=(parse_resolver(f"127.0.0.1:{port}"),), **kw)  # type: ignore[arg-type]
    limits = Limits(64, 8)
    client = DnsClient(settings, limits)
    ev = await probe_dkim(ProbeContext("example.com", settings, client, limits))
    return ev, client


def test_selectors_given_first_each_once_and_bounded() -> None:
    tried = selectors_to_try(("Custom", "mail", "custom"))
    assert tried[:2] == [("custom", True), ("mail", True)]
    assert [s for s, _ in tried].count("mail") == 1
    assert len(tried) == len(COMMON_SELECTORS) + 1
    assert 18 <= len(COMMON_SELECTORS) <= 26
    assert len(selectors_to_try(tuple(f"s{i}x" for i in range(500)))) == 50 + len(COMMON_SELECTORS)


async def test_every_selector_asked_and_many_strings_joined() -> None:
    record = f"v=DKIM1; k=rsa; p={KEY}"
    zone = {
        ("example.com", "MX"): ["10 mx.example.com."],
        # a 2048-bit key cut in 255-octet strings, as zone files must hold it
        ("mail._domainkey.example.com", "TXT"): [_strings(record, 255)],
        # and the same key cut in 9-octet strings: receivers join them all (RFC 6376 3.6.2.2)
        ("sel2024._domainkey.example.com", "TXT"): [_strings(record, 9)],
    }
    with fake_dns(zone) as port:
        ev, client = await _probe(port, dkim_selectors=("sel2024",))
    assert ev.selectors[0].selector == "sel2024" and ev.selectors[0].given
    by_name = {s.selector: s for s in ev.selectors}
    assert by_name["mail"].txt.records == (record,)
    assert by_name["sel2024"].txt.records == (record,)
    assert by_name["google"].txt.status is DnsStatus.NXDOMAIN
    # every selector, the wildcard probe and the apex MX: one query each, nothing more
    assert client.queries == len(COMMON_SELECTORS) + 1 + 2
    found = list(dkim_keys(CheckContext(Settings(), catalogue.load()), ev))
    assert sorted(f.subject for f in found if isinstance(f, Finding) and f.code == "dkim.ok") == [
        "mail._domainkey.example.com",
        "sel2024._domainkey.example.com",
    ]


async def test_dead_resolver_gives_not_checked_quickly() -> None:
    with fake_dns({}, silent=True) as port:
        start = time.monotonic()
        ev, _ = await _probe(port, step_timeout=0.3)
        elapsed = time.monotonic() - start
    # asked concurrently: one timeout's worth, not 26 of them
    assert elapsed < 2.0
    assert all(s.txt.status is DnsStatus.TIMEOUT for s in ev.selectors)
    found = list(dkim_keys(CheckContext(Settings(), catalogue.load()), ev))
    assert found and all(isinstance(f, NotChecked) for f in found)
    assert found[-1].what == "DKIM keys"
