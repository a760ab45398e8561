"""Reverse DNS against the lab: `maildoctor check` on the PTR scenarios of lab/scenarios.tsv."""

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


def ptr(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"].startswith("ptr.")]


def test_good_has_forward_confirmed_ptr(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "good.test")
    found = ptr(data)
    assert [f["code"] for f in found] == ["ptr.ok"]
    ip = lab.ip("mx.good.test")
    assert found[0]["evidence"] == f"{ip} -> mx.good.test -> {ip}"
    assert not [n for n in data["not_checked"] if n["what"].startswith("ptr")]
    # the evidence the SMTP greeting rule reads: IP -> PTR names -> confirmed
    (lookup,) = data["evidence"]["dns.ptr"]["lookups"]
    assert lookup["server"]["ip"] == ip and lookup["names"][0]["name"] == "mx.good.test"


def test_ptr_missing(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "ptr-missing.test")
    (f,) = ptr(data)
    ip = lab.ip("mx.ptr-missing.test")
    assert f["code"] == "ptr.missing" and f["severity"] == "error" and f["subject"] == ip
    assert "NXDOMAIN" in f["evidence"]
    assert "18.10.0.127.in-addr.arpa.  3600  IN  PTR  mx.ptr-missing.test." in f["fix"]
    assert data["exit"] == 1


def test_ptr_mismatch(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    data = check(lab, capsys, "ptr-mismatch.test")
    (f,) = ptr(data)
    assert f["code"] == "ptr.mismatch" and f["subject"] == lab.ip("mx.ptr-mismatch.test")
    assert "other.ptr-mismatch.test A: 127.0.99.19" in f["evidence"]
    assert "other.ptr-mismatch.test.  3600  IN  A  127.0.10.19" in f["fix"]


def test_sending_ip_is_checked_too(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    missing = lab.ip("mx.ptr-missing.test")
    data = check(lab, capsys, "good.test", "--sending-ip", missing)
    codes = sorted((f["code"], f["subject"]) for f in ptr(data))
    assert codes == [("ptr.missing", missing), ("ptr.ok", "good.test")]
    (f,) = [f for f in ptr(data) if f["code"] == "ptr.missing"]
    assert "sending IP" in f["cause"] and "PTR  mail.good.test." in f["fix"]


def test_private_addresses_are_not_looked_up_without_allow_private(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["check", "good.test", "--resolver", lab.resolver, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1  # mx.private_address
    assert ptr(data) == []
    assert any("127.0.10.1" in n["reason"] for n in data["not_checked"] if "ptr" in n["what"])
