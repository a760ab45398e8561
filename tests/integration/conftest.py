"""Fixtures for tests that run against the lab (lab/up): real Postfix, Dovecot, NSD, Unbound.

Tests that need the lab take the `lab` fixture; when the lab is down they skip with the reason,
and `make test` brings the lab up first, so in CI they always run.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

LAB_RUN = Path(os.environ.get("MAILDOCTOR_LAB_RUN", "/run/maildoctor-lab"))
LAB_DIR = Path(__file__).resolve().parents[2] / "lab"


@dataclass(frozen=True)
class Lab:
    """What a test needs to know about the running lab."""

    run: Path
    resolver: str
    resolver_port: int
    ca_file: Path
    hosts: dict[str, str]  # name -> ip, from lab/hosts.tsv
    state: dict[str, object]

    def ip(self, name: str) -> str:
        return self.hosts[name]


def _read_hosts() -> dict[str, str]:
    hosts: dict[str, str] = {}
    for line in (LAB_DIR / "hosts.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        ip, name = line.split("\t")[:2]
        hosts[name] = ip
    return hosts


def _lab_or_reason() -> Lab | str:
    state_file = LAB_RUN / "up.json"
    if not state_file.exists():
        return f"lab is down ({state_file} missing): run `make lab-up` as root"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError) as exc:
        return f"lab state unreadable: {exc}"
    resolver = str(state.get("resolver", "127.0.53.53"))
    port = int(str(state.get("resolver_port", 53)))
    try:
        with socket.create_connection((resolver, port), timeout=1.0):
            pass
    except OSError as exc:
        return f"lab resolver {resolver}:{port} not answering ({exc}): run `make lab-up`"
    return Lab(
        run=LAB_RUN,
        resolver=resolver,
        resolver_port=port,
        ca_file=Path(str(state.get("ca_file", LAB_RUN / "ca" / "ca.crt"))),
        hosts=_read_hosts(),
        state=state,
    )


@pytest.fixture(scope="session")
def lab() -> Lab:
    found = _lab_or_reason()
    if isinstance(found, str):
        pytest.skip(found)
    return found
