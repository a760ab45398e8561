"""TLS checks against the lab's real Postfix and Dovecot: each scenario's exact codes."""

from __future__ import annotations

import pytest

from .conftest import Lab
from .server_checks import findings, problems, report

pytestmark = pytest.mark.lab

TLS_PORTS = {"25", "587", "465", "143", "993", "110", "995"}


def _by_port(items: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Port -> finding; one certificate finding names every port that serves the certificate:
    "mx.x (192.0.2.1:25); mail.x (192.0.2.1:587, 465, 993)"."""
    out: dict[str, dict[str, object]] = {}
    for f in items:
        for part in str(f["subject"]).split("; "):
            inside = part.rpartition("(")[2].rstrip(")")
            for port in inside.rpartition(":")[2].split(", "):
                assert port not in out, f"port {port} in two findings of one code"
                out[port] = f
    return out


def _ports(items: list[dict[str, object]]) -> set[str]:
    return set(_by_port(items))


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("cert-expired.test", {"tls.cert_expired"}),
        ("cert-wronghost.test", {"tls.cert_hostname_mismatch"}),
        ("cert-selfsigned.test", {"tls.cert_untrusted"}),
        ("plain465.test", {"tls.implicit_tls_missing"}),
        ("tls10.test", {"tls.protocol_obsolete"}),
    ],
)
def test_scenario_yields_exactly_its_codes(lab: Lab, domain: str, expected: set[str]) -> None:
    assert problems(report(lab, domain)) == expected


def test_control_domain_tls_is_ok_on_every_port(lab: Lab) -> None:
    data = report(lab, "good.test")
    assert problems(data) == set()
    assert _ports(findings(data, "tls.ok")) == TLS_PORTS


def test_certificate_faults_on_every_tls_port_and_starttls_still_offered(lab: Lab) -> None:
    for domain, code in (
        ("cert-expired.test", "tls.cert_expired"),
        ("cert-wronghost.test", "tls.cert_hostname_mismatch"),
        ("cert-selfsigned.test", "tls.cert_untrusted"),
    ):
        data = report(lab, domain)
        assert _ports(findings(data, code)) == TLS_PORTS, domain
        # A bad certificate is its own finding, never "no STARTTLS".
        assert "smtp.starttls_missing" not in problems(data)


def test_certificate_severity_is_lower_on_25(lab: Lab) -> None:
    found = findings(report(lab, "cert-selfsigned.test"), "tls.cert_untrusted")
    by_port = {port: f["severity"] for port, f in _by_port(found).items()}
    assert by_port["25"] == "warning" and by_port["587"] == "error" and by_port["993"] == "error"
    # One certificate: one finding for the ports clients use, one (milder) for port 25.
    assert len(found) == 2
    assert "self-signed" in found[0]["cause"]


def test_expired_certificate_says_when(lab: Lab) -> None:
    (f, *_) = findings(report(lab, "cert-expired.test"), "tls.cert_expired")
    assert "2021" in f["cause"] or "2020" in f["cause"]


def test_wrong_host_names_what_the_certificate_covers(lab: Lab) -> None:
    (f, *_) = findings(report(lab, "cert-wronghost.test"), "tls.cert_hostname_mismatch")
    assert "wrong.example.test" in f["cause"]


def test_obsolete_tls_on_the_smtp_ports(lab: Lab) -> None:
    found = findings(report(lab, "tls10.test"), "tls.protocol_obsolete")
    assert _ports(found) == {"25", "587", "465"}
    assert all("TLSv1" in f["title"] or "TLSv1" in f["evidence"] for f in found)


def test_plaintext_on_465_quotes_the_greeting(lab: Lab) -> None:
    (f,) = findings(report(lab, "plain465.test"), "tls.implicit_tls_missing")
    assert ":465" in f["subject"] and "220" in f["cause"]
