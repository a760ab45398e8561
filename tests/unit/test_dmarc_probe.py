"""The DMARC probe through the real DNS client against a tiny DNS server on loopback."""

from __future__ import annotations

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.dmarc import dmarc_policy
from maildoctor.evidence.dmarc import DmarcEvidence
from maildoctor.evidence.dns import DnsStatus
from maildoctor.net.dns import DnsClient
from maildoctor.net.limits import Limits
from maildoctor.probes import ProbeContext
from maildoctor.probes.dmarc import MAX_DESTINATIONS, probe_dmarc
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Settings, parse_resolver

from .fake_dns import fake_dns


async def _probe(port: int, target: str) -> tuple[DmarcEvidence, DnsClient]:
    settings = Settings(resolvers=(parse_resolver(f"127.0.0.1:{port}"),), step_timeout=0.5)
    limits = Limits(64, 8)
    client = DnsClient(settings, limits)
    return await probe_dmarc(ProbeContext(target, settings, client, limits)), client


def _strings(text: str) -> str:
    """Zone-file TXT rdata: `text` cut in character-strings of 255 octets."""
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


def _codes(ev: DmarcEvidence) -> list[str]:
    out = dmarc_policy(CheckContext(Settings(), catalogue.load()), ev)
    return sorted(f.code for f in out if isinstance(f, Finding))


async def test_subdomain_falls_back_and_destinations_are_asked() -> None:
    org_record = (
        "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.co.uk,mailto:a@agg.net; "
        "ruf=mailto:f@forensic.org"
    )
    zone = {
        ("shop.example.co.uk", "MX"): ["10 mx.example.co.uk."],
        ("_dmarc.example.co.uk", "TXT"): [f'"{org_record}"'],
        # agg.net authorises the reports (RFC 7489 7.1); forensic.org does not exist
        ("example.co.uk._report._dmarc.agg.net", "TXT"): ['"v=DMARC1"'],
    }
    with fake_dns(zone) as port:
        ev, client = await _probe(port, "shop.example.co.uk")
    assert ev.organizational_domain == "example.co.uk"  # co.uk is a public suffix
    assert ev.own.status is DnsStatus.NXDOMAIN and ev.org is not None
    assert ev.org.records == (org_record,)
    asked = {a.destination: a.txt.status for a in ev.authorizations}
    assert asked == {"agg.net": DnsStatus.NOERROR, "forensic.org": DnsStatus.NXDOMAIN}
    assert all(a.policy_domain == "example.co.uk" for a in ev.authorizations)
    assert client.queries == 5  # own, org, apex MX, two authorisations
    assert _codes(ev) == ["dmarc.external_destination_unauthorized", "dmarc.org_fallback"]


async def test_own_record_wins_and_destinations_are_bounded() -> None:
    uris = ",".join(f"mailto:r@d{i}.example.net" for i in range(30))
    zone = {
        ("example.com", "MX"): ["10 mx.example.com."],
        ("_dmarc.example.com", "TXT"): [_strings(f"v=DMARC1; p=reject; rua={uris}")],
    }
    with fake_dns(zone) as port:
        ev, _ = await _probe(port, "example.com")
    assert ev.org is None  # example.com is its own organizational domain
    assert len(ev.authorizations) == MAX_DESTINATIONS
    # the record lists 30, the parser reads 20 (RFC 7489 6.2 needs only 2), the probe asks 10
    assert len(ev.unchecked_destinations) == 20 - MAX_DESTINATIONS


async def test_dead_resolver_is_not_missing() -> None:
    with fake_dns({}, silent=True) as port:
        ev, _ = await _probe(port, "sub.example.com")
    assert ev.own.status is DnsStatus.TIMEOUT
    out = list(dmarc_policy(CheckContext(Settings(), catalogue.load()), ev))
    assert out and all(isinstance(n, NotChecked) for n in out)
