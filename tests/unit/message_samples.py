"""Helpers for the sample-message tests: DKIM keys and signing (dkimpy), a fake DnsClient,
running the probe and the check."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.message import message_sample
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.message import MessageEvidence
from maildoctor.net.limits import Limits
from maildoctor.probes import ProbeContext
from maildoctor.probes.message import probe_message
from maildoctor.report import Finding, NotChecked
from maildoctor.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "messages"
SIGNED = (b"From", b"To", b"Subject", b"Date", b"Message-ID")


@cache
def rsa_key(bits: int = 2048) -> tuple[bytes, str]:
    """(PKCS#1 PEM private key for dkimpy, base64 p= of the public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(der).decode()


def sign(message: bytes, domain: str, selector: str = "mail", key: bytes | None = None) -> bytes:
    """The message with a DKIM-Signature on top (relaxed/relaxed, rsa-sha256)."""
    pem = key if key is not None else rsa_key()[0]
    linesep = b"\r\n" if b"\r\n" in message else b"\n"
    header = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        pem,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=list(SIGNED),
        linesep=linesep,
    )
    return bytes(header) + message


def key_record(p: str | None = None) -> str:
    return f"v=DKIM1; k=rsa; p={rsa_key()[1] if p is None else p}"


class FakeDns:
    """Answers like DnsClient.query from a dict: name -> records, or a DnsStatus."""

    def __init__(self, zone: Mapping[str, list[str] | DnsStatus]) -> None:
        self.zone = {k.lower(): v for k, v in zone.items()}
        self.asked: list[tuple[str, str]] = []

    async def query(self, name: str, rdtype: str) -> DnsResult:
        self.asked.append((name, rdtype))
        found = self.zone.get(name.lower().rstrip("."))
        if found is None:
            return DnsResult(name, rdtype, DnsStatus.NXDOMAIN)
        if isinstance(found, DnsStatus):
            return DnsResult(name, rdtype, found, detail="fake")
        return DnsResult(name, rdtype, DnsStatus.NOERROR, records=tuple(found))


def probe_ctx(
    zone: Mapping[str, list[str] | DnsStatus] | None = None, **kw: object
) -> ProbeContext:
    settings = Settings(**kw)  # type: ignore[arg-type]
    dns = FakeDns(zone or {})
    return ProbeContext("example.com", settings, dns, Limits(8, 4))  # type: ignore[arg-type]


async def evidence_of(
    path: Path, zone: Mapping[str, list[str] | DnsStatus] | None = None
) -> MessageEvidence:
    return await probe_message(probe_ctx(zone), path)


def judge(ev: MessageEvidence) -> tuple[list[Finding], list[NotChecked]]:
    ctx = CheckContext(Settings(), catalogue.load())
    findings: list[Finding] = []
    skipped: list[NotChecked] = []
    for item in message_sample(ctx, ev):
        (skipped if isinstance(item, NotChecked) else findings).append(item)
    return findings, skipped


def codes(ev: MessageEvidence) -> list[str]:
    return sorted(f.code for f in judge(ev)[0])


def by_code(ev: MessageEvidence, code: str) -> Finding:
    (found,) = [f for f in judge(ev)[0] if f.code == code]
    return found
