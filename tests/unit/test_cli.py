import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from maildoctor.cli import run

from .fake_dns import fake_dns

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/report.schema.json").read_text())
# Unit tests send no traffic but DNS to the in-process fake: only the DNS-record areas run.
DNS_ONLY = ("--only", "dns", "--only", "mx")
ZONE = {
    ("good.example", "MX"): ["10 mx.good.example."],
    ("mx.good.example", "A"): ["93.184.215.25"],
    ("nomx.example", "A"): ["93.184.215.80"],
    ("ghost.example", "MX"): ["10 nothing.ghost.example."],
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["check", "--bogus", "example.com"], "No such option: --bogus"),
        (["check"], "give a DOMAIN to check, or --host HOST"),
        (["check", "--host", "not a host"], "--host: 'not a host' is not a domain name"),
        (["check", "--host", "mx.example.com", "--only", "spf"], "--only spf needs a DOMAIN"),
        (["check", "bob@example.com"], "give the domain, e.g. 'example.com'"),
        (["check", "exa mple.com"], "not a domain name"),
        (["check", "example.com", "--resolver", "dns.example"], "not an IP address"),
        (["check", "example.com", "--resolver", "1.2.3.4:99999"], "port must be"),
        (["check", "example.com", "--timeout", "0"], "--timeout must be"),
        (["check", "example.com", "--ca-file", "/nonexistent.pem"], "no such file"),
        (["check", "example.com", "--dkim-selector", "bad selector"], "not a selector name"),
        (["check", "example.com", "--sending-ip", "mail.example.com"], "not an IP address"),
        (["check", "example.com", "--dnsbl", "not a zone"], "--dnsbl"),
        (["check", "example.com", "--only", "nonsense"], "unknown check area nonsense"),
        (["check", "example.com", "--skip", "smpt"], "unknown check area smpt"),
        (["frobnicate"], "No such command"),
        (["auth", "mail.example.com"], "Missing option '--user'"),
        (["logs", "/nonexistent/mail.log"], "/nonexistent/mail.log"),
        (["explain", ""], "empty"),
        (["diagnose", "example.com"], "no --symptom given and no terminal to ask on"),
        (["diagnose"], "give the DOMAIN whose mail has the problem"),
        (["diagnose", "example.com", "-s", "slow-internet"], "unknown symptom 'slow-internet'"),
        (["diagnose", "example.com", "-s", "cannot-send", "--log", "/nonexistent/x"], "/nonexist"),
        (["diagnose", "example.com", "-s", "cannot-send", "-u", "a b"], "not a user name"),
        (
            ["diagnose", "example.com", "-s", "webmail-login", "--webmail", "ftp://x.example"],
            "is not an http:// or https:// address",
        ),
        (["diagnose", "example.com", "-s", "spam-folder", "--eml", "/nonexistent.eml"], "no such"),
        (
            ["diagnose", "example.com", "-s", "password-rejected", "-u", "jo@example.com"],
            "no password: give --password-env VAR or --password-stdin",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("maildoctor: error: ")
    assert "Traceback" not in err + out


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("maildoctor 0.")
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    for word in ("check", "auth", "logs", "explain", "diagnose", "findings"):
        assert f"  {word}" in out


def test_check_good_domain_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_dns(ZONE) as port:
        code, out, _ = cli(
            capsys, "check", "good.example", "--resolver", f"127.0.0.1:{port}", *DNS_ONLY
        )
    assert code == 0, out
    assert "good.example: no problems found" in out
    assert "MX 10 mx.good.example -> 93.184.215.25" in out


@pytest.mark.parametrize(
    ("domain", "code", "expected"),
    [
        ("nomx.example", "mx.missing", 1),
        ("ghost.example", "mx.target_unresolvable", 1),
        ("absent.example", "dns.nxdomain", 1),
    ],
)
def test_check_json_findings_and_exit_1(
    capsys: pytest.CaptureFixture[str], domain: str, code: str, expected: int, tmp_path: Path
) -> None:
    page = tmp_path / "r.html"
    with fake_dns(ZONE) as port:
        rc, out, _ = cli(
            capsys,
            "check",
            domain,
            "--resolver",
            f"127.0.0.1:{port}",
            "--json",
            "--html",
            str(page),
            *DNS_ONLY,
        )
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert rc == expected
    assert [f["code"] for f in data["findings"]] == [code]
    assert data["target"] == domain and data["timings"]["dns.mx"] >= 0
    assert code in page.read_text()


def test_dead_resolver_is_reported_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_dns({}, silent=True) as port:
        start = time.monotonic()
        rc, out, _ = cli(
            capsys,
            "check",
            "example.com",
            "--resolver",
            f"127.0.0.1:{port}",
            "--timeout",
            "0.5",
            "--json",
            *DNS_ONLY,
        )
        elapsed = time.monotonic() - start
    data = json.loads(out)
    assert rc == 1
    assert [f["code"] for f in data["findings"]] == ["dns.resolver_unreachable"]
    assert elapsed < 5  # bounded by --timeout, not hanging


def test_findings_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "findings", "--json")
    assert code == 0
    codes = {e["code"] for e in json.loads(out)}
    assert {"mx.missing", "dns.nxdomain"} <= codes


def test_docs_findings_page_is_generated_from_the_catalogue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = cli(capsys, "findings", "--markdown")
    page = Path(__file__).resolve().parents[2] / "docs/findings.md"
    assert code == 0
    assert page.read_text() == out, "docs/findings.md is stale: make docs"


def test_console_script_has_no_traceback_on_bad_flag() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "maildoctor", "check", "--timeout", "abc", "x.com"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Invalid value for '--timeout'" in proc.stderr


def test_only_and_skip_select_check_areas(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_dns(ZONE) as port:
        resolver = ("--resolver", f"127.0.0.1:{port}", "--json")
        _, out, _ = cli(capsys, "check", "absent.example", *resolver, "--only", "dns")
        assert [f["code"] for f in json.loads(out)["findings"]] == ["dns.nxdomain"]
        _, out, _ = cli(capsys, "check", "nomx.example", *resolver, "--only", "mx")
        assert [f["code"] for f in json.loads(out)["findings"]] == ["mx.missing"]
        _, out, _ = cli(
            capsys, "check", "absent.example", *resolver, "--only", "dns", "--skip", "dns"
        )
        assert json.loads(out)["findings"] == []
