"""`maildoctor send-test` against the lab: a round trip alice -> bob with its measured delay,
the 1 MB size limit, an unknown recipient, a wrong password, a server without AUTH."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maildoctor.account.command import send_test_command
from maildoctor.protocols.sasl import secret_forms

from .conftest import Lab

pytestmark = pytest.mark.lab

ALICE, ALICE_PW = "alice@good.test", "alice-Lab-2026"
BOB, BOB_PW = "bob@good.test", "bob-Lab-2026"


def _send(
    lab: Lab,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    host: str,
    *,
    password: str = ALICE_PW,
    to: str = BOB,
    **kw: Any,
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("MD_SEND_PW", password)
    monkeypatch.setenv("MD_BOB_PW", BOB_PW)
    if kw.get("imap_check"):
        kw["to_password_env"] = "MD_BOB_PW"
    code = send_test_command(
        host,
        user=ALICE,
        mail_from=ALICE,
        rcpt_to=to,
        password_env="MD_SEND_PW",
        resolver=[lab.resolver],
        allow_private=True,
        ca_file=lab.ca_file,
        json=True,
        **kw,
    )
    out = capsys.readouterr().out
    for secret in (password, BOB_PW):
        assert not any(form in out for form in secret_forms(ALICE, secret))
    return code, json.loads(out)


def _codes(data: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in data["findings"])


def test_round_trip_alice_to_bob(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _send(lab, monkeypatch, capsys, "mail.good.test", imap_check=True, wait=30.0)
    assert code == 0
    assert _codes(data) == ["send.delivered", "send.ok"]
    ev = data["evidence"]["account.send"]
    delivery = ev["delivery"]
    assert delivery["found"] and delivery["folder"] == "INBOX" and not delivery["junk"]
    assert 0 <= delivery["delay_s"] < 30
    (ok,) = [f for f in data["findings"] if f["code"] == "send.ok"]
    assert "250 2.0.0 Ok: queued as" in ok["cause"] and ev["token"] in ok["fix"]
    print(f"lab round trip alice -> bob: {delivery['delay_s']} s")


def test_message_over_the_1mb_limit(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _send(lab, monkeypatch, capsys, "mail.size-1mb.test", size="2000000")
    assert code == 1
    assert _codes(data) == ["send.too_large"]
    (big,) = data["findings"]
    assert "552 5.3.4" in big["cause"] and "1048576" in big["cause"]


def test_size_find_finds_the_1mb_limit(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, data = _send(lab, monkeypatch, capsys, "mail.size-1mb.test", size="find")
    ev = data["evidence"]["account.send"]
    assert ev["size_limit"] == 1048576
    assert len(ev["size_search"]) <= 32
    (limit,) = [f for f in data["findings"] if f["code"] == "send.size_limit"]
    assert "1048576 bytes" in limit["title"]


def test_unknown_recipient(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _send(lab, monkeypatch, capsys, "mail.good.test", to="nobody@good.test")
    assert code == 1
    assert _codes(data) == ["send.recipient_unknown"]
    assert "550 5.1.1" in data["findings"][0]["cause"]


def test_wrong_password_sends_nothing(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _send(lab, monkeypatch, capsys, "mail.good.test", password="Not-Alice-Pw-2")
    assert code == 1
    assert _codes(data) == ["send.auth_failed"]
    assert data["evidence"]["account.send"]["stage"] == "auth"


def test_submission_without_auth(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _send(lab, monkeypatch, capsys, "mail.sub-noauth.test")
    assert code == 1
    assert _codes(data) == ["send.not_sent"]
    assert "offers no AUTH" in data["findings"][0]["cause"]
