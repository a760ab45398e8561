"""maildoctor logs against logs the REAL lab Postfix and Dovecot wrote: lab/logdriver makes the
servers deliver, bounce, defer, refuse relaying, fail logins (brute force from 127.0.20.66),
fail TLS and refuse oversize mail, and writes the true counts; maildoctor must match them.

The segments may also hold lines of other tests running at the same time (from 127.0.0.1):
counts are compared per client address of the driver, and totals where only the driver acts.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maildoctor.logs.command import logs_command

from .conftest import LAB_DIR, Lab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "logs.schema.json").read_text())


@pytest.fixture(scope="session")
def driven(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    driver = LAB_DIR / "logdriver"
    if not driver.exists():
        pytest.skip("lab/logdriver is missing")
    out = tmp_path_factory.mktemp("logdriver")
    proc = subprocess.run(
        [sys.executable, str(driver), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"lab/logdriver failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return out, json.loads((out / "counts.json").read_text())


@pytest.fixture(scope="session")
def report(driven: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    out, _ = driven
    files = sorted(str(p) for p in out.glob("*.log"))
    stdout, stderr = io.StringIO(), io.StringIO()
    code = logs_command(files, json=True, stdout=stdout, stderr=stderr)
    assert stderr.getvalue() == ""
    doc: dict[str, Any] = json.loads(stdout.getvalue())
    jsonschema.validate(doc, SCHEMA)
    assert code == (1 if doc["verdict"] in ("error", "critical") else 0)
    return doc


def _driver_ips(counts: dict[str, Any]) -> set[str]:
    return set(counts["clients"].values())


def _mine(by_ip: dict[str, int], ips: set[str]) -> dict[str, int]:
    return {ip: n for ip, n in by_ip.items() if ip in ips}


def _want(counts: dict[str, Any], *kinds: str) -> tuple[dict[str, int], dict[str, int]]:
    by_ip: dict[str, int] = {}
    by_user: dict[str, int] = {}
    for kind in kinds:
        for ip, n in counts["counts"][kind]["by_ip"].items():
            by_ip[ip] = by_ip.get(ip, 0) + n
        for user, n in counts["counts"][kind]["by_user"].items():
            by_user[user] = by_user.get(user, 0) + n
    return by_ip, by_user


def test_every_line_accounted_for_and_understood(report: dict[str, Any]) -> None:
    assert report["lines"] == report["parsed"] + report["unparsed"]
    assert report["unparsed"] == 0
    assert {"postfix", "dovecot"} <= set(report["mtas"])


def test_deliveries_match_the_driver(
    driven: tuple[Path, dict[str, Any]], report: dict[str, Any]
) -> None:
    _, counts = driven
    ips = _driver_ips(counts) | {"local"}
    by_client = report["deliveries"]["by_client"]
    for kind, status in (("delivered", "sent"), ("bounced", "bounced"), ("deferred", "deferred")):
        got = {ip: row[status] for ip, row in by_client.items() if ip in ips and row[status]}
        assert got == counts["counts"][kind]["by_ip"], kind
    bounces = {r["reason"]: r["count"] for r in report["bounce_reasons"]}
    assert bounces.get("user unknown", 0) >= counts["counts"]["bounced"]["total"]
    deferrals = {r["reason"]: r["count"] for r in report["deferral_reasons"]}
    assert deferrals.get("connection refused", 0) >= counts["counts"]["deferred"]["total"]


def test_auth_failures_and_brute_force(
    driven: tuple[Path, dict[str, Any]], report: dict[str, Any]
) -> None:
    _, counts = driven
    ips = _driver_ips(counts)
    want_ip, want_user = _want(counts, "smtp_auth_failed", "imap_login_failed", "pop3_login_failed")
    assert _mine(report["auth_failures"]["by_ip"], ips) == want_ip
    for user, n in want_user.items():
        assert report["auth_failures"]["by_user"][user] >= n
    attacker = counts["clients"]["attacker"]
    assert attacker in report["brute_force_ips"]
    assert counts["clients"]["client1"] not in report["brute_force_ips"]
    (bf,) = [b for b in report["brute_force"] if b["ip"] == attacker]
    assert bf["failures"] == want_ip[attacker]
    assert set(bf["services"]) == {"smtp", "imap", "pop3"}
    finding = [
        f for f in report["findings"] if f["code"] == "log.brute_force" and f["subject"] == attacker
    ]
    assert finding and f"{{ {attacker} timeout 7d }}" in finding[0]["fix"]


def test_rejections_tls_size_plaintext(
    driven: tuple[Path, dict[str, Any]], report: dict[str, Any]
) -> None:
    _, counts = driven
    ips = _driver_ips(counts)
    c = counts["counts"]
    assert _mine(report["relay_denied_by_ip"], ips) == c["relay_denied"]["by_ip"]
    assert _mine(report["tls_failures"]["by_ip"], ips) == c["tls_failed"]["by_ip"]
    assert _mine(report["size_rejected"]["by_ip"], ips) == c["size_rejected"]["by_ip"]
    assert _mine(report["plaintext_refused"]["by_ip"], ips) == c["plaintext_refused"]["by_ip"]
    codes = {f["code"] for f in report["findings"]}
    assert {
        "log.brute_force",
        "log.relay_denied",
        "log.size_rejected",
        "log.tls_failures",
        "log.plaintext_refused",
    } <= codes
    assert "log.unparsed" not in codes


def test_logins_ok(driven: tuple[Path, dict[str, Any]], report: dict[str, Any]) -> None:
    _, counts = driven
    c = counts["counts"]
    assert report["logins_ok"].get("imap", 0) >= c["imap_login_ok"]["total"]
    assert report["logins_ok"].get("pop3", 0) >= c["pop3_login_ok"]["total"]


def test_compressed_rotated_copy_gives_the_same_counts(
    driven: tuple[Path, dict[str, Any]], report: dict[str, Any], tmp_path: Path
) -> None:
    import gzip

    out, _ = driven
    files = []
    for p in sorted(out.glob("*.log")):
        target = tmp_path / (p.name + ".1.gz")
        target.write_bytes(gzip.compress(p.read_bytes()))
        files.append(str(target))
    stdout = io.StringIO()
    logs_command(files, json=True, stdout=stdout, stderr=io.StringIO())
    doc = json.loads(stdout.getvalue())
    for key in (
        "lines",
        "unparsed",
        "deliveries",
        "auth_failures",
        "relay_denied",
        "brute_force_ips",
        "bounce_reasons",
        "top_senders",
    ):
        assert doc[key] == report[key], key
