"""`maildoctor auth` against the lab's real Postfix and Dovecot: right and wrong passwords, no
AUTH, STARTTLS first, AUTH only in clear, bad certificates, and the password in no output."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from maildoctor.account.command import auth_command
from maildoctor.protocols.sasl import secret_forms

from .conftest import Lab

pytestmark = pytest.mark.lab

ALICE = "alice@good.test"
ALICE_PW = "alice-Lab-2026"  # lab/mail/users.tsv


def _auth(
    lab: Lab,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    host: str,
    password: str,
    **kw: Any,
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("MD_TEST_PW", password)
    code = auth_command(
        host,
        user=kw.pop("user", ALICE),
        password_env="MD_TEST_PW",
        resolver=[lab.resolver],
        allow_private=True,
        ca_file=lab.ca_file,
        json=True,
        **kw,
    )
    return code, json.loads(capsys.readouterr().out)


def _codes(data: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in data["findings"])


def _tries(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{t['protocol']}:{t['port']}": t for t in data["evidence"]["account.auth"]["tries"]}


def test_right_password_logs_in_everywhere(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _auth(lab, monkeypatch, capsys, "mail.good.test", ALICE_PW)
    assert code == 0
    assert _codes(data) == ["auth.ok", "auth.requires_tls", "auth.working_settings"]
    tries = _tries(data)
    assert all(
        t["attempts"] and all(a["outcome"] == "ok" for a in t["attempts"]) for t in tries.values()
    )
    assert [a["mechanism"] for a in tries["smtp:587"]["attempts"]] == ["PLAIN", "LOGIN"]
    (settings,) = [f for f in data["findings"] if f["code"] == "auth.working_settings"]
    assert (
        "Incoming (IMAP): server mail.good.test, port 993, connection security SSL/TLS"
        in settings["fix"]
    )
    assert (
        "Outgoing (SMTP): server mail.good.test, port 465, connection security SSL/TLS"
        in settings["fix"]
    )
    assert '"Normal password", user name alice@good.test' in settings["fix"]


def test_starttls_first_is_what_the_lab_says(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, data = _auth(lab, monkeypatch, capsys, "mail.good.test", ALICE_PW)
    tries = _tries(data)
    # Postfix smtpd_tls_auth_only: AUTH before STARTTLS gets 530 5.7.0 (not advertised either).
    assert tries["smtp:587"]["before_tls"] == "530 5.7.0 Must issue a STARTTLS command first"
    assert tries["imap:143"]["before_tls"].startswith("LOGINDISABLED")
    assert tries["pop3:110"]["before_tls"].startswith("no USER")
    (first,) = [f for f in data["findings"] if f["code"] == "auth.requires_tls"]
    assert (
        "587, 143, 110" in first["cause"] and "465 (SMTP), 993 (IMAP), 995 (POP3)" in first["fix"]
    )


def test_wrong_password_is_rejected_three_times_then_left_alone(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _auth(lab, monkeypatch, capsys, "mail.good.test", "Not-Alice-Pw-1")
    assert code == 1
    assert _codes(data) == ["auth.failed", "auth.requires_tls"]
    (failed,) = [f for f in data["findings"] if f["code"] == "auth.failed"]
    assert "535 5.7.8" in failed["cause"] and "[AUTHENTICATIONFAILED]" in failed["cause"]
    assert "-ERR [AUTH]" in failed["cause"]
    rejected = [a for t in _tries(data).values() for a in t["attempts"] if a["outcome"] == "failed"]
    assert len(rejected) == 3


def test_submission_without_auth(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _auth(lab, monkeypatch, capsys, "mail.sub-noauth.test", ALICE_PW)
    assert code == 1
    (noauth,) = [f for f in data["findings"] if f["code"] == "auth.not_offered"]
    assert noauth["subject"].endswith("SMTP 587 (STARTTLS)")
    assert "Relay access denied" in noauth["cause"]
    assert "auth.failed" not in _codes(data) and "auth.protocol_mismatch" not in _codes(data)


def test_auth_only_in_clear_is_not_used(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _auth(lab, monkeypatch, capsys, "mail.sub-plain.test", ALICE_PW)
    assert code == 1
    assert "auth.plaintext_only" in _codes(data)
    t = _tries(data)["smtp:587"]
    assert t["security"] == "None" and t["attempts"] == [] and "no TLS" in t["skipped"]
    assert not any(line.startswith("C: AUTH") for line in t["transcript"])


def test_bad_certificate_gets_no_password_unless_insecure(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data = _auth(lab, monkeypatch, capsys, "mx.cert-selfsigned.test", ALICE_PW)
    assert code == 1
    assert _codes(data) == ["auth.cert_untrusted", "auth.requires_tls"]
    assert all(t["attempts"] == [] for t in _tries(data).values())
    (cert,) = [f for f in data["findings"] if f["code"] == "auth.cert_untrusted"]
    assert (
        "self-signed" in cert["cause"]
        and "maildoctor check --host mx.cert-selfsigned.test" in cert["fix"]
    )
    code, data = _auth(lab, monkeypatch, capsys, "mx.cert-selfsigned.test", ALICE_PW, insecure=True)
    assert "auth.ok" in _codes(data)
    (cert,) = [f for f in data["findings"] if f["code"] == "auth.cert_untrusted"]
    assert "because of --insecure" in cert["cause"]


@pytest.mark.parametrize("password", [ALICE_PW, "Wr0ng-Distinctive-Pa55!"])
def test_the_password_appears_in_no_output(
    lab: Lab,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    password: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MD_TEST_PW", password)
    monkeypatch.setenv("COLUMNS", "200")
    outputs = []
    for json_flag in (False, True):
        html = tmp_path / f"auth-{json_flag}.html"
        code = auth_command(
            "mail.good.test",
            user=ALICE,
            password_env="MD_TEST_PW",
            resolver=[lab.resolver],
            allow_private=True,
            ca_file=lab.ca_file,
            json=json_flag,
            html=html,
        )
        captured = capsys.readouterr()
        outputs += [captured.out, captured.err, html.read_text()]
        assert code == (0 if password == ALICE_PW else 1)
    outputs.append(caplog.text)
    # The JSON carries every transcript: the AUTH exchanges happened and are redacted there.
    assert "C: AUTH PLAIN [redacted]" in outputs[3] and "C: [redacted]" in outputs[3]
    forms = secret_forms(ALICE, password)
    assert len(forms) >= 4
    for text in outputs:
        for form in forms:
            assert form not in text


def test_a_host_without_address_is_a_usage_error(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MD_TEST_PW", ALICE_PW)
    code = auth_command(
        "mail.no-such-name.test",
        user=ALICE,
        password_env="MD_TEST_PW",
        resolver=[lab.resolver],
        allow_private=True,
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "mail.no-such-name.test has no address (A: NXDOMAIN" in err


def test_password_out_of_sync_between_protocols_is_the_outlook_loop(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 127.0.10.21: IMAP/POP3 check alice's current password, SMTP AUTH an old one
    # (lab/mail/mailctl.py STALE_SMTP_PASSWORDS).
    code, data = _auth(lab, monkeypatch, capsys, "mail.sub-mismatch.test", ALICE_PW)
    assert code == 1
    problems = [f for f in data["findings"] if f["severity"] in ("error", "critical")]
    assert [f["code"] for f in problems] == ["auth.protocol_mismatch"]
    (f,) = problems
    assert f["title"] == "The password works for IMAP and POP3 but not for SMTP (sending)"
    assert "535 5.7.8" in f["evidence"] and "OK Logged in" in f["evidence"]
    tries = _tries(data)
    assert tries["imap:993"]["attempts"][0]["outcome"] == "ok"
    assert tries["smtp:587"]["attempts"][0]["outcome"] != "ok"
