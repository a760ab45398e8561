"""diagnose without a lab: the symptom plan, the ranking, the menu, the report shapes."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from maildoctor import catalogue, symptoms
from maildoctor.checks import all_checks
from maildoctor.diagnose.command import Io, Request, diagnose_command
from maildoctor.diagnose.menu import Answers, NoTerminal, ask_inputs, choose_symptom, menu_text
from maildoctor.render.diagnosis import steps
from maildoctor.report import SYMPTOMS, Finding, Severity

from .fake_dns import fake_dns

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/report.schema.json").read_text())
ZONE = {("ghost.example", "MX"): ["10 nothing.ghost.example."]}


def finding(code: str, severity: Severity, subject: str = "s", *syms: str) -> Finding:
    return Finding(code, severity, subject, code, "ev", "cause", "fix", (), syms)


def test_every_symptom_has_a_plan_and_the_catalogue_explains_each() -> None:
    cat = catalogue.load()
    assert tuple(symptoms.BY_NAME) == tuple(SYMPTOMS)
    for name in SYMPTOMS:
        planned = symptoms.plan(name, all_checks(), cat)
        assert planned, name
        for chk in planned:  # each planned check can emit a code that explains the symptom
            assert any(name in cat[c].symptoms for c in chk.codes), chk.name


def test_the_plan_leaves_out_checks_that_cannot_explain_the_symptom() -> None:
    cat = catalogue.load()
    areas = {c.area for c in symptoms.plan("large-attachments", all_checks(), cat)}
    assert "smtp" in areas and "send" in areas
    assert not areas & {"spf", "dkim", "dmarc", "mx", "dnsbl", "mta_sts"}
    spam = {c.area for c in symptoms.plan("spam-folder", all_checks(), cat)}
    assert {"spf", "dkim", "dmarc", "dnsbl", "ptr"} <= spam
    assert "mailbox" not in spam


def test_rank_puts_the_worst_cause_first_then_the_symptom_s_usual_area() -> None:
    s = "cannot-receive"
    found = [
        finding("tls.cert_expiring", Severity.WARNING, "mx", "client-ssl-error"),
        finding("imap.unreachable", Severity.ERROR, "mail", s),
        finding("port.refused", Severity.ERROR, "mx:25", s),
        finding("mx.ok", Severity.OK, "d"),
        finding("pop3.unreachable", Severity.WARNING, "mail", s),
        finding("dns.nxdomain", Severity.CRITICAL, "d", s),
        finding("auth.working_settings", Severity.INFO, "d", s),
    ]
    ranked = symptoms.rank(s, found)
    assert [f.code for f in ranked.causes] == [
        "dns.nxdomain",
        "port.refused",  # ports come before IMAP for this symptom
        "imap.unreachable",
        "pop3.unreachable",
    ]
    assert [f.code for f in ranked.other_problems] == ["tls.cert_expiring"]
    assert [f.code for f in ranked.rest] == ["auth.working_settings", "mx.ok"]
    assert symptoms.ruled_out(ranked) == ("mx.ok (d)",)


def test_between_equals_the_earlier_step_of_the_catalogue_comes_first() -> None:
    s = "spam-folder"
    found = [
        finding("message.dmarc_failed", Severity.ERROR, "m", s),
        finding("message.dkim_body_modified", Severity.ERROR, "m", s),
    ]
    cat = catalogue.load()
    steps = {c: cat[c].step for c in cat}
    assert steps["message.dkim_body_modified"] < steps["message.dmarc_failed"]
    ranked = symptoms.rank(s, found, steps)
    assert [f.code for f in ranked.causes] == ["message.dkim_body_modified", "message.dmarc_failed"]
    reverse = {"message.dmarc_failed": 0, "message.dkim_body_modified": 1}
    assert symptoms.rank(s, found, reverse).causes[0].code == "message.dmarc_failed"


def test_unknown_symptom_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown symptom 'slow'.*password-rejected"):
        symptoms.get("slow")


def test_a_role_narrows_what_a_port_finding_explains() -> None:
    cat = catalogue.load()
    params = {"port": 25, "where": "mx:25", "service": "SMTP"}
    mx = cat.finding(
        "port.refused", subject="mx", evidence="e", only_symptoms=("cannot-receive",), **params
    )
    assert mx.symptoms == ("cannot-receive",)
    sub = cat.finding(
        "port.refused", subject="sub", evidence="e", only_symptoms=("cannot-send",), **params
    )
    assert sub.symptoms == ("cannot-send",)
    whole = cat.finding("port.refused", subject="x", evidence="e", **params)
    assert set(whole.symptoms) == {"cannot-receive", "cannot-send"}
    never_adds = cat.finding(
        "port.refused", subject="x", evidence="e", only_symptoms=("spam-folder",), **params
    )
    assert never_adds.symptoms == ()


def test_fix_steps_keep_commands_under_their_step() -> None:
    fix = "Renew it:\n  certbot renew\n  systemctl reload postfix\nThen check:\n  openssl x509"
    assert steps(fix) == [
        ("Renew it:", ["  certbot renew", "  systemctl reload postfix"]),
        ("Then check:", ["  openssl x509"]),
    ]
    assert steps("One paragraph only.") == [("One paragraph only.", [])]
    assert steps("Raise it:\n  limit = 35M\nthen: postfix reload") == [
        ("Raise it:", ["  limit = 35M", "then: postfix reload"])
    ]
    assert steps("  only a command") == [("", ["  only a command"])]


def test_menu_reads_a_number_or_a_name_and_gives_up_after_three_wrong_answers() -> None:
    out = io.StringIO()
    answers = iter(["9", "spam-folder"])
    assert choose_symptom(lambda _: next(answers), out) == "spam-folder"
    assert "6. Our mail lands in the recipients' spam folder" in out.getvalue()
    assert "Please answer with a number from 1 to 8" in out.getvalue()
    assert choose_symptom(lambda _: " 2 ", io.StringIO()) == "cannot-receive"
    with pytest.raises(NoTerminal, match="give --symptom NAME"):
        choose_symptom(lambda _: "x", io.StringIO())
    assert menu_text().count("\n") == len(SYMPTOMS)


def test_questions_follow_what_the_symptom_can_use() -> None:
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        if prompt.startswith("Mail account"):
            return "jo@example.com"
        return "/tmp/x" if prompt.startswith("Mail log") else ""

    got = ask_inputs("webmail-login", "example.com", ask, Answers())
    assert [p.split(",")[0] for p in asked] == [
        "Mail account to test",
        "Mail log to read",
        "Webmail address",
    ]
    assert got.user == "jo@example.com" and got.logs == ["/tmp/x"] and got.webmail is None
    asked.clear()
    ask_inputs("cannot-receive", "example.com", ask, Answers(logs=["/var/log/mail.log"]))
    assert asked == []  # a log given already; no account for this symptom
    found = ask_inputs("cannot-receive", "x.example", lambda _: "", Answers(), "/var/log/maillog")
    assert found.logs == ["/var/log/maillog"]  # Enter takes the log found here
    skipped = ask_inputs("cannot-receive", "x.example", lambda _: "-", Answers(), "/var/log/m")
    assert skipped.logs == []


def _request(port: int, **kw: object) -> Request:
    return Request(domain="ghost.example", resolver=[f"127.0.0.1:{port}"], **kw)  # type: ignore[arg-type]


def test_scripted_menu_session_runs_the_chosen_symptom(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from maildoctor.diagnose import command

    monkeypatch.setattr(command, "_local_log", lambda: None)
    err = io.StringIO()
    script = iter(["2", ""])  # cannot-receive; no log
    with fake_dns(ZONE) as port:
        code = diagnose_command(
            _request(port, json=True),
            Io(stdin=io.StringIO(), stderr=err, interactive=True, ask=lambda _: next(script)),
        )
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, SCHEMA)
    assert code == 1
    assert data["diagnosis"]["symptom"] == "cannot-receive"
    assert data["diagnosis"]["causes"][0] == "mx.target_unresolvable"
    assert data["findings"][0]["code"] == "mx.target_unresolvable"
    assert any("--log" in h for h in data["diagnosis"]["hints"])
    assert any("nc -vz MX-HOST 25" in x for x in data["diagnosis"]["by_hand"])
    assert "What is the problem?" in err.getvalue()


def test_a_terminal_is_asked_what_the_symptom_can_use_unless_no_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from maildoctor.diagnose import command

    monkeypatch.setattr(command, "_local_log", lambda: None)  # whatever this machine has
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return ""

    with fake_dns(ZONE) as port:
        diagnose_command(
            _request(port, symptom="cannot-receive", json=True),
            Io(stdin=io.StringIO(), stderr=io.StringIO(), interactive=True, ask=ask),
        )
        assert [a.split(",")[0] for a in asked] == ["Mail log to read"]
        asked.clear()
        diagnose_command(
            _request(port, symptom="cannot-receive", json=True, no_input=True),
            Io(stdin=io.StringIO(), stderr=io.StringIO(), interactive=True, ask=ask),
        )
        assert asked == []
    capsys.readouterr()
    err = io.StringIO()
    code = diagnose_command(
        Request(domain="example.com", no_input=True), Io(stderr=err, interactive=True, ask=ask)
    )
    assert code == 2 and "no --symptom given and --no-input" in err.getvalue()


def test_no_terminal_and_no_symptom_asks_for_the_flag() -> None:
    err = io.StringIO()
    code = diagnose_command(Request(domain="example.com"), Io(stderr=err, interactive=False))
    assert code == 2
    assert "give --symptom NAME, one of password-rejected, cannot-receive" in err.getvalue()


def test_terminal_report_names_the_cause_first_and_what_would_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with fake_dns(ZONE) as port:
        code = diagnose_command(_request(port, symptom="cannot-receive"), Io(interactive=False))
    text = capsys.readouterr().out
    assert code == 1
    assert text.startswith('maildoctor diagnose ghost.example: "We can send, but mail from outside')
    assert text.index("Most likely cause") < text.index("(mx.target_unresolvable)")
    assert "step 1" in text
    assert text.index("To check more") < text.index("--log /var/log/mail.log")


def test_html_report_opens_with_the_ranked_causes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "d.html"
    with fake_dns(ZONE) as port:
        code = diagnose_command(
            _request(port, symptom="cannot-receive", html=page, json=True), Io(interactive=False)
        )
    capsys.readouterr()
    text = page.read_text()
    assert code == 1
    assert text.index("Most likely cause first") < text.index("mx.target_unresolvable")
    assert "Symptom: We can send, but mail from outside does not arrive" in text
    assert "<script" not in text


def test_the_symptoms_page_holds_one_real_session_per_symptom() -> None:
    """docs/symptoms.md is written by lab/sessions.py from real lab runs (make symptoms-doc)."""
    import re

    page = (Path(__file__).resolve().parents[2] / "docs/symptoms.md").read_text()
    cat = catalogue.load()
    sections = re.split(r"^## ", page, flags=re.M)[1:]
    assert [s.split(":", 1)[0] for s in sections] == list(SYMPTOMS)
    for name, section in zip(SYMPTOMS, sections, strict=True):
        assert "$ maildoctor diagnose " in section and f"--symptom {name}" in section
        assert "Most likely cause" in section, name
        first = re.search(r"Most likely cause\n  1\. .*?\((\w+\.\w+)\)", section, re.S)
        assert first is not None, name
        assert name in cat[first.group(1)].symptoms, (name, first.group(1))
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "docs/symptoms.md" in readme


def test_logs_default_to_the_last_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime, timedelta

    log = tmp_path / "mail.log"
    old = datetime.now(UTC) - timedelta(days=3)
    line = (
        "{t} mx postfix/smtpd[1]: warning: unknown[203.0.113.66]: "
        "SASL LOGIN authentication failed: authentication failure, sasl_username=jo@x.example\n"
    )
    log.write_text(
        "".join(line.format(t=(old + timedelta(seconds=i)).isoformat()) for i in range(30))
    )

    def causes(*extra: str) -> tuple[list[str], str]:
        with fake_dns(ZONE) as port:
            req = _request(port, symptom="password-rejected", json=True, logs=[str(log)])
            for flag, value in zip(extra[::2], extra[1::2], strict=True):
                setattr(req, flag, value)
            diagnose_command(req, Io(interactive=False))
        data = json.loads(capsys.readouterr().out)
        return data["diagnosis"]["causes"], data["diagnosis"]["used"]["logs"]

    recent, used = causes()
    assert not [c for c in recent if c.startswith("log.")]
    assert used.endswith("(since 24h)")
    everything, used = causes("since", "all")
    assert "log.brute_force" in everything and used.endswith("(whole files)")
    assert "log.brute_force" in causes("since", "7d")[0]


def test_a_login_that_is_not_an_address_sends_nothing_without_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from maildoctor.diagnose import command

    monkeypatch.setenv("MD_PW", "not-the-real-one-123")
    base = Request(domain="example.com", user="jo", password_env="MD_PW")
    inputs, used, secrets_ = command._inputs(
        base, "cannot-send", ("account", "send", "log"), "example.com", Io(interactive=False)
    )
    assert inputs.send is None and inputs.auth is not None  # type: ignore[attr-defined]
    assert "give --from ADDRESS" in used["send-test"] and secrets_[0][0] == "jo"
    with_from = replace(base, mail_from="jo@example.com")
    inputs, used, _ = command._inputs(
        with_from, "cannot-send", ("account", "send"), "example.com", Io(interactive=False)
    )
    assert inputs.send.rcpt_to == "jo@example.com"  # type: ignore[attr-defined]
    assert used["send-test"] == "jo@example.com -> jo@example.com"


def test_a_queue_read_without_a_flag_counts_as_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the mail server the system's postqueue answers: no hint to go and run it there.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    entry = json.dumps(
        {
            "queue_name": "deferred",
            "queue_id": "4ABC",
            "arrival_time": 1764300000,
            "message_size": 900,
            "sender": "jo@ghost.example",
            "recipients": [{"address": "a@b.example", "delay_reason": "connect timed out"}],
        }
    )
    (bindir / "postqueue").write_text(f"#!/bin/sh\necho '{entry}'\n")
    (bindir / "postqueue").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    with fake_dns(ZONE) as port:
        diagnose_command(_request(port, symptom="overloaded", json=True), Io(interactive=False))
    data = json.loads(capsys.readouterr().out)
    assert data["evidence"]["queue.local"]["status"] == "read"
    assert data["diagnosis"]["used"]["queue"].endswith("postqueue -j")
    assert not any("read the mail queue" in h for h in data["diagnosis"]["hints"])
    codes = {f["code"] for f in data["findings"]}
    assert "queue.old_messages" in codes  # queued on 2025-11-28
    assert {c for c in codes if c.startswith("host.")}  # so this machine was read as the server
