"""Judging a captured certificate chain: parse it, check trust, expiry and the name apart.

The chain comes from one unverified handshake (net/stream.py says why); here it is judged the
way a mail client would, with `cryptography`'s X.509 path builder against the system trust
store plus settings.ca_file. Trust is judged at a moment inside the leaf's validity period, so
an expired certificate from a trusted CA is "expired", not also "untrusted"; the host name is
matched separately (RFC 6125), against the name the client uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import ssl
import warnings
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import DNSName
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from maildoctor.evidence.tls import CertInfo, TlsResult
from maildoctor.net.stream import TlsInfo

SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)


@cache
def _anchors(ca_file: str | None) -> tuple[x509.Certificate, ...]:
    paths = [ssl.get_default_verify_paths().cafile, *SYSTEM_BUNDLES]
    found: list[x509.Certificate] = []
    for p in paths:
        if p and Path(p).is_file():
            try:
                with warnings.catch_warnings():  # old roots with odd serials: still anchors
                    warnings.simplefilter("ignore")
                    found.extend(x509.load_pem_x509_certificates(Path(p).read_bytes()))
            except (ValueError, OSError):
                continue
            break
    if ca_file:
        with contextlib.suppress(ValueError, OSError):
            found.extend(x509.load_pem_x509_certificates(Path(ca_file).read_bytes()))
    return tuple(found)


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return repr(name)


def _dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n).lower() for n in san.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        return tuple(names)
    except (x509.ExtensionNotFound, ValueError):
        pass
    try:  # RFC 6125 6.4.4: the CN only when there is no subjectAltName
        return tuple(
            str(a.value).lower() for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        )
    except ValueError:
        return ()


def _key(cert: x509.Certificate) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):
        return "unknown", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def cert_info(der: bytes) -> CertInfo | None:
    """Parse one DER certificate into the facts the checks read; None when it does not parse."""
    try:
        cert = x509.load_der_x509_certificate(der)
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except ValueError:
        return None
    key_type, bits = _key(cert)
    try:
        sig = cert.signature_hash_algorithm
        sig_name = sig.name if sig is not None else ""
    except Exception:  # unsupported algorithm: a certificate with odd fields
        sig_name = "unknown"
    return CertInfo(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        names=_dns_names(cert),
        not_before=not_before,
        not_after=not_after,
        key_type=key_type,
        key_bits=bits,
        self_signed=cert.issuer == cert.subject,
        sha256=hashlib.sha256(der).hexdigest(),
        signature=sig_name,
    )


def name_matches(host: str, names: tuple[str, ...]) -> bool:
    """RFC 6125 6.4: exact match, or a wildcard in the leftmost label covering one label."""
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
        return any(n == str(ip) for n in names)
    except ValueError:
        pass
    first, _, parent = host.partition(".")
    for raw in names:
        name = raw.rstrip(".")
        if name == host:
            return True
        # RFC 6125 6.4.3: "*" matches exactly one whole leftmost label.
        if name.startswith("*.") and first and parent and parent == name[2:]:
            return True
    return False


def _judge_trust(chain: list[x509.Certificate], ca_file: str | None) -> str:
    """ "" when the chain leads to a trust anchor, else the reason in words."""
    leaf, rest = chain[0], chain[1:]
    anchors = _anchors(ca_file)
    if not anchors:
        return "no trust store found (install ca-certificates or pass --ca-file)"
    names = _dns_names(leaf)
    dns = next((n for n in names if not n.startswith("*.") and _valid_dns(n)), None)
    if dns is None:
        wild = next((n for n in names if n.startswith("*.")), None)
        dns = f"x{wild[1:]}" if wild and _valid_dns(f"x{wild[1:]}") else None
    if dns is None:
        return "the certificate names no host (no usable subjectAltName DNS name)"
    # Judge trust at a moment inside the leaf's validity: expiry is its own finding.
    now = datetime.now(UTC)
    moment = min(
        max(now, leaf.not_valid_before_utc + timedelta(seconds=1)),
        leaf.not_valid_after_utc - timedelta(seconds=1),
    )
    # Lenient about leaf extensions as mail clients (OpenSSL) are, but a SAN is required
    # (RFC 6125 6.4.4: clients no longer read the CN) and CA certificates are held to WebPKI.
    policy = ExtensionPolicy.permit_all().require_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    try:
        verifier = (
            PolicyBuilder()
            .store(Store(list(anchors)))
            .time(moment)
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=policy)
            .build_server_verifier(DNSName(dns))
        )
        verifier.verify(leaf, rest)
        return ""
    except VerificationError as exc:
        detail = str(exc)
    except ValueError as exc:
        detail = str(exc)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc and _issued_by_anchor(
        chain, anchors
    ):
        # Out of validity: no single moment fits the leaf and its CA (a CA newer than an
        # expired leaf); the signatures alone answer "who vouches for it". Expiry is its own
        # finding.
        return ""
    if leaf.issuer == leaf.subject:
        return "self-signed certificate (no CA vouches for it)"
    sent_subjects = {c.subject for c in rest}
    anchor_subjects = {a.subject for a in anchors}
    if leaf.issuer not in sent_subjects and leaf.issuer not in anchor_subjects:
        return (
            f"unknown issuer {_name(leaf.issuer)}: neither sent by the server nor a trusted "
            "root (an intermediate certificate is missing, or the CA is private)"
        )
    top = rest[-1] if rest else leaf
    if top.issuer not in anchor_subjects and top.issuer != top.subject:
        return (
            f"incomplete chain: the issuer {_name(top.issuer)} of the last certificate sent "
            "is unknown"
        )
    if top.issuer == top.subject and top.subject not in anchor_subjects:
        return f"the chain ends at {_name(top.subject)}, a root that is not trusted"
    return f"the chain does not verify: {detail}"


def _issued_by_anchor(chain: list[x509.Certificate], anchors: tuple[x509.Certificate, ...]) -> bool:
    """Signature walk from the leaf through the sent certificates to a trust anchor (bounded)."""
    current = chain[0]
    pool = list(chain[1:])
    for _ in range(8):
        for anchor in anchors:
            if anchor.subject == current.issuer and _signed_by(current, anchor):
                return True
        nxt = next(
            (c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None
        )
        if nxt is None or nxt is current:
            return False
        pool.remove(nxt)
        current = nxt
    return False


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def _valid_dns(name: str) -> bool:
    try:
        DNSName(name)
        return True
    except ValueError:
        return False


def judge(info: TlsInfo, host: str, ca_file: Path | None, legacy: str | None = None) -> TlsResult:
    """Turn one captured handshake into evidence: parsed chain, trust and name judged apart."""
    certs: list[x509.Certificate] = []
    infos: list[CertInfo] = []
    for der in info.chain_der:
        parsed = cert_info(der)
        if parsed is None:
            continue
        infos.append(parsed)
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    trusted: bool | None = None
    trust_error = ""
    matches: bool | None = None
    if certs:
        try:
            trust_error = _judge_trust(certs, str(ca_file) if ca_file else None)
        except Exception as exc:  # a certificate with odd fields must not take the probe down
            trust_error = f"the chain could not be judged: {type(exc).__name__}: {exc}"
        trusted = not trust_error
        matches = name_matches(host, infos[0].names)
    elif info.chain_der:
        trust_error = "the server's certificate does not parse"
        trusted = False
    return TlsResult(
        host=host,
        ok=True,
        version=info.version,
        cipher=info.cipher,
        cipher_bits=info.cipher_bits,
        chain=tuple(infos),
        trusted=trusted,
        trust_error=trust_error,
        name_matches=matches,
        checked_at=datetime.now(UTC),
        legacy_version=legacy,
    )
