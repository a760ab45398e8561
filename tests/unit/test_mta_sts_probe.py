"""The MTA-STS, TLS-RPT and autoconfig probes end to end (fake DNS on loopback): bounded, never
a hang, and nothing fetched from addresses the internet cannot reach unless allowed."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maildoctor.checks import all_checks
from maildoctor.engine import run_checks
from maildoctor.settings import Resolver, Settings

from .fake_dns import fake_dns
from .test_mta_sts_https import POLICY, _cert, _pem, _read_request

BLACKHOLE = "127.0.0.77"  # accepts TCP on 443 (kernel backlog) and never speaks TLS
ZONE = {
    ("example.test", "MX"): ["10 mx.example.test."],
    ("mx.example.test", "A"): ["127.0.0.1"],
    ("_mta-sts.example.test", "TXT"): ['"v=STSv1; id=1"'],
    ("mta-sts.example.test", "A"): [BLACKHOLE],
    ("autoconfig.example.test", "A"): [BLACKHOLE],
    ("autodiscover.example.test", "A"): [BLACKHOLE],
    ("_smtp._tls.example.test", "TXT"): ['"v=TLSRPTv1; rua=mailto:tls@example.test"'],
    ("_imaps._tcp.example.test", "SRV"): ["0 1 993 mx.example.test."],
}
MINE = ("mta_sts", "tlsrpt", "autoconfig")


@pytest.fixture
def blackhole() -> Iterator[None]:
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((BLACKHOLE, 443))
    except OSError as exc:
        sock.close()
        pytest.skip(f"cannot listen on {BLACKHOLE}:443 ({exc})")
    sock.listen(16)
    try:
        yield
    finally:
        sock.close()


async def _run(port: int, **kw: object) -> tuple[dict[str, list[str]], float, object]:
    settings = Settings(resolvers=(Resolver("127.0.0.1", port),), **kw)  # type: ignore[arg-type]
    checks = [c for c in all_checks() if c.name.split(".")[0] in MINE]
    start = time.monotonic()
    report = await run_checks("example.test", settings, checks)
    elapsed = time.monotonic() - start
    found: dict[str, list[str]] = {}
    for f in report.findings:
        found.setdefault(f.code, []).append(f.cause)
    return found, elapsed, report


async def test_silent_https_servers_cost_bounded_time(blackhole: None) -> None:
    with fake_dns(ZONE) as port:
        found, elapsed, report = await _run(port, step_timeout=0.5, allow_private=True)
    assert elapsed < 3.0, f"took {elapsed:.1f} s"
    assert "timeout" in found["mta_sts.policy_unreachable"][0]
    assert len(found["autoconfig.endpoint_broken"]) == 2  # autoconfig and autodiscover
    assert all("timeout" in c for c in found["autoconfig.endpoint_broken"])
    assert "autoconfig.ok" in found  # the SRV record still works
    assert "tlsrpt.ok" in found
    assert report.not_checked == ()  # type: ignore[attr-defined]


async def test_private_addresses_are_not_fetched_without_allow_private(blackhole: None) -> None:
    with fake_dns(ZONE) as port:
        found, elapsed, _ = await _run(port, step_timeout=0.5)
    assert elapsed < 1.5  # nothing was connected to
    (cause,) = found["mta_sts.policy_unreachable"]
    assert "non-public addresses: 127.0.0.77 (loopback)" in cause


WEB = "127.0.0.78"
WEB_ZONE = {
    **ZONE,
    ("mta-sts.example.test", "A"): [WEB],
    ("autoconfig.example.test", "A"): [WEB],
    ("autodiscover.example.test", "A"): [],
}
TB_XML = (
    '<clientConfig version="1.1"><emailProvider id="example.test">'
    '<incomingServer type="imap"><hostname>mx.example.test</hostname><port>993</port>'
    "<socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>"
)


def _web_pki(tmp_path: Path) -> tuple[Path, Path]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("probe CA", ca_key, "probe CA", ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("mta-sts.example.test"), x509.DNSName("autoconfig.example.test")]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(_pem(ca))
    (tmp_path / "web.pem").write_bytes(_pem(leaf) + _pem(key))
    return tmp_path / "ca.pem", tmp_path / "web.pem"


async def test_policy_fetched_and_autoconfig_redirect_followed(tmp_path: Path) -> None:
    ca_file, web_pem = _web_pki(tmp_path)
    paths: list[str] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await _read_request(r)
        path = head[0].split()[1]
        paths.append(path)
        if path == "/.well-known/mta-sts.txt":
            body, extra = POLICY.replace(b"mx.example.test", b"*.example.test"), b""
            status = b"200 OK"
        elif path.startswith("/mail/config-v1.1.xml"):
            body, status = b"", b"302 Found"
            extra = b"Location: https://autoconfig.example.test/real/config.xml\r\n"
        else:
            body, extra, status = TB_XML.encode(), b"", b"200 OK"
        w.write(
            b"HTTP/1.1 %s\r\n%sContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
            % (status, extra, len(body))
            + body
        )
        await w.drain()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(web_pem)
    try:
        srv = await asyncio.start_server(handler, WEB, 443, ssl=ctx)
    except OSError as exc:
        pytest.skip(f"cannot listen on {WEB}:443 ({exc})")
    try:
        with fake_dns(WEB_ZONE) as port:
            found, elapsed, _ = await _run(port, allow_private=True, ca_file=ca_file)
    finally:
        srv.close()
    assert "mta_sts.ok" in found, found
    assert "autoconfig.ok" in found
    assert "imap mx.example.test:993 ssl" in found["autoconfig.ok"][0]
    assert paths.count("/real/config.xml") == 1  # the redirect was followed once
    assert elapsed < 3.0
