"""A small, bounded HTTPS client: one request, no redirects followed, every step under a limit.

Written on asyncio streams and the standard ssl module rather than an HTTP library: the probes
need exactly one HTTP/1.1 request per connection, with bounds a library does not give in one
place (bytes of the status line, of the headers, of the body, with the cut reported rather than
raised), certificate failures kept apart from other TLS failures, the run's own DNS answers as
the addresses to connect to (never the system resolver), and no redirect ever followed (RFC 8461
3.3 forbids following them for MTA-STS; callers that may follow one do so themselves).

`fetch_ex` also speaks plain http:// (the webmail probe asks whether port 80 redirects to
https) and, with verify=False, completes the handshake whatever the certificate and hands back
the captured chain (net/stream.py's TlsInfo) for net/certs.py to judge, as the mail probes do.

Every outcome is an `HttpFetch`; nothing here raises on what a server does.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from maildoctor import __version__
from maildoctor.addresses import parse_ip, unreachable_kind
from maildoctor.evidence.http import FetchError, HttpFetch
from maildoctor.net.limits import Limits
from maildoctor.net.stream import TlsInfo, capture_tls, tls_context
from maildoctor.settings import Settings

DEFAULT_MAX_BYTES = 64 * 1024  # RFC 8461 3.3: a policy body of 64 KiB is plenty
MAX_LINE = 8 * 1024  # one status or header line
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 100
MAX_ADDRESSES = 4  # addresses of one name tried, in order, when a connection fails
MAX_INFORMATIONAL = 5  # 1xx responses skipped before the real one


@lru_cache(maxsize=8)
def _context(ca_file: Path | None) -> ssl.SSLContext:
    # The system's trust store, plus --ca-file (the lab CA, a private CA): a certificate must
    # verify and name the host (RFC 8461 3.3: valid for the mta-sts host, RFC 6125).
    ctx = ssl.create_default_context()
    if ca_file is not None:
        ctx.load_verify_locations(cafile=str(ca_file))
    return ctx


def ssl_context(settings: Settings) -> ssl.SSLContext:
    return _context(settings.ca_file)


class _Fail(Exception):
    def __init__(self, error: FetchError, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


DEFAULT_PORTS = {"https": 443, "http": 80}


def _url(host: str, port: int, path: str, scheme: str = "https") -> str:
    shown = f"[{host}]" if ":" in host else host
    default = DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{shown}{'' if port == default else f':{port}'}{path}"


def _request(
    method: str, host: str, path: str, body: bytes, content_type: str, authority: str = ""
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {authority or host}",
        f"User-Agent: maildoctor/{__version__}",
        "Accept: */*",
        "Connection: close",
    ]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


async def _line(reader: asyncio.StreamReader, what: str) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise _Fail(FetchError.PROTOCOL, f"{what} longer than {MAX_LINE} bytes") from None
    except asyncio.IncompleteReadError as exc:
        got = f" after {len(exc.partial)} bytes" if exc.partial else ""
        raise _Fail(FetchError.PROTOCOL, f"connection closed in the {what}{got}") from None
    except (OSError, ssl.SSLError) as exc:  # reset by the peer, a TLS alert mid-stream
        raise _Fail(FetchError.PROTOCOL, f"connection broke in the {what}: {exc}") from None


async def _head(reader: asyncio.StreamReader) -> tuple[int, str, list[tuple[str, str]]]:
    for _ in range(MAX_INFORMATIONAL + 1):
        raw = await _line(reader, "status line")
        text = raw.decode("latin-1").rstrip("\r\n")
        parts = text.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            shown = text[:60].encode("unicode_escape").decode("ascii")
            raise _Fail(FetchError.PROTOCOL, f"not an HTTP response: {shown!r}")
        status, reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
        headers: list[tuple[str, str]] = []
        size = 0
        while True:
            raw = await _line(reader, "headers")
            size += len(raw)
            if size > MAX_HEADER_BYTES or len(headers) >= MAX_HEADERS:
                raise _Fail(FetchError.PROTOCOL, "response headers too large")
            line = raw.decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, sep, value = line.partition(":")
            if sep:
                headers.append((name.strip().lower(), value.strip()))
        if not 100 <= status < 200 or status == 101:
            return status, reason, headers
    raise _Fail(FetchError.PROTOCOL, f"more than {MAX_INFORMATIONAL} informational responses")


async def _read_upto(reader: asyncio.StreamReader, n: int) -> bytes:
    """Up to n bytes, fewer only at end of stream."""
    out = bytearray()
    while len(out) < n:
        chunk = await reader.read(min(65536, n - len(out)))
        if not chunk:
            break
        out += chunk
    return bytes(out)


async def _body(
    reader: asyncio.StreamReader, headers: list[tuple[str, str]], cap: int
) -> tuple[bytes, bool]:
    """The body, at most `cap` bytes, and whether there was more."""
    values = dict(headers)
    if "chunked" in values.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size_line = (await _line(reader, "chunk size")).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _Fail(FetchError.PROTOCOL, "malformed chunk size") from None
            if size == 0:
                return bytes(out), False
            want = min(size, cap + 1 - len(out))
            got = await _read_upto(reader, want)
            out += got
            if len(out) > cap:
                return bytes(out[:cap]), True
            if len(got) < want:
                raise _Fail(FetchError.PROTOCOL, "connection closed inside a chunk")
            await _line(reader, "chunk end")
    length = values.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _Fail(FetchError.PROTOCOL, f"bad Content-Length {length[:20]!r}")
        data = await _read_upto(reader, min(int(length), cap + 1))
        return data[:cap], int(length) > cap
    data = await _read_upto(reader, cap + 1)  # until the server closes
    return data[:cap], len(data) > cap


async def _connect(
    address: str, port: int, host: str, ctx: ssl.SSLContext | None, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection, or a plain TCP one when `ctx` is None (http://)."""
    try:
        if ctx is None:
            return await asyncio.wait_for(
                asyncio.open_connection(address, port, limit=MAX_LINE), timeout
            )
        return await asyncio.wait_for(
            asyncio.open_connection(
                address,
                port,
                ssl=ctx,
                server_hostname=host,
                ssl_handshake_timeout=timeout,
                limit=MAX_LINE,
            ),
            timeout,
        )
    except ssl.SSLCertVerificationError as exc:
        raise _Fail(FetchError.CERT, exc.verify_message or str(exc)) from None
    except ssl.SSLError as exc:
        raise _Fail(FetchError.TLS, exc.reason or str(exc)) from None
    except ConnectionRefusedError:
        raise _Fail(FetchError.REFUSED, f"connection to {address}:{port} refused") from None
    except TimeoutError:
        what = "TLS connection" if ctx is not None else "connection"
        raise _Fail(
            FetchError.TIMEOUT, f"no {what} to {address}:{port} within {timeout:g} s"
        ) from None
    except ConnectionResetError:
        raise _Fail(FetchError.TLS, "connection reset during the TLS handshake") from None
    except OSError as exc:
        raise _Fail(FetchError.UNREACHABLE, f"{address}:{port}: {exc.strerror or exc}") from None


_Exchange = tuple[int, str, list[tuple[str, str]], bytes, bool, str, TlsInfo | None]


async def _exchange(
    address: str,
    port: int,
    host: str,
    request: bytes,
    ctx: ssl.SSLContext | None,
    connect_timeout: float,
    cap: int,
    method: str,
) -> _Exchange:
    reader, writer = await _connect(address, port, host, ctx, connect_timeout)
    try:
        tls = writer.get_extra_info("ssl_object")
        version = tls.version() if isinstance(tls, ssl.SSLObject) else ""
        info = capture_tls(tls, host) if isinstance(tls, ssl.SSLObject) else None
        writer.write(request)
        try:
            await writer.drain()
        except OSError as exc:
            raise _Fail(FetchError.PROTOCOL, f"sending the request failed: {exc}") from None
        status, reason, headers = await _head(reader)
        if method == "HEAD" or status in (204, 304):
            return status, reason, headers, b"", False, version or "", info
        try:
            body, truncated = await _body(reader, headers, cap)
        except (ConnectionResetError, ssl.SSLError) as exc:
            raise _Fail(FetchError.PROTOCOL, f"connection broke in the body: {exc}") from None
        return status, reason, headers, body, truncated, version or "", info
    finally:
        # no graceful TLS shutdown: a peer that never answers close_notify must not hold us
        writer.transport.abort()


async def fetch(
    host: str,
    path: str,
    addresses: Sequence[str],
    *,
    settings: Settings,
    limits: Limits | None = None,
    port: int = 443,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
    max_bytes: int = DEFAULT_MAX_BYTES,
    connect_timeout: float | None = None,
    total_timeout: float | None = None,
) -> HttpFetch:
    """One HTTPS request to `host` at the first of `addresses` that accepts a connection.

    `addresses` come from the run's DNS. Non-public addresses are skipped unless
    settings.allow_private. Redirects are returned as they are (status and Location), never
    followed. The body is cut at `max_bytes` and `truncated` says so.
    """
    got, _ = await fetch_ex(
        host,
        path,
        addresses,
        settings=settings,
        limits=limits,
        port=port,
        method=method,
        body=body,
        content_type=content_type,
        max_bytes=max_bytes,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
    )
    return got


async def fetch_ex(
    host: str,
    path: str,
    addresses: Sequence[str],
    *,
    settings: Settings,
    limits: Limits | None = None,
    port: int | None = None,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
    max_bytes: int = DEFAULT_MAX_BYTES,
    connect_timeout: float | None = None,
    total_timeout: float | None = None,
    scheme: str = "https",
    verify: bool = True,
    host_port: bool = False,
) -> tuple[HttpFetch, TlsInfo | None]:
    """`fetch`, plus plain http:// (scheme="http") and unverified TLS (verify=False).

    With verify=False the handshake completes whatever the certificate, and the captured
    chain comes back with the response (None for http:// or when no handshake completed), for
    net/certs.py to judge: a browser shows its warning, the page behind it is still evidence.
    """
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported scheme {scheme!r}")
    port = port or DEFAULT_PORTS[scheme]
    connect_timeout = connect_timeout or settings.step_timeout
    total_timeout = total_timeout or 2 * settings.step_timeout
    url = _url(host, port, path, scheme)
    start = time.perf_counter()

    def result(address: str, error: FetchError, detail: str) -> tuple[HttpFetch, None]:
        ms = round((time.perf_counter() - start) * 1000, 3)
        return HttpFetch(url, method, host, address, port, error, detail, elapsed_ms=ms), None

    ips = [a for a in addresses if parse_ip(a) is not None][:MAX_ADDRESSES]
    if not ips:
        return result("", FetchError.NO_ADDRESS, f"{host} has no address to connect to")
    if not settings.allow_private:
        public = [a for a in ips if unreachable_kind(a) is None]
        if not public:
            kinds = ", ".join(f"{a} ({unreachable_kind(a)})" for a in ips)
            return result(
                "", FetchError.PRIVATE, f"{host} resolves only to non-public addresses: {kinds}"
            )
        ips = public
    ctx: ssl.SSLContext | None = None
    try:
        if scheme == "https":
            ctx = ssl_context(settings) if verify else tls_context()
    except (OSError, ssl.SSLError) as exc:
        return result("", FetchError.TLS, f"cannot load the CA file {settings.ca_file}: {exc}")
    # RFC 9110 7.2: Host carries the port when it is not the scheme's default (host_port;
    # `fetch` keeps sending the bare name, as it always has)
    shown = f"[{host}]" if ":" in host else host
    authority = shown if port == DEFAULT_PORTS[scheme] or not host_port else f"{shown}:{port}"
    request = _request(method, host, path, body, content_type, authority)
    last: _Fail | None = None
    address = ips[0]
    try:
        async with asyncio.timeout(total_timeout):
            for address in ips:
                try:
                    if limits is not None:
                        async with limits.slot(address):
                            got = await _exchange(
                                address,
                                port,
                                host,
                                request,
                                ctx,
                                connect_timeout,
                                max_bytes,
                                method,
                            )
                    else:
                        got = await _exchange(
                            address, port, host, request, ctx, connect_timeout, max_bytes, method
                        )
                except _Fail as exc:
                    last = exc
                    if exc.error in (FetchError.REFUSED, FetchError.UNREACHABLE):
                        continue  # another address of the same name may work
                    break
                status, reason, headers, data, truncated, version, info = got
                page = HttpFetch(
                    url,
                    method,
                    host,
                    address,
                    port,
                    status=status,
                    reason=reason,
                    headers=tuple(headers),
                    body=data.decode("utf-8", errors="backslashreplace"),
                    body_bytes=len(data),
                    truncated=truncated,
                    tls_version=version,
                    elapsed_ms=round((time.perf_counter() - start) * 1000, 3),
                )
                return page, info
    except TimeoutError:
        return result(
            address, FetchError.TIMEOUT, f"no complete response within {total_timeout:g} s"
        )
    except Exception as exc:  # an unexpected library error is evidence, not a crash
        return result(address, FetchError.ERROR, f"{type(exc).__name__}: {exc}")
    assert last is not None
    return result(address, last.error, last.detail)
