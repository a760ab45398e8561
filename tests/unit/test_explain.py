"""`maildoctor explain`: the knowledge data, the matcher, the output, hostile input."""

from __future__ import annotations

import io
import json
import random
import re
import shlex
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from maildoctor import catalogue
from maildoctor.engine import check_areas
from maildoctor.explain import explain, explain_command
from maildoctor.explain.codes import MAX_CHARS, parse
from maildoctor.explain.knowledge import FAMILIES, Entry, KnowledgeError, Tier, load, parse_family
from maildoctor.explain.render import render_markdown, to_json
from maildoctor.report import SYMPTOMS
from maildoctor.targets import parse_domain

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs/explain.schema.json").read_text())
ENTRIES = load()
SUBCOMMANDS = {"check", "auth", "send-test"}


def _ids(entries: tuple[Entry, ...]) -> list[str]:
    return [e.id for e in entries]


# --- the data ---------------------------------------------------------------------------


def test_every_family_is_loaded_and_large_enough() -> None:
    families = {e.family for e in ENTRIES}
    assert families == set(FAMILIES)
    assert len(ENTRIES) >= 250
    # RFC 5321 4.2: the reply codes of the standard all have an entry.
    codes = {e.basic for e in ENTRIES if e.basic}
    for code in ("421", "450", "451", "452", "500", "501", "502", "503", "504", "550", "551"):
        assert code in codes
    for code in ("552", "553", "554", "530", "535", "534", "538", "454", "521", "556"):
        assert code in codes
    details = {e.enhanced for e in ENTRIES if e.enhanced}
    # RFC 3463 and the IANA registry: every subject, and the details up to X.7.30.
    for subject in range(8):
        assert f"X.{subject}.X" in details
    for code in ("X.1.1", "X.1.10", "X.2.2", "X.3.4", "X.4.7", "X.5.6", "X.6.10", "X.7.1"):
        assert code in details
    assert {f"X.7.{n}" for n in range(31)} <= details


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_each_entry_example_matches_that_entry_first(entry: Entry) -> None:
    exp = explain(entry.example)
    assert exp.matches, f"{entry.id}: its example matches nothing"
    assert exp.matches[0].entry.id == entry.id
    assert to_json(exp)["answers"][0]["id"] == entry.id


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_each_entry_references_only_existing_findings_and_valid_commands(entry: Entry) -> None:
    cat = catalogue.load()
    e = entry
    for code in e.findings:
        assert code in cat, f"{e.id}: finding {code} is not in the catalogue"
    for symptom in e.symptoms:
        assert symptom in SYMPTOMS
    areas = set(check_areas())
    for command in e.check:
        argv = shlex.split(command)
        assert argv[0] == "maildoctor" and argv[1] in SUBCOMMANDS, command
        if argv[1] == "check":
            parse_domain(argv[2].replace("{domain}", "example.com"))
            only = [argv[i + 1] for i, a in enumerate(argv) if a == "--only"]
            assert set(only) <= areas, f"{e.id}: unknown area in {command}"
    assert e.causes and e.fix and e.meaning and e.title


def test_texts_from_outside_are_written_in_our_words_not_empty_placeholders() -> None:
    # Every {placeholder} in a fix or check is one the matcher fills.
    for e in ENTRIES:
        for text in (*e.fix, *e.check):
            for name in re.findall(r"\{(\w+)\}", text):
                assert name in {"domain", "ip", "host"}, (e.id, text)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[entry]]\nid = "clients.x"\npatterns = ["x"]\n', "fix must not be empty"),
        ('[[entry]]\nid = "gmail.x"\n', "id must look like"),
        ("[x]\ny = 1\n", "expected [[entry]]"),
        ('[[entry]]\nid = "clients.x"\nbogus = 1\n', "unknown fields"),
    ],
)
def test_bad_knowledge_data_is_refused(toml: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        parse_family("clients", toml)


def _entry_toml(**extra: str) -> str:
    base = {
        "id": '"clients.x"',
        "title": '"t"',
        "meaning": '"m"',
        "causes": '["c"]',
        "fix": '["f"]',
        "example": '"e"',
    }
    base.update(extra)
    return "[[entry]]\n" + "".join(f"{k} = {v}\n" for k, v in base.items())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"patterns": "['(unclosed']"}, "bad pattern"),
        ({"patterns": "['(?P<user>x)']"}, "unknown named groups"),
        ({"patterns": "['x']", "basic": '"550"'}, "exactly one of"),
        ({}, "exactly one of"),
        ({"basic": '"650"'}, "basic must look like"),
        ({"enhanced": '"5.X.X"'}, "enhanced must look like"),
        ({"patterns": "['x']", "symptoms": '["sad"]'}, "unknown symptoms"),
        ({"patterns": "['x']", "fix": '["run {user}"]'}, "unknown placeholder"),
        ({"basic": '"550"', "fallback": "true"}, "fallback"),
    ],
)
def test_bad_entries_are_refused(extra: dict[str, str], message: str) -> None:
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        parse_family("clients", _entry_toml(**extra))


def test_docs_explain_md_is_current() -> None:
    page = (ROOT / "docs/explain.md").read_text(encoding="utf-8")
    assert page == render_markdown(load()), (
        "docs/explain.md is stale: python -m maildoctor.explain --markdown > docs/explain.md"
    )


# --- finding the codes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "basic", "enhanced"),
    [
        ("550 5.1.1 <jo@example.org>: Recipient address rejected", ("550",), ("5.1.1",)),
        ("550-5.7.26 blocked\n550-5.7.26 more\n550 5.7.26 end", ("550",), ("5.7.26",)),
        (
            "Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound'",
            ("550",),
            ("5.1.10",),
        ),
        ("Diagnostic-Code: smtp; 552 5.2.2 Mailbox full", ("552",), ("5.2.2",)),
        ("#550 5.7.1 RESOLVER.RST.AuthRequired ##", ("550",), ("5.7.1",)),
        ("Status: 4.4.7", (), ("4.4.7",)),
        ("host mx.example.org[198.51.100.7] said: 554 Transaction failed", ("554",), ()),
        # Numbers in prose, IP addresses and versions are not codes.
        ("We sent 250 messages and will retry in 300 seconds", (), ()),
        ("Client host [4.5.6.7] from 10.2.3.4 port 465", (), ()),
        ("Postfix 2.10.1 and OpenSSL 3.0.11 on Debian 12", (), ()),
        ("see https://example.net/a?v=1.2.3.4.5.6 build 10.0.19045", (), ()),
    ],
)
def test_codes_are_found_where_servers_put_them(
    text: str, basic: tuple[str, ...], enhanced: tuple[str, ...]
) -> None:
    parsed = parse(text)
    assert parsed.basic == basic
    assert parsed.enhanced == enhanced


def test_multiline_reply_is_joined_for_phrase_matching() -> None:
    parsed = parse("550-5.7.26 the sender is\n550-5.7.26 unauthenticated. Gmail requires")
    assert "the sender is unauthenticated. Gmail requires" in parsed.joined


# --- ranking ----------------------------------------------------------------------------


def test_most_specific_first_provider_text_then_detail_then_subject_then_code() -> None:
    gmail = explain("550 5.7.26 This mail has been blocked because the sender is unauthenticated.")
    assert [m.entry.id for m in gmail.matches] == [
        "gmail.unauthenticated",
        "enhanced.X.7.26",
        "smtp_basic.550",
    ]
    generic = explain("550 5.7.26 Rejected")
    assert [m.entry.id for m in generic.matches] == ["enhanced.X.7.26", "smtp_basic.550"]
    subject = explain("550 5.7.199 Rejected by local policy rule 12")
    assert [m.entry.id for m in subject.matches] == ["enhanced.X.7", "smtp_basic.550"]
    assert subject.unregistered == ("5.7.199",)
    assert [m.tier for m in subject.matches] == [Tier.SUBJECT, Tier.BASIC]
    bare = explain("559 Something odd")
    assert [m.entry.id for m in bare.matches] == ["smtp_basic.5XX"]
    assert bare.unregistered == ("559",)


def test_several_apply_spamhaus_inside_554_571() -> None:
    exp = explain(
        "554 5.7.1 Service unavailable; Client host [198.51.100.23] blocked using "
        "zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.23"
    )
    ids = [m.entry.id for m in exp.matches]
    assert ids == ["dnsbl.spamhaus", "enhanced.X.7.1", "smtp_basic.554"]
    # The generic "blocked using" entry gives way to the specific one of its family.
    assert "dnsbl.generic" not in ids
    # The IP of the text goes into the check command.
    assert to_json(exp)["answers"][0]["check"] == [
        "maildoctor check example.com --only dnsbl --sending-ip 198.51.100.23"
    ]


def test_domain_captured_from_the_text_fills_the_commands() -> None:
    exp = explain(
        "550-5.7.26 Unauthenticated email from shop.example.net is not accepted due to "
        "domain's DMARC policy. Please contact the administrator of shop.example.net domain"
    )
    answer = to_json(exp)["answers"][0]
    assert answer["id"] == "gmail.dmarc_policy"
    assert answer["check"] == [
        "maildoctor check shop.example.net --only spf --only dkim --only dmarc"
    ]
    assert any("_dmarc.shop.example.net" in step for step in answer["fix"])


def test_private_addresses_are_not_offered_as_the_sending_ip() -> None:
    exp = explain("554 5.7.1 Client host [10.1.2.3] blocked using zen.spamhaus.org")
    assert "--sending-ip 192.0.2.1" in to_json(exp)["answers"][0]["check"][0]


# --- the command ------------------------------------------------------------------------


def _run(
    capsys: pytest.CaptureFixture[str], text: str, *, json_out: bool = False
) -> tuple[int, str, str]:
    code = explain_command(text, json=json_out)
    out, err = capsys.readouterr()
    return code, out, err


def test_terminal_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6")
    assert code == 0 and err == ""
    assert "Login failed" in out
    assert "What it means:" in out and "Likely causes" in out and "Fix:" in out
    assert "maildoctor auth mail.example.com --user USER" in out
    assert "5.7.8 (enhanced; class 5: permanent failure" in out


def test_unknown_text_says_so_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "my printer shows a blinking orange light")
    assert code == 0
    assert "maildoctor knows nothing of this text" in out
    code, out, _ = _run(capsys, "my printer shows a blinking orange light", json_out=True)
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["known"] is False and data["answers"] == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n", "\x00\x00"])
def test_empty_text_is_a_usage_error(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, out, err = _run(capsys, text)
    assert code == 2 and out == ""
    assert err.startswith("maildoctor: error: the text to explain is empty")
    assert err.count("\n") == 1


def test_dash_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bounce = (
        b"This is the mail system at host mail.example.com.\n\n"
        b"<jo@example.org>: host mx.example.org[198.51.100.7] said: 550 5.1.1\n"
        b"    <jo@example.org>: Recipient address rejected: User unknown in virtual mailbox\n"
        b"    table (in reply to RCPT TO command)\n"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bounce)))
    code, out, _ = _run(capsys, "-", json_out=True)
    data = json.loads(out)
    assert code == 0
    assert data["answers"][0]["id"] == "clients.user_unknown"
    assert data["codes"] == {"basic": ["550"], "enhanced": ["5.1.1"], "unregistered": []}


def test_stdin_is_read_bounded(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b"550 5.1.1 User unknown\n" + b"x" * (8 * MAX_CHARS)
    stream = io.BytesIO(big)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stream))
    code, out, _ = _run(capsys, "-", json_out=True)
    data = json.loads(out)
    assert code == 0 and data["input"] == {"chars": MAX_CHARS, "truncated": True}
    assert stream.tell() <= 4 * MAX_CHARS + 1 + 8192  # never read the whole paste


SAMPLES = [
    "550-5.7.26 This mail has been blocked because the sender is unauthenticated.",
    "554 5.7.1 Service unavailable; Client host [198.51.100.23] blocked using bl.spamcop.net",
    "Sending reported error (0x800CCC0E) : 'Cannot connect to the server.'",
    "421 4.7.0 [TSS04] Messages from 198.51.100.23 temporarily deferred",
    "550 5.7.199 odd",
    "559 odd",
    "nothing at all",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_json_matches_the_documented_schema(capsys: pytest.CaptureFixture[str], text: str) -> None:
    code, out, _ = _run(capsys, text, json_out=True)
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert data["schema"] == "maildoctor.explain/1"


# --- hostile input ----------------------------------------------------------------------


def test_escape_sequences_and_markup_are_shown_inert(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = (
        "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]0;owned\x07550 5.1.1 [bold red]User unknown[/]"
        "\u202egnp.exe\x9b31m\r\n"
    )
    code, out, err = _run(capsys, hostile)
    assert code == 0 and err == ""
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x9b" not in out
    assert "\\x1b]52;c;ZXZpbA==\\x07" in out  # shown, as visible escapes
    assert "[bold red]User" in out and "unknown[/]" in out  # markup printed literally
    assert "\\u202e" in out
    code, out, _ = _run(capsys, hostile, json_out=True)
    assert out.isascii()  # no raw control character reaches the terminal through JSON either
    data = json.loads(out)
    assert data["answers"][0]["id"] == "clients.user_unknown"
    assert data["codes"] == {"basic": ["550"], "enhanced": ["5.1.1"], "unregistered": []}


def test_one_megabyte_paste_is_bounded_and_fast(capsys: pytest.CaptureFixture[str]) -> None:
    line = "550-5.7.1 Our system has detected that this message is likely unsolicited mail.\n"
    big = ("Received: from x by y; " * 40 + "\n") * 1000 + line * 8000
    assert len(big) > 1_000_000
    start = time.perf_counter()
    code, out, _ = _run(capsys, big, json_out=True)
    elapsed = time.perf_counter() - start
    data = json.loads(out)
    assert code == 0
    assert data["input"] == {"chars": MAX_CHARS, "truncated": True}
    assert elapsed < 3.0, f"{elapsed:.2f} s"


def test_worst_case_text_of_every_pattern_word_is_fast() -> None:
    # Every example glued together, repeated up to the bound: all entries match at once.
    text = "\n".join(e.example for e in ENTRIES)
    text = (text * (MAX_CHARS // len(text) + 1))[:MAX_CHARS]
    start = time.perf_counter()
    exp = explain(text)
    elapsed = time.perf_counter() - start
    assert exp.matches and len(exp.matches) < 200
    assert elapsed < 3.0, f"{elapsed:.2f} s"


def test_binary_garbage_gives_a_clean_answer(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(6)
    blob = bytes(rng.randrange(256) for _ in range(200_000)).decode("utf-8", errors="replace")
    code, out, err = _run(capsys, blob)
    assert code == 0 and err == ""
    assert "\x1b" not in out and "\x00" not in out
    code, out, _ = _run(capsys, blob, json_out=True)
    jsonschema.validate(json.loads(out), SCHEMA)


def test_many_lines_of_codes_stay_bounded() -> None:
    text = "\n".join(f"5{d % 6}{d % 10} 5.{d % 8}.{d} x" for d in range(3000))
    exp = explain(text)
    assert len(exp.matches) <= 8 + len(ENTRIES)
    assert exp.parsed.text == text[:MAX_CHARS] or exp.parsed.truncated


PATHOLOGICAL = {
    "blanks after a keyword": "error" + " " * MAX_CHARS,
    "blank lines": "\n" + " \t" * (MAX_CHARS // 2),
    "open brackets": "connect to " + "[" * MAX_CHARS,
    "repeated keyword": "said: ' " * (MAX_CHARS // 8),
    "digits": "5" * MAX_CHARS,
    "dots": "5." * (MAX_CHARS // 2),
    "reply prefixes": "550-5.7.1 " * (MAX_CHARS // 10),
    "half addresses": "[1.2.3." * (MAX_CHARS // 7),
    "colons": "[a:" * (MAX_CHARS // 3),
    "labels": "Unauthenticated email from " + "a." * (MAX_CHARS // 2),
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_inputs_stay_linear(text: str) -> None:
    # Regexes over 64 KiB of hostile text: no backtracking blow-up (each took minutes once).
    start = time.perf_counter()
    explain(text)
    assert time.perf_counter() - start < 2.0


# --- through the command line (once the explain command is wired into cli.py) -------------

_WIRED = "explain_command" in (ROOT / "src/maildoctor/cli.py").read_text(encoding="utf-8")
needs_cli = pytest.mark.skipif(not _WIRED, reason="the explain command is not in cli.py yet")


@needs_cli
def test_cli_explain(capsys: pytest.CaptureFixture[str]) -> None:
    from maildoctor.cli import run

    assert run(["explain", "535 Authentication Credentials Invalid"]) == 0
    out = capsys.readouterr().out
    assert "The server rejected the user name and password" in out
    assert run(["explain", "--json", "--", "-ERR [AUTH] Authentication failed."]) == 0
    assert json.loads(capsys.readouterr().out)["answers"][0]["id"] == "clients.mailbox_auth_failed"
    assert run(["explain", ""]) == 2
    assert "empty" in capsys.readouterr().err
    assert run(["explain"]) == 2
