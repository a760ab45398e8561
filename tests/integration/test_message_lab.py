"""The sample-message probe against the lab: messages signed IN THE TEST with the lab's real
DKIM private keys (lab/dns/render.py writes $LAB_RUN/dkim/keys.tsv: domain, selector, bits,
key file), verified against the keys the lab's DNS publishes, through engine.run_checks with
the message probe merged into the registered ones (as `diagnose --eml` does)."""

from __future__ import annotations

from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization

from maildoctor import engine
from maildoctor.checks import all_checks
from maildoctor.evidence.message import DKIM_PASS, MessageEvidence
from maildoctor.probes import all_probes
from maildoctor.probes.message import message_probes
from maildoctor.report import Report
from maildoctor.settings import Settings, parse_resolver

from .conftest import Lab

pytestmark = pytest.mark.lab

SELECTOR = "mail"
MESSAGE = (
    "Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=alice@{domain};\n"
    " dkim=pass header.d={domain}; dmarc=pass header.from={domain}\n"
    "Return-Path: <alice@{domain}>\n"
    "Received: from mail.{domain} (mail.{domain} [127.0.10.2])\n"
    "\tby mx.receiver.test (Postfix) with ESMTPS id 4Zlab; Sat, 28 Nov 2026 08:00:01 +0000\n"
)
BODY = (
    "From: Alice <alice@{domain}>\n"
    "To: bob@receiver.test\n"
    "Subject: Quarterly report\n"
    "Date: Sat, 28 Nov 2026 08:00:00 +0000\n"
    "Message-ID: <q4-report@{domain}>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Hello Bob,\n\nthe quarterly report is attached to the ticket. Regards, Alice\n"
)


def lab_key(lab: Lab, domain: str) -> bytes:
    """The PKCS#1 PEM of the private key whose public half `domain` publishes (dkimpy signs
    with PKCS#1; the lab's openssl keys are PKCS#8)."""
    for line in (lab.run / "dkim" / "keys.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, selector, _bits, key_file = line.split("\t")[:4]
        if name == domain and selector == SELECTOR:
            key = serialization.load_pem_private_key(Path(key_file).read_bytes(), None)
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
    pytest.fail(f"{domain} has no DKIM key in {lab.run / 'dkim' / 'keys.tsv'}")


def signed(domain: str, key: bytes) -> bytes:
    body = BODY.format(domain=domain).encode()
    signature = dkim.sign(
        body,
        SELECTOR.encode(),
        domain.encode(),
        key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID"],
        linesep=b"\n",
    )
    return MESSAGE.format(domain=domain).encode() + bytes(signature) + body


async def run(lab: Lab, path: Path, domain: str) -> Report:
    settings = Settings(resolvers=(parse_resolver(lab.resolver),), allow_private=True)
    checks = [c for c in all_checks() if c.area == "message"]
    return await engine.run_checks(
        domain, settings, checks, specs={**all_probes(), **message_probes(path)}
    )


def codes(report: Report) -> list[str]:
    return sorted(f.code for f in report.findings)


async def test_signed_with_the_lab_key_verifies(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "good.eml"
    path.write_bytes(signed("good.test", lab_key(lab, "good.test")))
    report = await run(lab, path, "good.test")
    ev = report.evidence["message.sample"]
    assert isinstance(ev, MessageEvidence)
    assert [(c.domain, c.status) for c in ev.dkim] == [("good.test", DKIM_PASS)]
    assert ev.dkim[0].key_query is not None and ev.dkim[0].key_query.records
    assert not [f for f in report.findings if "dkim" in f.code]
    assert codes(report) == ["message.ok", "message.sent_from"]
    assert ev.sending_ips == ("127.0.10.2",)


async def test_footer_added_after_signing_is_body_modified(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "footer.eml"
    footer = b"\n--\nThis e-mail and any attachments are confidential.\n"
    path.write_bytes(signed("good.test", lab_key(lab, "good.test")) + footer)
    report = await run(lab, path, "good.test")
    assert codes(report) == ["message.dkim_body_modified", "message.sent_from"]
    (found,) = [f for f in report.findings if f.code == "message.dkim_body_modified"]
    assert found.subject == "mail._domainkey.good.test"


async def test_revoked_and_missing_lab_keys(lab: Lab, tmp_path: Path) -> None:
    key = lab_key(lab, "good.test")
    revoked = tmp_path / "revoked.eml"
    revoked.write_bytes(signed("dkim-revoked.test", key))
    assert "message.dkim_key_revoked" in codes(await run(lab, revoked, "dkim-revoked.test"))
    missing = tmp_path / "missing.eml"
    missing.write_bytes(signed("dkim-none.test", key))
    assert "message.dkim_key_missing" in codes(await run(lab, missing, "dkim-none.test"))
