"""`maildoctor logs` as a command: exit codes, usage errors, the JSON contract and its schema,
--show-unparsed, --since/--until, --html, --quiet, stdin, --follow across rotation, and the
parallel reader agreeing with the sequential one."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from maildoctor.logs import analyze as analyze_mod
from maildoctor.logs.analyze import Options, analyze
from maildoctor.logs.command import logs_command

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "logs"
SCHEMA = json.loads((ROOT / "docs" / "logs.schema.json").read_text())
LAB_FILES = [
    str(DATA / n)
    for n in ("lab-postfix-good.log", "lab-postfix-faults.log", "lab-dovecot-good.log")
]


def run(files: list[str], **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = logs_command(files, stdout=out, stderr=err, **kw)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("files", "kw", "message"),
    [
        ([], {}, "give at least one log file"),
        (["/nonexistent/mail.log"], {}, "/nonexistent/mail.log: No such file or directory"),
        ([str(DATA)], {}, "is a directory"),
        (["-", "-"], {}, "only once"),
        ([LAB_FILES[0]], {"since": "next blue moon"}, "--since 'next blue moon' is not a time"),
        ([LAB_FILES[0]], {"since": "2026-11-28", "until": "2026-11-27"}, "--until is before"),
        ([LAB_FILES[0]], {"brute_force_threshold": 1}, "--brute-force-threshold"),
        ([LAB_FILES[0]], {"brute_force_window": 0}, "--brute-force-window"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    files: list[str], kw: dict[str, object], message: str
) -> None:
    code, out, err = run(files, **kw)
    assert code == 2 and out == ""
    assert err.startswith("maildoctor: error: ") and err.count("\n") == 1
    assert message in err


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "secret.log"
    path.write_text("x\n")
    path.chmod(0)
    code, _, err = run([str(path)])
    assert code == 2 and "Permission denied" in err


def test_json_contract_and_schema() -> None:
    code, out, err = run(LAB_FILES, json=True)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert err == ""
    # DESIGN.md contract keys
    for key in (
        "lines",
        "unparsed",
        "deliveries",
        "auth_failures",
        "brute_force_ips",
        "relay_denied",
        "bounce_reasons",
        "top_senders",
        "findings",
    ):
        assert key in doc
    assert {"sent", "deferred", "bounced"} <= set(doc["deliveries"])
    assert {"total", "by_ip"} <= set(doc["auth_failures"])
    assert doc["lines"] == doc["parsed"] + doc["unparsed"]
    assert doc["schema"] == "maildoctor.logs/1"
    codes = {f["code"] for f in doc["findings"]}
    assert "log.brute_force" in codes
    for f in doc["findings"]:
        assert set(f) == {
            "code",
            "severity",
            "subject",
            "title",
            "evidence",
            "cause",
            "fix",
            "references",
            "symptoms",
        }
    # exit status follows the worst finding
    worst = doc["verdict"]
    assert code == (1 if worst in ("error", "critical") else 0)


def test_exit_1_on_an_error_finding() -> None:
    code, out, _ = run([str(DATA / "exim-mainlog")], json=True)
    assert code == 1 and json.loads(out)["verdict"] == "error"


def test_show_unparsed_lists_exactly_the_unparsed_lines() -> None:
    _code, out, _err = run([str(DATA / "sendmail-maillog")], show_unparsed=True)
    listed = [line for line in out.splitlines() if line.startswith("unparsed: ")]
    assert listed == [
        "unparsed: Nov 27 10:20:00 mail kernel: [12345.678901] e1000e: eth0 NIC "
        "Link is Up 1000 Mbps Full Duplex"
    ]
    # with --json the list goes to stderr and stdout stays valid JSON
    _code, out, err = run([str(DATA / "sendmail-maillog")], show_unparsed=True, json=True)
    assert json.loads(out)["unparsed"] == 1 and err.count("unparsed: ") == 1


def test_since_until_filter_lines_but_account_for_them() -> None:
    full = analyze([str(DATA / "exim-mainlog")])
    _code, out, _ = run(
        [str(DATA / "exim-mainlog")],
        json=True,
        since="2026-11-27 12:00:00",
        until="2026-11-27 12:00:23",
    )
    doc = json.loads(out)
    assert doc["lines"] == full.lines and doc["parsed"] + doc["unparsed"] == doc["lines"]
    assert doc["auth_failures"]["total"] == 12  # the burst from 192.0.2.77 only
    assert doc["out_of_range"] == full.lines - 12
    assert doc["deliveries"]["sent"] == 0


def test_terminal_output_and_quiet() -> None:
    _code, out, _ = run([str(DATA / "exim-mainlog")])
    assert out.startswith("✗ logs: problems found")
    assert "Summary" in out and "Bounces by cause" in out and "blocked by DNSBL" in out
    _code, quiet, _ = run([str(DATA / "exim-mainlog")], quiet=True)
    assert "Summary" not in quiet and "log.blocked_by_dnsbl" in quiet
    assert "log.ok" not in quiet


def test_html_report(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    _code, _, _ = run([str(DATA / "exim-mainlog")], html=page)
    text = page.read_text()
    assert "<h2>Summary</h2>" in text and "log.brute_force" in text
    assert "<script" not in text
    code, _, err = run([str(DATA / "exim-mainlog")], html=tmp_path / "no" / "r.html")
    assert code == 2 and "--html" in err


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (DATA / "sendmail-maillog").read_bytes()
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(data)))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stdin", fake)
    _code, out, _ = run(["-"], json=True)
    doc = json.loads(out)
    assert doc["lines"] == 26 and doc["files"] == ["-"] and doc["mtas"] == ["sendmail"]


def test_follow_reads_new_lines_across_rotation(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    line = (
        "Nov 28 10:00:{:02d} mx postfix/smtpd[1]: warning: unknown[203.0.113.9]: "
        "SASL LOGIN authentication failed: authentication failure\n"
    )
    path.write_text(line.format(0))
    done = threading.Event()

    def writer() -> None:
        time.sleep(0.3)
        with open(path, "a") as f:
            f.write(line.format(1))
        time.sleep(0.3)
        os.rename(path, tmp_path / "mail.log.1")  # logrotate: old file keeps growing a bit
        with open(tmp_path / "mail.log.1", "a") as f:
            f.write(line.format(2))
        path.write_text(line.format(3) + line.format(4))
        time.sleep(1.2)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    _code, out, _err = run([str(path)], follow=True, json=True, stop=done.is_set)
    t.join()
    doc = json.loads(out)
    assert doc["lines"] == 5 and doc["auth_failures"]["total"] == 5


def test_follow_prints_notable_lines_live(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    path.write_text("Nov 28 10:00:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n")
    stop_at = time.monotonic() + 0.8
    with open(path, "a") as f:
        f.write("Nov 28 10:00:01 mx postfix/smtpd[1]: SSL_accept error from a[192.0.2.1]: -1\n")
    _code, out, _ = run([str(path)], follow=True, stop=lambda: time.monotonic() > stop_at)
    assert (
        out.splitlines()[0]
        == "Nov 28 10:00:01 mx postfix/smtpd[1]: SSL_accept error from a[192.0.2.1]: -1"
    )


def test_parallel_ranges_agree_with_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many copies of the real lab log with fresh queue ids, so messages cross range borders.
    text = (DATA / "lab-postfix-good.log").read_text()
    qid = re.compile(r"\b[0-9A-F]{10,12}\b")
    parts = [qid.sub(lambda m, k=k: f"{k:02X}{m.group(0)}", text) for k in range(40)]
    path = tmp_path / "big.log"
    path.write_text("".join(parts))
    one = analyze([str(path)]).to_json()
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN", 1)
    assert analyze_mod._ranges(str(path), Options())  # really split
    many = analyze([str(path)]).to_json()
    assert many == one
