"""Hostile and damaged input: compressed and truncated files, a 10 MB line, binary junk,
invalid UTF-8, terminal escapes. Every line is accounted for, nothing raises."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tracemalloc
from pathlib import Path

import pytest

from maildoctor.logs.analyze import Options, analyze
from maildoctor.logs.command import logs_command
from maildoctor.logs.reader import MAX_LINE

DATA = Path(__file__).resolve().parents[1] / "data" / "logs"
LAB = (DATA / "lab-postfix-good.log").read_bytes()
LAB_LINES = LAB.count(b"\n")


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress), (".txt", bytes)],
)
def test_compressed_logs_read_like_plain(tmp_path: Path, suffix: str, compress: object) -> None:
    plain = analyze([str(DATA / "lab-postfix-good.log")]).to_json()
    path = tmp_path / f"mail.log{suffix}"
    path.write_bytes(compress(LAB))  # type: ignore[operator]
    got = analyze([str(path)]).to_json()
    for key in ("lines", "parsed", "unparsed", "deliveries", "auth_failures", "reject_reasons"):
        assert got[key] == plain[key], key
    assert got["lines"] == LAB_LINES
    assert got["input_errors"] == []


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    half = LAB.index(b"\n", len(LAB) // 2) + 1
    path = tmp_path / "mail.log.1.gz"
    path.write_bytes(gzip.compress(LAB[:half]) + gzip.compress(LAB[half:]))
    assert analyze([str(path)]).lines == LAB_LINES


def test_truncated_gzip_keeps_everything_before_the_damage(tmp_path: Path) -> None:
    data = gzip.compress(LAB * 20)
    path = tmp_path / "mail.log.2.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    # How many complete lines the damaged archive still holds, by the stdlib's own reader.
    readable = b""
    with gzip.open(path) as f:
        try:
            while chunk := f.read1(4096):
                readable += chunk
        except EOFError:
            pass
    s = analyze([str(path)])
    assert s.lines >= readable.count(b"\n") > 0
    assert s.parsed + s.unparsed == s.lines
    assert len(s.input_errors) == 1
    assert "truncated" in s.input_errors[0] and "mail.log.2.gz" in s.input_errors[0]
    out, err = io.StringIO(), io.StringIO()
    code = logs_command([str(path)], json=True, stdout=out, stderr=err)
    assert code in (0, 1)  # a damaged file is a warning, not a usage error
    assert err.getvalue().count("\n") == 1 and "truncated" in err.getvalue()
    assert '"log.input_error"' in out.getvalue()


def test_corrupt_gzip_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(LAB))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(data))
    s = analyze([str(path)])
    assert s.input_errors and "gzip" in s.input_errors[0]


def test_ten_megabyte_line_is_counted_cut_and_cheap(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    head = b"Nov 28 05:44:45 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n"
    monster = b"Nov 28 05:44:46 mx postfix/smtpd[1]: " + b"A" * (10 * 2**20) + b"\n"
    path.write_bytes(head + monster + head + monster.rstrip(b"\n"))
    tracemalloc.start()
    try:
        s = analyze([str(path)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (s.lines, s.overlong, s.parsed, s.unparsed) == (4, 2, 2, 2)
    # Never the whole line in memory, let alone twice: a block and a cut head at most.
    assert peak < 6 * 2**20, peak


def test_long_line_inside_a_block_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    long = b"x" * (MAX_LINE * 3)
    path.write_bytes(b"a\n" + long + b"\nb\n")
    shown: list[str] = []
    s = analyze([str(path)], Options(on_unparsed=shown.append))
    assert (s.lines, s.overlong, s.unparsed) == (3, 1, 3)
    assert max(len(x) for x in shown) <= MAX_LINE


def test_binary_junk_and_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    junk = bytes(range(256)) * 50
    bad_utf8 = (
        b"Nov 28 05:44:45 mx postfix/qmgr[9]: ABCDEF12345: from=<\xff\xfe@bad.example>, "
        b"size=10, nrcpt=1 (queue active)\n"
    )
    path.write_bytes(junk + b"\n" + bad_utf8 + b"\x00\x00\x00\n")
    s = analyze([str(path)])
    assert s.lines == junk.count(b"\n") + 3
    assert s.parsed + s.unparsed == s.lines
    assert s.parsed == 1  # the qmgr line, its bad bytes replaced
    assert s.top_senders[0][0] == "\ufffd\ufffd@bad.example"


def test_terminal_escapes_never_reach_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    evil = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u202e"
    path.write_text(
        f"Nov 28 05:44:45 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.9]: 554 "
        f"5.7.1 <a@b>: Relay access denied; from=<{evil}@x> to=<a@b> proto=ESMTP helo=<x>\n"
        f"{evil} not a log line\n"
    )
    for flags in ([], ["--show-unparsed"]):
        out, err = io.StringIO(), io.StringIO()
        logs_command([str(path)], stdout=out, stderr=err, show_unparsed=bool(flags))
        text = out.getvalue() + err.getvalue()
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b]52" in text  # shown, visibly escaped


def test_empty_file_and_blank_lines(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    s = analyze([str(empty)])
    assert (s.lines, s.parsed, s.unparsed) == (0, 0, 0)
    blank = tmp_path / "blank.log"
    blank.write_bytes(b"\n\n")
    s = analyze([str(blank)])
    assert (s.lines, s.unparsed) == (2, 2)
