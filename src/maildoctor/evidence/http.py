"""Evidence from one bounded HTTPS request (net/https.py): what was asked, what came back."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FetchError(StrEnum):
    NONE = ""  # an HTTP response arrived (any status)
    NO_ADDRESS = "no-address"  # the host name has no A/AAAA: nothing to connect to
    PRIVATE = "private"  # only non-public addresses, and --allow-private was not given
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    CERT = "cert"  # the certificate did not verify (untrusted, expired, wrong name)
    TLS = "tls"  # the handshake failed for another reason
    PROTOCOL = "protocol"  # not HTTP, a malformed response, headers too large
    ERROR = "error"


@dataclass(frozen=True)
class HttpFetch:
    url: str
    method: str
    host: str  # the name sent as SNI and Host:, and the name the certificate must carry
    address: str  # the IP connected to ("" when none was tried)
    port: int
    error: FetchError = FetchError.NONE
    detail: str = ""  # the reason of an error, in words
    status: int | None = None
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # lower-cased names, in order
    body: str = ""  # decoded as UTF-8 (bad bytes escaped), at most the cap
    body_bytes: int = 0  # bytes kept
    truncated: bool = False  # the body was longer than the cap: the rest was not read
    tls_version: str = ""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """An HTTP response arrived (whatever its status)."""
        return self.error is FetchError.NONE and self.status is not None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def location(self) -> str | None:
        return self.header("location")

    def describe(self) -> str:
        """One line: what happened, for finding evidence."""
        where = f"{self.method} {self.url}"
        if self.address:
            where += f" ({self.address})"
        if self.error is not FetchError.NONE:
            return f"{where}: {self.error.value}: {self.detail}"
        text = f"{where}: HTTP {self.status} {self.reason}".rstrip()
        if self.status is not None and 300 <= self.status < 400 and self.location:
            text += f" -> {self.location}"
        if self.content_type:
            text += f", {self.content_type}"
        text += f", {self.body_bytes} bytes"
        if self.truncated:
            text += " (cut at the size cap)"
        return text
