"""net/https.py against real TLS servers on loopback (asyncio, certificates made here)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maildoctor.evidence.http import FetchError
from maildoctor.net.https import fetch
from maildoctor.settings import Settings

HOST = "mta-sts.example.test"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    san: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(obj: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test CA", ca_key, "test CA", ca_key, ca=True)
    (d / "ca.pem").write_bytes(_pem(ca))
    for stem, san in (("good", HOST), ("wrong", "www.hosting.test")):
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _cert(san, key, "test CA", ca_key, ca=False, san=san)
        (d / f"{stem}.pem").write_bytes(_pem(leaf) + _pem(key))
    return {"ca": d / "ca.pem", "good": d / "good.pem", "wrong": d / "wrong.pem"}


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler, certfile: Path | None) -> AsyncIterator[int]:
    ctx = None
    if certfile is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(certfile)
    tasks: set[asyncio.Task[None]] = set()

    async def wrapped(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(r, w)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()

    srv = await asyncio.start_server(wrapped, "127.0.0.1", 0, ssl=ctx)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()
        for t in tasks:
            t.cancel()


async def _read_request(r: asyncio.StreamReader) -> list[str]:
    lines = []
    while True:
        line = (await r.readline()).decode().rstrip("\r\n")
        if not line:
            return lines
        lines.append(line)


def respond(raw: bytes, *, then_wait: float = 0.0) -> Handler:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _read_request(r)
        w.write(raw)
        await w.drain()
        if then_wait:
            await asyncio.sleep(then_wait)

    return handler


def settings(pki: dict[str, Path], **kw: object) -> Settings:
    base: dict[str, object] = {"ca_file": pki["ca"], "allow_private": True, "step_timeout": 1.0}
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r\n"


async def test_200_with_content_length(pki: dict[str, Path]) -> None:
    seen: list[list[str]] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(r))
        w.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\n\r\n" % len(POLICY) + POLICY
        )
        await w.drain()
        await asyncio.sleep(5)  # keeps the connection open: Content-Length must end the read

    async with server(handler, pki["good"]) as port:
        start = time.monotonic()
        got = await fetch(
            HOST, "/.well-known/mta-sts.txt", ["127.0.0.1"], settings=settings(pki), port=port
        )
        elapsed = time.monotonic() - start
    assert got.ok and got.status == 200 and got.error is FetchError.NONE
    assert got.body == POLICY.decode() and got.body_bytes == len(POLICY) and not got.truncated
    assert got.content_type == "text/plain"
    assert got.tls_version.startswith("TLSv1.")
    assert elapsed < 1.0
    request = seen[0]
    assert request[0] == "GET /.well-known/mta-sts.txt HTTP/1.1"
    assert f"Host: {HOST}" in request and "Connection: close" in request


async def test_404_is_a_response_not_an_error(pki: dict[str, Path]) -> None:
    raw = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nnot found"
    async with server(respond(raw), pki["good"]) as port:
        got = await fetch(HOST, "/x", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.ok and got.status == 404 and got.reason == "Not Found" and got.body == "not found"
    assert "HTTP 404 Not Found" in got.describe()


async def test_redirect_is_not_followed(pki: dict[str, Path]) -> None:
    requests: list[list[str]] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        requests.append(await _read_request(r))
        w.write(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.test/policy\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
        await w.drain()

    async with server(handler, pki["good"]) as port:
        got = await fetch(
            HOST, "/.well-known/mta-sts.txt", ["127.0.0.1"], settings=settings(pki), port=port
        )
    assert got.status == 301 and got.location == "https://elsewhere.test/policy"
    assert len(requests) == 1  # RFC 8461 3.3: no second request
    assert "-> https://elsewhere.test/policy" in got.describe()


async def test_body_over_the_cap_is_cut_and_reported(pki: dict[str, Path]) -> None:
    body = b"x" * 200_000
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    async with server(respond(raw), pki["good"]) as port:
        got = await fetch(
            HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port, max_bytes=65536
        )
    assert got.ok and got.truncated and got.body_bytes == 65536 and len(got.body) == 65536
    assert "cut at the size cap" in got.describe()


async def test_body_without_length_over_the_cap(pki: dict[str, Path]) -> None:
    # no Content-Length: read until the server closes, but never more than the cap
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\n\r\n")
        for _ in range(100):  # up to 10 MB if the client kept reading
            w.write(b"y" * 100_000)
            await w.drain()

    async with server(handler, pki["good"]) as port:
        got = await fetch(
            HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port, max_bytes=1000
        )
    assert got.ok and got.truncated and got.body == "y" * 1000


async def test_chunked_body(pki: dict[str, Path]) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    )
    async with server(respond(raw, then_wait=5), pki["good"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.ok and got.body == "hello, world" and not got.truncated
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"400\r\n"
        + b"z" * 1024
        + b"\r\n0\r\n\r\n"
    )
    async with server(respond(raw), pki["good"]) as port:
        got = await fetch(
            HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port, max_bytes=100
        )
    assert got.truncated and got.body == "z" * 100


async def test_server_that_never_answers_times_out(pki: dict[str, Path]) -> None:
    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with server(silent, pki["good"]) as port:  # TLS handshake done, no HTTP answer
        start = time.monotonic()
        got = await fetch(
            HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port, total_timeout=0.5
        )
        elapsed = time.monotonic() - start
    assert got.error is FetchError.TIMEOUT and not got.ok
    assert 0.4 < elapsed < 2.0
    async with server(silent, None) as port:  # TCP accepted, no TLS handshake either
        start = time.monotonic()
        got = await fetch(
            HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port, connect_timeout=0.3
        )
        elapsed = time.monotonic() - start
    assert got.error is FetchError.TIMEOUT and elapsed < 2.0


async def test_certificate_failures(pki: dict[str, Path]) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with server(respond(ok), pki["wrong"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.error is FetchError.CERT and "mismatch" in got.detail.lower()
    async with server(respond(ok), pki["good"]) as port:  # the CA is not trusted without --ca-file
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki, ca_file=None), port=port)
    assert got.error is FetchError.CERT and got.status is None


async def test_not_http_and_oversized_headers(pki: dict[str, Path]) -> None:
    async with server(respond(b"220 smtp.example.test ESMTP\r\n"), pki["good"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.error is FetchError.PROTOCOL and "not an HTTP response" in got.detail
    huge = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 100) for i in range(500))
    async with server(respond(huge + b"\r\n"), pki["good"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.error is FetchError.PROTOCOL and "headers too large" in got.detail
    long_line = b"HTTP/1.1 200 OK\r\nX: " + b"b" * 20000 + b"\r\n\r\n"
    async with server(respond(long_line), pki["good"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.error is FetchError.PROTOCOL and "longer than" in got.detail


async def test_refused_then_next_address(pki: dict[str, Path]) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with server(respond(ok), pki["good"]) as port:
        # 127.0.0.2 has nothing on that port: refused, then 127.0.0.1 answers
        got = await fetch(HOST, "/", ["127.0.0.2", "127.0.0.1"], settings=settings(pki), port=port)
    assert got.ok and got.address == "127.0.0.1" and got.body == "ok"
    got = await fetch(HOST, "/", ["127.0.0.2"], settings=settings(pki), port=port)
    assert got.error is FetchError.REFUSED


async def test_private_addresses_and_no_address(pki: dict[str, Path]) -> None:
    got = await fetch(
        HOST, "/", ["10.1.2.3", "127.0.0.1"], settings=settings(pki, allow_private=False)
    )
    assert got.error is FetchError.PRIVATE and "10.1.2.3 (private)" in got.detail
    assert got.address == ""  # nothing was connected to
    got = await fetch(HOST, "/", ["not-an-ip"], settings=settings(pki))
    assert got.error is FetchError.NO_ADDRESS


async def test_post_sends_the_body(pki: dict[str, Path]) -> None:
    got_body: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        head = await _read_request(r)
        length = next(int(h.split(":")[1]) for h in head if h.lower().startswith("content-length"))
        got_body.append(await r.readexactly(length))
        w.write(b"HTTP/1.1 405 Not Allowed\r\nContent-Length: 0\r\n\r\n")
        await w.drain()

    async with server(handler, pki["good"]) as port:
        got = await fetch(
            HOST,
            "/autodiscover/autodiscover.xml",
            ["127.0.0.1"],
            settings=settings(pki),
            port=port,
            method="POST",
            body=b"<x/>",
            content_type="text/xml",
        )
    assert got.status == 405 and got_body == [b"<x/>"]


async def test_body_until_the_server_closes(pki: dict[str, Path]) -> None:
    # HTTP/1.0 style: no length, the end of the body is the end of the connection
    async with server(respond(b"HTTP/1.0 200 OK\r\n\r\n" + POLICY), pki["good"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.ok and got.body == POLICY.decode() and not got.truncated


async def test_connection_closed_before_an_answer(pki: dict[str, Path]) -> None:
    async def hang_up(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _read_request(r)
        w.transport.abort()  # no response at all

    async with server(hang_up, pki["good"]) as port:
        got = await fetch(HOST, "/", ["127.0.0.1"], settings=settings(pki), port=port)
    assert got.error is FetchError.PROTOCOL and "status line" in got.detail
