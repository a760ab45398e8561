"""The one small stream interface every protocol probe uses (SMTP, IMAP, POP3): asyncio streams.

connect (under the run's per-IP slot), read_reply (bounded in bytes and by ONE deadline for the
whole reply, not per read: smtplib hangs on a one-byte-a-second server and on endless lines),
write, start_tls (STARTTLS) and implicit TLS, close. Library errors are mapped into a small tree
(NetError and its kinds) that probes turn into evidence. Every line that passes is recorded in
a Transcript, with credentials redacted before they are stored.

TLS: one handshake, without verification, captures the protocol, cipher and the peer chain
(DER) even when the certificate is bad; the chain is then judged apart (net/certs.py) with
`cryptography`, the system trust store and settings.ca_file. One handshake rather than two
(verified + unverified) because (1) the server sees one connection, which matters under the
two-connections-per-IP politeness cap; (2) OpenSSL's verification stops at its first error,
while judging the captured chain ourselves names expiry, name and trust apart, each its own
finding (a STARTTLS offer with a bad certificate is still a STARTTLS offer).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import re
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from maildoctor.net.limits import Limits

MAX_REPLY = 32 * 1024  # bytes per reply, every line of a multiline reply included
PER_IP = 2  # connections to one server address at a time (politeness)
TRANSCRIPT_LINES = 200
TRANSCRIPT_WIDTH = 300
_READ = 4096


class NetError(Exception):
    """A network step that failed; `kind` is stable and becomes evidence."""

    kind: ClassVar[str] = "error"

    def __init__(self, detail: str, *, elapsed: float = 0.0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.elapsed = elapsed


class ConnectTimeout(NetError):
    kind = "timeout"


class ConnectRefused(NetError):
    kind = "refused"


class Unreachable(NetError):
    kind = "unreachable"


class NoRoute(Unreachable):
    """This machine has no route to the address's network (typically: no IPv6 here)."""

    kind = "no_route"


class ReadTimeout(NetError):
    kind = "read_timeout"


class ReplyTooLong(NetError):
    kind = "too_long"


class ProtocolError(NetError):
    kind = "protocol"


class ConnectionClosed(ProtocolError):
    kind = "closed"


class TlsError(NetError):
    kind = "tls"


class TlsTimeout(TlsError):
    """The peer never answered the handshake: a silent server more than a TLS fault."""

    kind = "read_timeout"


_CRED_WORDS = re.compile(rb"^\s*(?:\S+\s+)?(AUTH|AUTHENTICATE|LOGIN|PASS|USER)\b", re.IGNORECASE)


def redact(line: bytes) -> bytes:
    """Keep the command word, drop what follows it when it may carry a credential.

    SMTP `AUTH PLAIN <b64>`, IMAP `a1 LOGIN user pass` / `a1 AUTHENTICATE PLAIN <b64>`, POP3
    `USER name` / `PASS secret` all become `<verb> [redacted]` (the SASL mechanism is kept).
    """
    m = _CRED_WORDS.match(line)
    if not m:
        return line
    verb = m.group(1).upper()
    head = line[: m.end()]
    if verb in (b"AUTH", b"AUTHENTICATE"):
        rest = line[m.end() :].split()
        mech = rest[0] if rest else b""
        return head + (b" " + mech if mech else b"") + b" [redacted]"
    return head + b" [redacted]"


def printable(data: bytes) -> str:
    """Text safe for a report: control bytes shown as \\xNN, long lines cut."""
    text = data.decode("utf-8", "backslashreplace")
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    if len(text) > TRANSCRIPT_WIDTH:
        text = text[:TRANSCRIPT_WIDTH] + f"... ({len(data)} bytes)"
    return text


@dataclass
class Transcript:
    """What was said, `C:` client and `S:` server lines, bounded and free of credentials."""

    lines: list[str] = field(default_factory=list)
    _secret_follows: bool = False  # after AUTH/AUTHENTICATE: SASL responses are secrets

    def _add(self, text: str) -> None:
        if len(self.lines) < TRANSCRIPT_LINES:
            self.lines.append(text)
        elif len(self.lines) == TRANSCRIPT_LINES:
            self.lines.append("... (transcript cut)")

    def client(self, line: bytes) -> None:
        stripped = line.rstrip(b"\r\n")
        if self._secret_follows:
            self._add("C: [redacted]")
            return
        safe = redact(stripped)
        if safe != stripped and re.match(rb"^\s*(?:\S+\s+)?AUTH", stripped, re.IGNORECASE):
            self._secret_follows = True
        self._add("C: " + printable(safe))

    def server(self, line: bytes) -> None:
        # A 334 / "+" challenge keeps the SASL exchange going; anything else ends it.
        if self._secret_follows and not (line.startswith((b"334", b"+ ")) or line == b"+"):
            self._secret_follows = False
        self._add("S: " + printable(line))

    def note(self, text: str) -> None:
        self._add(f"-- {text}")


@dataclass(frozen=True)
class TlsInfo:
    """What one TLS handshake showed; the chain is captured even when it does not verify."""

    version: str
    cipher: str
    cipher_bits: int
    chain_der: tuple[bytes, ...]  # leaf first, as the server sent it
    server_hostname: str


def tls_context(*, legacy: bool = False) -> ssl.SSLContext:
    """A client context that completes the handshake whatever the certificate (judged later).

    legacy=True offers only TLS 1.0/1.1 with every cipher: OpenSSL 3 on Debian refuses both at
    its default security level, so "DEFAULT:@SECLEVEL=0" is needed for it even to offer them.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if legacy:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # deprecated on purpose: we test that they are refused
            warnings.simplefilter("ignore", DeprecationWarning)
            with contextlib.suppress(ValueError, ssl.SSLError):
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


def _connect_error(exc: OSError, where: str) -> NetError:
    if isinstance(exc, ConnectionRefusedError):
        return ConnectRefused(f"connection to {where} refused (RST: nothing listens there)")
    if exc.errno in (errno.ENETUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return NoRoute(f"no route from this machine to {where}: {exc.strerror or exc}")
    if exc.errno == errno.EHOSTUNREACH:
        return Unreachable(f"{where} unreachable: {exc.strerror or exc}")
    if exc.errno == errno.ETIMEDOUT:
        return ConnectTimeout(f"connection to {where} timed out")
    return Unreachable(f"cannot connect to {where}: {exc.strerror or exc}")


def _tls_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        text = str(exc)
        return f"{reason}: {text}" if reason and reason not in text else text
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Stream:
    """One connection: bounded replies, one deadline per reply, STARTTLS, a transcript."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        ip: str,
        port: int,
        transcript: Transcript,
        max_reply: int = MAX_REPLY,
    ) -> None:
        self.ip = ip
        self.port = port
        self.transcript = transcript
        self.max_reply = max_reply
        self.tls: TlsInfo | None = None
        self.connect_s = 0.0  # the TCP handshake alone (waiting for a slot excluded)
        self._reader = reader
        self._writer = writer
        self._buffer = b""
        self._closed = False

    @property
    def where(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}"

    async def read_reply(self, is_last: Callable[[bytes], bool], timeout: float) -> list[bytes]:
        """Read lines (CRLF or LF ended, ends stripped) until `is_last(line)` says the reply ended.

        One deadline for the whole reply, however the bytes trickle in; at most max_reply bytes.
        """
        lines: list[bytes] = []
        size = 0
        start = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    nl = self._buffer.find(b"\n")
                    if nl >= 0:
                        raw, self._buffer = self._buffer[: nl + 1], self._buffer[nl + 1 :]
                        size += len(raw)
                        if size > self.max_reply:
                            raise ReplyTooLong(self._too_long(size))
                        line = raw.rstrip(b"\r\n")
                        self.transcript.server(line)
                        lines.append(line)
                        if is_last(line):
                            return lines
                        continue
                    if size + len(self._buffer) > self.max_reply:
                        raise ReplyTooLong(self._too_long(size + len(self._buffer)))
                    try:
                        chunk = await self._reader.read(_READ)
                    except (ConnectionError, OSError, ssl.SSLError) as exc:
                        raise ConnectionClosed(
                            f"{self.where} dropped the connection mid-reply ({_tls_reason(exc)})"
                        ) from None
                    if not chunk:
                        if self._buffer:
                            self.transcript.server(self._buffer)
                        got = f" after {len(lines)} line(s)" if lines or self._buffer else ""
                        raise ConnectionClosed(f"{self.where} closed the connection{got}")
                    self._buffer += chunk
        except TimeoutError:
            nbytes = size + len(self._buffer)
            self.transcript.note(f"no complete reply within {timeout:g} s ({nbytes} bytes)")
            raise ReadTimeout(
                f"{self.where}: no complete reply within {timeout:g} s ({nbytes} bytes received)",
                elapsed=time.monotonic() - start,
            ) from None
        except ReplyTooLong as exc:
            self.transcript.note(exc.detail)
            raise

    def _too_long(self, size: int) -> str:
        return f"{self.where}: reply longer than {self.max_reply} bytes ({size} read), abandoned"

    async def write(self, line: bytes, timeout: float) -> None:
        """Send one command line (CRLF added) and wait for it to leave, within `timeout`."""
        self.transcript.client(line)
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(line + b"\r\n")
                await self._writer.drain()
        except TimeoutError:
            raise ReadTimeout(f"{self.where}: could not send within {timeout:g} s") from None
        except (ConnectionError, OSError) as exc:
            raise ConnectionClosed(f"{self.where} closed the connection ({exc})") from None

    async def start_tls(
        self, server_hostname: str, timeout: float, *, legacy: bool = False
    ) -> TlsInfo:
        """Upgrade this connection (STARTTLS, or at once for implicit TLS) and capture the facts.

        Bytes the server sent before the handshake are dropped, never read as TLS-protected
        (RFC 3207 4: the command injection of CVE-2011-0411).
        """
        if self._buffer:
            self.transcript.note(f"{len(self._buffer)} plaintext bytes after the go-ahead dropped")
            self._buffer = b""
        self.transcript.note(f"TLS handshake (SNI {server_hostname})")
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(
                    tls_context(legacy=legacy),
                    server_hostname=server_hostname or None,
                    ssl_handshake_timeout=timeout,
                )
        except TimeoutError:
            raise TlsTimeout(
                f"TLS handshake with {self.where} did not finish within {timeout:g} s"
            ) from None
        except (ssl.SSLError, ConnectionError, OSError, EOFError) as exc:
            raise TlsError(f"TLS handshake with {self.where} failed: {_tls_reason(exc)}") from None
        info = capture_tls(self._writer.get_extra_info("ssl_object"), server_hostname)
        self.tls = info
        self.transcript.note(f"TLS established: {info.version}, {info.cipher}")
        return info

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._writer.close()
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


def capture_tls(ssl_object: Any, server_hostname: str) -> TlsInfo:
    """Protocol, cipher and chain (DER) of an established TLS session."""
    version = str(ssl_object.version() or "")
    cipher = ssl_object.cipher() or ("", "", 0)
    chain: list[bytes] = []
    inner = getattr(ssl_object, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None) or getattr(
        ssl_object, "get_unverified_chain", None
    )
    if getter is not None:
        with contextlib.suppress(Exception):
            for cert in getter() or ():
                der = cert if isinstance(cert, bytes) else cert.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
                chain.append(bytes(der))
    if not chain:
        leaf = ssl_object.getpeercert(binary_form=True)
        if leaf:
            chain.append(bytes(leaf))
    return TlsInfo(
        version=version,
        cipher=str(cipher[0]),
        cipher_bits=int(cipher[2] or 0),
        chain_der=tuple(chain),
        server_hostname=server_hostname,
    )


async def _open(
    ip: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.open_connection(ip, port, limit=MAX_REPLY * 2)
    except TimeoutError:
        raise ConnectTimeout(
            f"no answer to the connection attempt to {where} within {timeout:g} s "
            "(packets silently dropped)"
        ) from None
    except OSError as exc:
        raise _connect_error(exc, where) from None


@contextlib.asynccontextmanager
async def connect(
    limits: Limits,
    ip: str,
    port: int,
    *,
    timeout: float,
    transcript: Transcript | None = None,
    max_reply: int = MAX_REPLY,
) -> AsyncIterator[Stream]:
    """Open a TCP connection under the per-IP slot (at most PER_IP at once) and close it after."""
    script = transcript if transcript is not None else Transcript()
    # Keyed apart from other protocols' slots: Limits fixes a key's cap at its first use, and
    # an HTTPS fetch to the same address (default cap) must not lift the mail ports' cap of 2.
    async with limits.slot(f"mail:{ip}", cap=PER_IP):
        start = time.monotonic()
        try:
            reader, writer = await _open(ip, port, timeout)
        except NetError as exc:
            exc.elapsed = time.monotonic() - start
            script.note(exc.detail)
            raise
        stream = Stream(reader, writer, ip=ip, port=port, transcript=script, max_reply=max_reply)
        stream.connect_s = round(time.monotonic() - start, 3)
        stream.transcript.note(f"connected to {stream.where} in {stream.connect_s:.3f} s")
        try:
            yield stream
        finally:
            await stream.close()
