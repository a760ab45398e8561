"""`maildoctor diagnose` on the lab: for each symptom, a scenario built for it, and the planted
cause must come first. Runs the real CLI against real Postfix, Dovecot, nginx and DNS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maildoctor.cli import run
from maildoctor.protocols.sasl import secret_forms

from .conftest import Lab

pytestmark = pytest.mark.lab

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/report.schema.json").read_text())
ALICE = "alice@good.test"
ALICE_PW = "alice-Lab-2026"  # lab/mail/users.tsv


def _flags(lab: Lab) -> list[str]:
    return ["--resolver", lab.resolver, "--allow-private", "--ca-file", str(lab.ca_file)]


def diagnose(
    lab: Lab,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    domain: str,
    symptom: str,
    *extra: str,
    account: bool = False,
) -> tuple[int, dict[str, Any]]:
    args = ["diagnose", domain, "--symptom", symptom, *_flags(lab), *extra, "--json"]
    if account:
        monkeypatch.setenv("MD_TEST_PW", ALICE_PW)
        args += ["--user", ALICE, "--password-env", "MD_TEST_PW"]
    code = run(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    d = data["diagnosis"]
    assert d["symptom"] == symptom
    assert [f["code"] for f in data["findings"][: len(d["causes"])]] == d["causes"]
    for f in data["findings"][: len(d["causes"])]:
        assert symptom in f["symptoms"]
    return code, data


def causes(data: dict[str, Any]) -> list[str]:
    return list(data["diagnosis"]["causes"])


def test_password_rejected_names_the_password_out_of_sync_between_protocols(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.10.21: SMTP AUTH checks an old password, IMAP and POP3 the current one.
    code, data = diagnose(
        lab, capsys, monkeypatch, "sub-mismatch.test", "password-rejected", account=True
    )
    assert code == 1
    assert causes(data)[0] == "auth.protocol_mismatch"
    assert data["diagnosis"]["used"]["account"] == ALICE
    assert "account.auth" in data["evidence"]
    # The working protocols were tried with the real password: the mailbox side is fine.
    assert not {"imap.unreachable", "pop3.unreachable"} & set(causes(data))
    text = json.dumps(data)
    for form in secret_forms(ALICE, ALICE_PW):
        assert form not in text


def test_cannot_receive_names_port_25_refused_on_the_mx(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.10.13: the address exists, nothing listens.
    code, data = diagnose(lab, capsys, monkeypatch, "closed.test", "cannot-receive")
    assert code == 1
    first = data["findings"][0]
    assert first["code"] == "port.refused" and first["subject"].endswith(":25)")
    # The submission ports are closed too, but they do not explain mail not coming in.
    others = [f for f in data["findings"][len(causes(data)) :] if f["code"] == "port.refused"]
    assert {f["subject"][-5:] for f in others} == {":587)", ":465)"}
    assert (
        "Mail exchangers are published and resolve (closed.test)"
        in (data["diagnosis"]["ruled_out"])
    )


def test_client_ssl_error_names_the_expired_certificate(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data = diagnose(lab, capsys, monkeypatch, "cert-expired.test", "client-ssl-error")
    assert code == 1
    assert causes(data)[0] == "tls.cert_expired"
    assert "expired" in data["findings"][0]["evidence"].lower()


def test_cannot_send_names_submission_without_auth(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.10.4: 587 offers STARTTLS but no AUTH at all ("Relay access denied" for clients).
    code, data = diagnose(lab, capsys, monkeypatch, "sub-noauth.test", "cannot-send", account=True)
    assert code == 1
    assert causes(data)[0] in {"auth.not_offered", "smtp.auth_not_offered"}
    assert {"auth.not_offered", "smtp.auth_not_offered"} <= set(causes(data))


def test_cannot_send_on_the_control_finds_no_cause_and_rules_things_out(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data = diagnose(lab, capsys, monkeypatch, "good.test", "cannot-send", account=True)
    assert code == 0
    assert causes(data) == []
    codes = {f["code"] for f in data["findings"]}
    assert {"auth.ok", "send.ok"} <= codes  # the account logged in and one message went
    assert data["diagnosis"]["ruled_out"]


def test_spam_folder_names_the_blacklisted_server(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.10.11 is listed on the lab's DNSBLs; its SPF, DKIM and DMARC are right.
    code, data = diagnose(lab, capsys, monkeypatch, "dnsbl.test", "spam-folder")
    assert code == 1
    assert causes(data)[0] == "dnsbl.listed"
    assert "127.0.10.11" in data["findings"][0]["subject"] + data["findings"][0]["evidence"]
    ruled = " ".join(data["diagnosis"]["ruled_out"])
    assert "SPF" in ruled and "DMARC" in ruled


def test_large_attachments_names_the_small_size_limit(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.10.10: message_size_limit = 1048576.
    code, data = diagnose(
        lab,
        capsys,
        monkeypatch,
        "size-1mb.test",
        "large-attachments",
        "--to",
        "postmaster@size-1mb.test",
        account=True,
    )
    assert code == 0  # a low limit is a warning: the contract exits 1 for errors only
    assert causes(data)[0] == "smtp.size_limit_low"
    limit = next(f for f in data["findings"] if f["code"] == "send.size_limit")
    assert "1048576" in limit["title"]


def test_terminal_session_reads_cause_fix_and_ruled_out(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["diagnose", "closed.test", "-s", "cannot-receive", *_flags(lab)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.index("Most likely cause") < out.index("Port 25 refuses connections")
    assert out.index("step 1") < out.index("Ruled out")
    assert "To check more" in out


def test_spam_folder_with_a_sample_names_the_body_changed_after_signing(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A message good.test signed with its real lab key; a list or an antivirus then added a
    # footer, so the receiver's DKIM check failed and DMARC with it.
    from .test_message_lab import lab_key, signed

    raw = signed("good.test", lab_key(lab, "good.test"))
    raw = raw.replace(
        b"Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=alice@good.test;\n"
        b" dkim=pass header.d=good.test; dmarc=pass header.from=good.test\n",
        b"Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom=alice@good.test;\n"
        b" dkim=fail (body hash did not verify) header.d=good.test;\n"
        b" dmarc=fail (p=reject) header.from=good.test\n",
    )
    # It left through the domain's own server, which its SPF authorises.
    raw = raw.replace(b"[127.0.10.2]", b"[127.0.10.1]")
    assert b"dkim=fail" in raw and b"[127.0.10.1]" in raw
    sample = tmp_path / "spam.eml"
    sample.write_bytes(raw + b"\n-- \nScanned by FreeAV. MIEN PHI: khuyen mai 100% free!!!\n")
    code, data = diagnose(
        lab, capsys, monkeypatch, "good.test", "spam-folder", "--eml", str(sample)
    )
    assert code == 1
    assert causes(data)[0] == "message.dkim_body_modified"
    assert {"message.dmarc_failed", "message.spam_content"} <= set(causes(data))
    assert data["diagnosis"]["used"]["message"] == str(sample)
    assert data["diagnosis"]["used"]["sending IP (from the message)"] == "127.0.10.1"
    # The domain's own records are fine: the sample, not DNS, explains the spam folder.
    assert not [c for c in causes(data) if not c.startswith("message.")]


def test_spam_folder_judges_the_server_the_sample_came_from_against_spf(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Signed and intact, but handed over by 127.0.10.2, which good.test's SPF does not name.
    from .test_message_lab import lab_key, signed

    sample = tmp_path / "relayed.eml"
    sample.write_bytes(signed("good.test", lab_key(lab, "good.test")))
    code, data = diagnose(
        lab, capsys, monkeypatch, "good.test", "spam-folder", "--eml", str(sample)
    )
    assert code == 1
    assert data["diagnosis"]["used"]["sending IP (from the message)"] == "127.0.10.2"
    spf = [f for f in data["findings"] if f["code"] == "spf.server_not_authorized"]
    assert spf and "127.0.10.2" in spf[0]["subject"] + spf[0]["evidence"]
    assert "spf.server_not_authorized" in causes(data)
    assert not [c for c in causes(data) if c.startswith("message.dkim")]  # the signature holds


def test_webmail_login_names_the_webmail_application_down(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # nginx answers for webmail.webmail-down.test, but proxies to a port where nothing runs.
    code, data = diagnose(lab, capsys, monkeypatch, "webmail-down.test", "webmail-login")
    assert code == 1
    assert causes(data) == ["webmail.server_error"]
    assert "502" in data["findings"][0]["evidence"]
    # No --webmail: the usual name was tried because it resolves.
    assert data["diagnosis"]["used"] == {"webmail (guessed)": "https://webmail.webmail-down.test/"}
    assert any("--webmail URL" in h for h in data["diagnosis"]["hints"])


def test_webmail_login_names_the_cookie_browsers_drop(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data = diagnose(
        lab,
        capsys,
        monkeypatch,
        "webmail-cookie.test",
        "webmail-login",
        "--webmail",
        "webmail.webmail-cookie.test",
    )
    assert code == 1
    assert causes(data)[0] == "webmail.cookie_rejected"
    assert "webmail.mixed_content" in causes(data)
    assert data["diagnosis"]["used"]["webmail"] == "https://webmail.webmail-cookie.test/"


def test_webmail_login_on_the_control_rules_the_page_out(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data = diagnose(lab, capsys, monkeypatch, "good.test", "webmail-login")
    assert code == 0
    assert causes(data) == []
    assert "webmail.ok" in {f["code"] for f in data["findings"]}


def test_overloaded_names_the_one_sender_flooding_the_queue(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # busy.test: 600 deferred messages in postfix-busy, 540 from newsletter@busy.test, and its
    # MX answers Postfix's own 421 "too many connections".
    busy = lab.state["busy_queue"]
    assert isinstance(busy, dict)
    code, data = diagnose(
        lab,
        capsys,
        monkeypatch,
        "busy.test",
        "overloaded",
        "--postfix-config",
        str(busy["postfix_config_dir"]),
        "--log",
        str(lab.run / "log" / "postfix-busy.log"),
    )
    assert code == 1
    assert causes(data)[0] == "queue.one_sender_floods"
    first = data["findings"][0]
    assert busy["flood_sender"] in first["subject"] + first["evidence"]
    assert {"queue.backlog", "smtp.busy"} <= set(causes(data))
    busy_421 = next(f for f in data["findings"] if f["code"] == "smtp.busy")
    assert "421 4.7.0" in busy_421["evidence"] and "too many connections" in busy_421["evidence"]
    assert data["diagnosis"]["used"]["queue"].startswith("postqueue -c ")
    # The queue was readable, so this is the mail server: its machine was read too, and the
    # queue's file system is the one postconf names for this instance.
    host = data["evidence"]["host.resources"]
    assert host["disks"][0]["role"] == "mail queue"
    assert host["disks"][0]["path"] == str(lab.run / "postfix-busy" / "queue")
    assert {f["code"] for f in data["findings"]} & {
        "host.ok",
        "host.load_high",
        "host.memory_low",
        "host.disk_full",
    }


def test_overloaded_away_from_the_server_says_the_queue_was_not_read(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data = diagnose(lab, capsys, monkeypatch, "busy.test", "overloaded")
    assert code == 0  # a 421 alone is a warning
    assert causes(data) and set(causes(data)) == {"smtp.busy"}
    assert any(n["what"] == "mail queue" for n in data["not_checked"])
    machine = [n for n in data["not_checked"] if n["what"] == "host.host_resources"]
    assert machine and "not taken for the mail server" in machine[0]["reason"]
    assert any("read the mail queue" in h for h in data["diagnosis"]["hints"])


def test_the_password_is_in_no_output_of_diagnose(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MD_TEST_PW", ALICE_PW)
    page = tmp_path / "report.html"
    code = run(
        [
            "diagnose",
            "sub-mismatch.test",
            "-s",
            "cannot-send",
            *_flags(lab),
            "--user",
            ALICE,
            "--password-env",
            "MD_TEST_PW",
            "--html",
            str(page),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1 and "Most likely cause" in out
    for text in (out, err, page.read_text()):
        for form in secret_forms(ALICE, ALICE_PW):
            assert form not in text


def _on_a_terminal(argv: list[str], answers: list[bytes], timeout: float = 60.0) -> str:
    """Run argv with a pseudo-terminal as stdin, stdout and stderr; answer each prompt (a line
    ending in ': ') in turn; return everything the terminal showed."""
    import os
    import pty
    import select
    import subprocess
    import time

    try:
        main_fd, tty_fd = pty.openpty()
    except OSError as exc:
        pytest.skip(f"no pseudo-terminal on this machine: {exc}")
    proc = subprocess.Popen(argv, stdin=tty_fd, stdout=tty_fd, stderr=tty_fd, close_fds=True)
    os.close(tty_fd)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:  # the other side closed: the program ended
                    break
                if not chunk:
                    break
                shown += chunk
                if pending and shown.rstrip(b" ").endswith(b":"):
                    os.write(main_fd, pending.pop(0))
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=5) in (0, 1)
    finally:
        proc.kill()
        os.close(main_fd)
    return shown.decode(errors="replace")


def test_on_a_real_terminal_the_menu_asks_and_the_chosen_symptom_runs(lab: Lab) -> None:
    import sys

    exe = str(Path(sys.executable).parent / "maildoctor")
    shown = _on_a_terminal(
        [exe, "diagnose", "closed.test", *_flags(lab)],
        [b"2\n", b"\n"],  # "We can send, but mail from outside does not arrive"; no log
    )
    assert "What is the problem?" in shown and "8. Mail with large attachments fails" in shown
    assert "Mail log to read" in shown
    assert shown.index("Most likely cause") < shown.index("Port 25 refuses connections")


def test_on_a_real_terminal_the_password_is_asked_hidden_and_never_shown(lab: Lab) -> None:
    import sys

    exe = str(Path(sys.executable).parent / "maildoctor")
    argv = [exe, "diagnose", "sub-mismatch.test", "-s", "password-rejected", "-u", ALICE]
    shown = _on_a_terminal(
        [*argv, *_flags(lab)],
        [b"\n", ALICE_PW.encode() + b"\n"],  # no log, then the password
    )
    assert f"Password for {ALICE}" in shown
    assert "(auth.protocol_mismatch)" in shown
    for form in secret_forms(ALICE, ALICE_PW):
        assert form not in shown  # getpass turned echo off; no output repeats it
