"""Judging captured chains (net/certs.py): trust, expiry and name apart, odd certificates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from maildoctor.net.certs import cert_info, judge, name_matches
from maildoctor.net.stream import TlsInfo

NOW = dt.datetime.now(dt.UTC)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    cn: str,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None = None,
    *,
    ca: bool = False,
    names: tuple[str, ...] = (),
    start: dt.datetime = NOW - dt.timedelta(days=1),
    end: dt.datetime = NOW + dt.timedelta(days=90),
    key: rsa.RSAPrivateKey = KEY,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (_name(cn), key)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    if names:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    return b.sign(issuer_key, hashes.SHA256())


def _der(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.DER)


CA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CA = _cert("Test Root", ca=True, key=CA_KEY, start=NOW - dt.timedelta(days=3650))


def _ca_file(tmp_path: Path) -> Path:
    p = tmp_path / "ca.pem"
    p.write_bytes(CA.public_bytes(serialization.Encoding.PEM))
    return p


def _info(*certs: x509.Certificate) -> TlsInfo:
    return TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, tuple(_der(c) for c in certs), "")


def test_trusted_with_ca_file_and_name_checked_apart(tmp_path: Path) -> None:
    leaf = _cert("mx.example.com", (CA.subject, CA_KEY), names=("mx.example.com",))
    ok = judge(_info(leaf), "mx.example.com", _ca_file(tmp_path))
    assert ok.trusted is True and ok.name_matches is True and ok.trust_error == ""
    other = judge(_info(leaf), "mail.example.com", _ca_file(tmp_path))
    assert other.trusted is True and other.name_matches is False
    without = judge(_info(leaf), "mx.example.com", None)
    assert without.trusted is False and "unknown issuer" in without.trust_error


def test_self_signed() -> None:
    leaf = _cert("mx.example.com", names=("mx.example.com",))
    res = judge(_info(leaf), "mx.example.com", None)
    assert res.trusted is False and "self-signed" in res.trust_error
    assert res.leaf is not None and res.leaf.self_signed


def test_incomplete_chain_is_named(tmp_path: Path) -> None:
    mid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mid = _cert("Test Intermediate", (CA.subject, CA_KEY), ca=True, key=mid_key)
    leaf = _cert("mx.example.com", (mid.subject, mid_key), names=("mx.example.com",))
    full = judge(_info(leaf, mid), "mx.example.com", _ca_file(tmp_path))
    assert full.trusted is True
    partial = judge(_info(leaf), "mx.example.com", _ca_file(tmp_path))
    assert partial.trusted is False and "intermediate" in partial.trust_error


def test_expired_but_trusted_is_only_expired(tmp_path: Path) -> None:
    # The lab's case: a CA created after the leaf expired; the signature still vouches.
    young_ca = _cert("Young Root", ca=True, key=CA_KEY, start=NOW - dt.timedelta(days=1))
    p = tmp_path / "young.pem"
    p.write_bytes(young_ca.public_bytes(serialization.Encoding.PEM))
    old = _cert(
        "mx.example.com",
        (young_ca.subject, CA_KEY),
        names=("mx.example.com",),
        start=NOW - dt.timedelta(days=2000),
        end=NOW - dt.timedelta(days=1500),
    )
    res = judge(_info(old), "mx.example.com", p)
    assert res.trusted is True
    assert res.leaf is not None and res.leaf.not_after < NOW


def test_odd_certificates_never_raise() -> None:
    garbage = TlsInfo("TLSv1.2", "X", 0, (b"\x30\x03\x02\x01\x00", b"not der"), "")
    res = judge(garbage, "mx.example.com", None)
    assert res.trusted is False and res.chain == ()
    no_san = _cert("mx.example.com")
    info = cert_info(_der(no_san))
    assert info is not None and info.names == ("mx.example.com",)  # CN only without a SAN
    res = judge(_info(no_san), "mx.example.com", None)
    assert res.trusted is False and res.trust_error
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = cert_info(_der(_cert("w.example", names=("w.example",), key=weak_key)))
    assert weak is not None and (weak.key_type, weak.key_bits) == ("RSA", 1024)


def test_name_matching_rfc6125() -> None:
    assert name_matches("mx.example.com", ("*.example.com",))
    assert not name_matches("a.mx.example.com", ("*.example.com",))  # one label only
    assert not name_matches("example.com", ("*.example.com",))
    assert name_matches("MX.Example.COM.", ("mx.example.com",))
    assert not name_matches("mx.example.com", ("mx.example.co",))
    assert name_matches("192.0.2.1", ("192.0.2.1",))
