"""Shared by the server-check integration tests: run the real CLI once per lab domain."""

from __future__ import annotations

import contextlib
import io
import json
from functools import cache
from typing import Any

import pytest

from maildoctor.cli import run

from .conftest import Lab

AREAS = ("smtp", "tls", "port", "imap", "pop3")


@cache
def _report(domain: str, resolver: str, ca_file: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run(
            [
                "check",
                domain,
                "--resolver",
                resolver,
                "--allow-private",
                "--ca-file",
                ca_file,
                "--json",
            ]
        )
    data: dict[str, Any] = json.loads(out.getvalue())
    data["_exit"] = code
    return data


def report(lab: Lab, domain: str) -> dict[str, Any]:
    if not lab.ca_file.exists():
        pytest.skip(f"lab CA {lab.ca_file} missing: run `make lab-up`")
    return _report(domain, lab.resolver, str(lab.ca_file))


def problems(data: dict[str, Any]) -> set[str]:
    """Codes of my areas at warning or worse."""
    return {
        f["code"]
        for f in data["findings"]
        if f["code"].split(".")[0] in AREAS and f["severity"] not in ("ok", "info")
    }


def findings(data: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"] == code]
