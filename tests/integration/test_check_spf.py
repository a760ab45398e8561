"""SPF against the lab: `maildoctor check` on the SPF scenarios of lab/scenarios.tsv."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maildoctor.cli import run

from .conftest import Lab

pytestmark = pytest.mark.lab


def check(lab: Lab, capsys: pytest.CaptureFixture[str], domain: str, *extra: str) -> dict[str, Any]:
    code = run(["check", domain, "--resolver", lab.resolver, "--allow-private", "--json", *extra])
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    data["exit"] = code
    return data


def spf(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"].startswith("spf.")]


def spf_codes(data: dict[str, Any]) -> list[str]:
    return [f["code"] for f in spf(data)]


def test_good_is_ok(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "good.test")
    (f,) = spf(data)
    assert f["code"] == "spf.ok" and f["severity"] == "ok"
    ip = lab.ip("mx.good.test")
    assert f"{ip} (MX mx.good.test): pass" in f["evidence"]
    assert not [n for n in data["not_checked"] if n["what"].startswith("spf")]
    ev = data["evidence"]["dns.spf"]
    assert ev["records"] == ["v=spf1 mx -all"]
    assert ev["walk"]["lookups"] == 1 and ev["servers"][0]["evaluation"]["result"] == "pass"


@pytest.mark.parametrize(
    ("domain", "code", "severity"),
    [
        ("spf-syntax.test", "spf.syntax_error", "error"),
        ("spf-multi.test", "spf.multiple_records", "error"),
        ("spf-lookups.test", "spf.too_many_lookups", "error"),
        ("spf-void.test", "spf.void_lookups", "error"),
        ("spf-all.test", "spf.permissive_all", "error"),
        ("spf-ptr.test", "spf.ptr_mechanism", "warning"),
        ("spf-notcover.test", "spf.server_not_authorized", "error"),
        ("spf-missing.test", "spf.missing", "error"),
    ],
)
def test_scenario_gives_exactly_its_code(
    lab: Lab, capsys: pytest.CaptureFixture[str], domain: str, code: str, severity: str
) -> None:
    data = check(lab, capsys, domain)
    assert spf_codes(data) == [code]
    assert spf(data)[0]["severity"] == severity
    assert not [n for n in data["not_checked"] if n["what"].startswith("spf")]


def test_syntax_error_points_at_the_term(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    (f,) = spf(check(lab, capsys, "spf-syntax.test"))
    assert 'character 11, in the term "inclde:good.test"' in f["cause"]
    assert 'spf-syntax.test.  3600  IN  TXT  "v=spf1 mx include:good.test -all"' in f["fix"]


def test_lookup_chain_counts_12(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "spf-lookups.test")
    (f,) = spf(data)
    assert "takes 12 DNS-querying terms" in f["cause"]
    assert "including 127.0.10.1" in f["cause"]  # the MX is matched only by the final "mx"
    rows = [line.split() for line in f["evidence"].splitlines()[2:]]
    counted = [r for r in rows if len(r) >= 3 and r[1] == "+1"]
    assert [int(r[0]) for r in counted] == list(range(1, 13))
    assert "receivers stop here" in " ".join(counted[10])
    (server,) = data["evidence"]["dns.spf"]["servers"]
    assert server["evaluation"]["result"] == "permerror"
    assert "ip4:127.0.10.1 -all" in f["fix"]  # the flattened record keeps the MX


def test_void_lookups_name_the_voids(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    (f,) = spf(check(lab, capsys, "spf-void.test"))
    for name in ("void1.spf-void.test", "void2.spf-void.test", "void3.spf-void.test"):
        assert name in f["cause"]
    assert '"v=spf1 mx -all"' in f["fix"]


def test_notcover_fix_adds_the_mx_address(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    (f,) = spf(check(lab, capsys, "spf-notcover.test"))
    ip = lab.ip("mx.good.test")
    assert f"{ip} (MX mx.good.test): fail" in f["evidence"]
    assert f'"v=spf1 ip4:192.0.2.1 ip4:{ip} -all"' in f["fix"]


def test_sending_ip_not_covered_by_good(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "good.test", "--sending-ip", "192.0.2.77")
    (f,) = spf(data)
    assert f["code"] == "spf.server_not_authorized" and f["severity"] == "error"
    assert "192.0.2.77 (--sending-ip)" in f["cause"]
    assert '"v=spf1 mx ip4:192.0.2.77 -all"' in f["fix"]


def test_include_loop_is_permerror(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    # spf-loop.test (lab/dns/records.tsv, SPF block): mx, then include:_a -> back to itself
    data = check(lab, capsys, "spf-loop.test")
    (f,) = spf(data)
    assert f["code"] == "spf.permerror" and f["severity"] == "error"
    assert "include loop: spf-loop.test -> _a.spf-loop.test -> spf-loop.test" in f["cause"]
    assert 'Remove "include:spf-loop.test" in the record of _a.spf-loop.test' in f["fix"]
    (server,) = data["evidence"]["dns.spf"]["servers"]
    assert server["evaluation"]["result"] == "pass"  # the MX matches "mx" before the loop


def test_softfail_all_is_info_beside_ok(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "spf-softfail.test")
    assert [(f["code"], f["severity"]) for f in spf(data)] == [
        ("spf.softfail_all", "info"),
        ("spf.ok", "ok"),
    ]
