"""Evidence from TLS handshakes: protocol, cipher, the certificate chain and how it was judged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class CertInfo:
    """The fields of one certificate that the checks read (parsed by net/certs.py)."""

    subject: str
    issuer: str
    names: tuple[str, ...]  # subjectAltName DNS names (the CN only when there is no SAN)
    not_before: datetime
    not_after: datetime
    key_type: str  # RSA, EC, Ed25519...
    key_bits: int
    self_signed: bool
    sha256: str
    signature: str = ""  # signature hash algorithm name (sha256, sha1...)


@dataclass(frozen=True)
class TlsResult:
    """One handshake: what was negotiated and what the certificate chain is worth.

    `ok` False means the handshake itself failed (`error` says why); the certificate fields
    then stay empty. Trust, expiry and name are judged apart, each its own finding.
    """

    host: str  # the name the client uses (SNI, and what the certificate must name)
    ok: bool
    error: str = ""
    version: str = ""  # TLSv1.3, TLSv1.2...
    cipher: str = ""
    cipher_bits: int = 0
    chain: tuple[CertInfo, ...] = ()  # leaf first, as sent
    trusted: bool | None = None  # None: no certificate to judge
    trust_error: str = ""  # self-signed / unknown issuer / incomplete chain, in words
    name_matches: bool | None = None
    checked_at: datetime | None = None
    # A second handshake offering only TLS 1.0/1.1: the version the server accepted, "" if it
    # refused them, None when not tried.
    legacy_version: str | None = None
    legacy_detail: str = ""

    @property
    def leaf(self) -> CertInfo | None:
        return self.chain[0] if self.chain else None

    def refusal(self) -> str:
        """Why a client that verifies the certificate (a mail app, a browser) refuses it, in
        words; "" when it accepts it."""
        problems = []
        if self.trusted is False:
            problems.append(self.trust_error or "the chain is not trusted")
        leaf = self.leaf
        if self.name_matches is False:
            names = ", ".join(leaf.names[:5]) if leaf else "nothing"
            problems.append(f"the certificate does not name {self.host} (it names {names})")
        now = self.checked_at or datetime.now(UTC)
        if leaf is not None and leaf.not_after < now and not any("expire" in p for p in problems):
            problems.append(f"the certificate expired on {leaf.not_after:%Y-%m-%d}")
        elif leaf is not None and leaf.not_before > now:
            problems.append(f"the certificate is not valid before {leaf.not_before:%Y-%m-%d}")
        if self.trusted is None and not self.chain:
            problems.append("the server sent no certificate")
        return "; ".join(problems)
