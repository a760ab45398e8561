"""In-process fake mail servers on 127.0.0.1 random ports, for hostile-behaviour unit tests.

`serve(handler)` starts an asyncio server whose connections run `handler(reader, writer)`;
the behaviours below are the hostile ones a real server shows now and then (a greeting that
never ends, a 1 MB line, one byte a second, garbage, TLS garbage after STARTTLS, a close
mid-reply) plus a small well-behaved SMTP server with a STARTTLS that really works.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[int]:
    """Run `handler` for every connection to 127.0.0.1:<port>; yield the port."""
    tasks: set[asyncio.Task[None]] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # the test is over
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def self_signed(name: str = "fake.example", days: int = 30, past: bool = False) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for `name`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=400 if past else 1)
    end = now - dt.timedelta(days=30) if past else now + dt.timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    tmp = Path(tempfile.mkdtemp())
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


def smtp_server(
    *,
    greeting: bytes = b"220 mx.fake.example ESMTP\r\n",
    ehlo_lines: tuple[str, ...] = ("SIZE 10240000", "PIPELINING", "STARTTLS", "8BITMIME"),
    tls: ssl.SSLContext | None = None,
    ehlo_tls_lines: tuple[str, ...] = ("SIZE 10240000", "AUTH PLAIN LOGIN"),
    relay: bool = False,
    starttls_garbage: bool = False,
    greeting_delay: float = 0.0,
    knows_ehlo: bool = True,
) -> Handler:
    """A small SMTP server that behaves (unless told otherwise)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if greeting_delay:
            await asyncio.sleep(greeting_delay)
        await _send(writer, greeting)
        in_tls = False
        while True:
            line = await reader.readline()
            if not line:
                return
            verb = line.strip().split(b" ", 1)[0].upper()
            if verb == b"EHLO" and not knows_ehlo:
                await _send(writer, b"502 5.5.1 EHLO not implemented\r\n")
            elif verb == b"EHLO":
                lines = ehlo_tls_lines if in_tls else ehlo_lines
                out = ["250-mx.fake.example hello"] + [f"250-{x}" for x in lines]
                out[-1] = "250 " + out[-1][4:]
                await _send(writer, ("\r\n".join(out) + "\r\n").encode())
            elif verb == b"HELO":
                await _send(writer, b"250 mx.fake.example\r\n")
            elif verb == b"STARTTLS":
                await _send(writer, b"220 2.0.0 Ready to start TLS\r\n")
                if starttls_garbage:
                    await _send(writer, b"\x16\x03\x01garbage-that-is-no-tls" * 20)
                    await asyncio.sleep(0.2)
                    return
                assert tls is not None
                await writer.start_tls(tls)
                in_tls = True
            elif verb == b"VRFY":
                await _send(writer, b"252 2.0.0 postmaster\r\n")
            elif verb == b"MAIL":
                await _send(writer, b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                if relay:
                    await _send(writer, b"250 2.1.5 Ok\r\n")
                else:
                    await _send(writer, b"554 5.7.1 Relay access denied\r\n")
            elif verb == b"RSET":
                await _send(writer, b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                await _send(writer, b"221 2.0.0 Bye\r\n")
                return
            else:
                await _send(writer, b"502 5.5.2 Error: command not recognized\r\n")

    return handle


async def endless_220(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for i in range(100_000):
        await _send(writer, f"220-line {i} of a greeting that never ends\r\n".encode())


async def one_mb_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _send(writer, b"220 " + b"x" * 1_048_576 + b"\r\n")
    await asyncio.sleep(5)


async def one_byte_a_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for ch in b"220 mx.slow.example ESMTP\r\n":
        await _send(writer, bytes([ch]))
        await asyncio.sleep(1.0)


async def binary_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _send(writer, bytes(range(256)) * 4 + b"\r\n")
    await asyncio.sleep(5)


async def close_mid_reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _send(writer, b"220-mx.fake.example ESMTP\r\n220-more to come")
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)
