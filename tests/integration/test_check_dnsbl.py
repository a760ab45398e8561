"""Blocklists against the lab: `maildoctor check` on dnsbl.test, good.test and broken lists.

The lab serves local copies of zen.spamhaus.org, b.barracudacentral.org, bl.spamcop.net,
dbl.spamhaus.org and multi.surbl.org (lab/dns/dnsbl.tsv) with their RFC 5782 test points;
sbl.spamhaus.org answers 127.255.255.254 to everything (as Spamhaus does to a public
resolver); wild.dnsbl-lab.test lists everything and dead.dnsbl-lab.test nothing
(lab/dns/records.tsv).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maildoctor.cli import run
from maildoctor.evidence.dnsbl import DEFAULT_DOMAIN_LISTS, DEFAULT_IP_LISTS

from .conftest import Lab

pytestmark = pytest.mark.lab

LAB_DIR = Path(__file__).resolve().parents[2] / "lab"


def served_lists() -> set[str]:
    """The blocklist zones the lab serves (the first column of lab/dns/dnsbl.tsv)."""
    rows = (LAB_DIR / "dns" / "dnsbl.tsv").read_text().splitlines()
    return {r.split("\t")[0].lower() for r in rows if r.strip() and not r.startswith("#")}


def check(lab: Lab, capsys: pytest.CaptureFixture[str], domain: str, *extra: str) -> dict[str, Any]:
    code = run(["check", domain, "--resolver", lab.resolver, "--allow-private", "--json", *extra])
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    data["exit"] = code
    return data


def dnsbl(data: dict[str, Any], code: str | None = None) -> list[dict[str, Any]]:
    return [
        f
        for f in data["findings"]
        if f["code"].startswith("dnsbl.") and (code is None or f["code"] == code)
    ]


def test_good_is_on_no_list(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "good.test")
    (ok,) = dnsbl(data, "dnsbl.ok")
    assert ok["evidence"].startswith(f"{lab.ip('mx.good.test')} not listed on ")
    assert all(zone in ok["evidence"] for zone in DEFAULT_IP_LISTS)
    assert not [f for f in dnsbl(data) if f["severity"] in ("warning", "error", "critical")]
    # the default lists the lab does not serve fail their test points: unusable, not trusted
    unserved = {z for z in (*DEFAULT_IP_LISTS, *DEFAULT_DOMAIN_LISTS) if z not in served_lists()}
    assert {f["subject"] for f in dnsbl(data, "dnsbl.list_unusable")} == unserved
    assert {f["code"] for f in dnsbl(data)} <= {"dnsbl.ok", "dnsbl.list_unusable"}


def test_dnsbl_listed_on_three_lists(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "dnsbl.test")
    ip = lab.ip("mx.dnsbl.test")
    listed = {f["subject"]: f for f in dnsbl(data, "dnsbl.listed")}
    assert set(listed) == {f"{ip} on {zone}" for zone in DEFAULT_IP_LISTS}
    assert all(f["severity"] == "error" for f in listed.values())
    zen = listed[f"{ip} on zen.spamhaus.org"]
    assert "127.0.0.2 = SBL" in zen["cause"] and "127.0.0.4 = XBL" in zen["cause"]
    assert "SBL999999" in zen["cause"] and "https://check.spamhaus.org/" in zen["fix"]
    spamcop = listed[f"{ip} on bl.spamcop.net"]
    assert f"https://www.spamcop.net/bl.shtml?{ip}" in spamcop["fix"]
    assert dnsbl(data, "dnsbl.ok") == []
    assert data["exit"] == 1


def test_refused_list_is_never_listed(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "dnsbl.test", "--dnsbl", "sbl.spamhaus.org")
    (f,) = dnsbl(data, "dnsbl.query_refused")
    assert f["subject"] == "sbl.spamhaus.org" and f["severity"] == "warning"
    assert "127.255.255.254" in f["cause"] and "--resolver" in f["fix"]
    assert not [x for x in dnsbl(data, "dnsbl.listed") if "sbl.spamhaus.org" in x["subject"]]
    assert len(dnsbl(data, "dnsbl.listed")) == 3  # the healthy lists still count


def test_wildcard_and_dead_lists_are_unusable(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(
        lab,
        capsys,
        "good.test",
        "--dnsbl",
        "wild.dnsbl-lab.test",
        "--dnsbl",
        "dead.dnsbl-lab.test",
    )
    unusable = {f["subject"]: f for f in dnsbl(data, "dnsbl.list_unusable")}
    assert "127.0.0.1 is listed" in unusable["wild.dnsbl-lab.test"]["evidence"]
    assert "wildcard" in unusable["wild.dnsbl-lab.test"]["cause"]
    assert "test point 127.0.0.2 is not listed" in unusable["dead.dnsbl-lab.test"]["evidence"]
    assert dnsbl(data, "dnsbl.listed") == []  # the wildcard "listing" is not trusted
    assert len(dnsbl(data, "dnsbl.ok")) == 1


def test_listed_sending_ip(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    ip = lab.ip("mx.dnsbl.test")
    data = check(lab, capsys, "good.test", "--sending-ip", ip)
    listed = dnsbl(data, "dnsbl.listed")
    assert {f["subject"] for f in listed} == {f"{ip} on {zone}" for zone in DEFAULT_IP_LISTS}
    assert all("sending IP" in f["cause"] for f in listed)


def test_domain_listed(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    served = [z for z in DEFAULT_DOMAIN_LISTS if z in served_lists()]
    if not served:
        pytest.skip("the lab serves no domain list yet (dbl.spamhaus.org in lab/dns/dnsbl.tsv)")
    data = check(lab, capsys, "dbl-listed.test")
    listed = dnsbl(data, "dnsbl.domain_listed")
    assert {f["subject"] for f in listed} == {"dbl-listed.test"}
    assert {z for z in served if any(z in f["cause"] for f in listed)} == set(served)
    assert all(f["severity"] == "error" for f in listed)
    assert dnsbl(data, "dnsbl.listed") == []  # its server address is clean


def test_ipv6_address_is_asked_only_of_lists_serving_ipv6(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    # the lab's zen.spamhaus.org lists ::2; Barracuda and SpamCop serve no IPv6
    data = check(lab, capsys, "good.test", "--sending-ip", "::2")
    (f,) = dnsbl(data, "dnsbl.listed")
    assert f["subject"] == "::2 on zen.spamhaus.org"
    assert f["evidence"].startswith("2." + "0." * 31 + "zen.spamhaus.org A ")  # RFC 5782 2.4
    asked = {(a["zone"], a["item"]) for a in data["evidence"]["dns.dnsbl"]["answers"]}
    assert ("zen.spamhaus.org", "::2") in asked
    assert ("bl.spamcop.net", "::2") not in asked
    assert ("b.barracudacentral.org", "::2") not in asked
