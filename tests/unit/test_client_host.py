"""Which host a mail client uses: --host, RFC 6186 SRV, mail./smtp. names, else the MX."""

from __future__ import annotations

from types import SimpleNamespace

from maildoctor.evidence.dns import DnsResult, DnsStatus, MxEvidence, MxHost
from maildoctor.probes.servers import client_host


class FakeDns:
    def __init__(self, answers: dict[tuple[str, str], tuple[str, ...]]) -> None:
        self.answers = answers

    async def query(self, name: str, rdtype: str) -> DnsResult:
        records = self.answers.get((name, rdtype))
        if records is None:
            return DnsResult(name, rdtype, DnsStatus.NXDOMAIN)
        return DnsResult(name, rdtype, DnsStatus.NOERROR, records)


MX = MxEvidence(
    "example.com",
    DnsResult("example.com", "MX", DnsStatus.NOERROR, ("10 mx.example.com.",)),
    (
        MxHost(
            10,
            "mx.example.com",
            DnsResult("mx.example.com", "A", DnsStatus.NOERROR, ("192.0.2.25",)),
            None,
        ),
    ),
)


def _ctx(answers: dict[tuple[str, str], tuple[str, ...]], host: str | None = None) -> object:
    return SimpleNamespace(
        target="example.com", dns=FakeDns(answers), settings=SimpleNamespace(host=host)
    )


SRV = ("_submission._tcp", "_submissions._tcp")


async def test_srv_first_then_names_then_mx() -> None:
    answers = {
        ("_submissions._tcp.example.com", "SRV"): ("0 1 465 smtp.provider.example.",),
        ("smtp.provider.example", "A"): ("198.51.100.5",),
        ("mail.example.com", "A"): ("192.0.2.30",),
    }
    found = await client_host(_ctx(answers), MX, SRV, ("smtp", "mail"))  # type: ignore[arg-type]
    assert found is not None and found.name == "smtp.provider.example" and found.port == 465
    del answers[("_submissions._tcp.example.com", "SRV")]
    found = await client_host(_ctx(answers), MX, SRV, ("smtp", "mail"))  # type: ignore[arg-type]
    assert found is not None and found.name == "mail.example.com"
    assert found.source == "mail.example.com exists (no SRV record)"
    found = await client_host(_ctx({}), MX, SRV, ("smtp", "mail"))  # type: ignore[arg-type]
    assert found is not None and found.name == "mx.example.com" and "MX" in found.source


async def test_srv_dot_means_no_service_and_host_option_wins() -> None:
    answers = {("_submission._tcp.example.com", "SRV"): ("0 0 0 .",)}
    found = await client_host(_ctx(answers), MX, SRV, ())  # type: ignore[arg-type]
    assert found is not None and found.name == "mx.example.com"  # RFC 6186 4: "." = none
    named = await client_host(_ctx({}, host="192.0.2.99"), MX, SRV, ())  # type: ignore[arg-type]
    assert named is not None and named.addresses == ("192.0.2.99",)
    assert named.source == "named with --host"
