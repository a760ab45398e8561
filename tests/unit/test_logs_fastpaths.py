"""The shortcuts that make `maildoctor logs` fast give the same answers as the plain way:
the bytes prefilter, the long-line check by windows, the per-second timestamps, the cache of
repeated messages, the direct event handlers. And timestamps with odd digits never raise."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from maildoctor.logs import analyze as analyze_mod
from maildoctor.logs import postfix
from maildoctor.logs.analyze import Options, analyze
from maildoctor.logs.reader import MAX_LINE, _maybe_long, _split
from maildoctor.logs.summary import Summarizer

DATA = Path(__file__).resolve().parents[1] / "data" / "logs"
LAB = (DATA / "lab-postfix-good.log").read_text()

# Lines the prefilter drops, lines it must keep, and lines that only look like either.
ODD = [
    "Nov 28 05:44:09 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov  1 05:44:09 mx postfix/smtpd[1]: disconnect from a[192.0.2.1] ehlo=1 quit=1",
    "Nov 28 05:44:09 mx postfix/smtpd[1]: Anonymous TLS connection established from a",
    "Nov 28 05:44:09 mx postfix/smtpd[1]: lost connection after AUTH from a[192.0.2.1]",
    "Nov 28 05:44:09 mx postfix/cleanup[1]: ABCDEF1234: message-id=<x@y>",
    "Nov 28 05:44:09 mx postfix/cleanup[1]: ABCDE: message-id=<x@y>",
    "Nov 28 25:00:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov 32 05:44:09 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov 28 05:44:99 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov 28 05:44:4a mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov 28 05:44:09 mx postfix/smtpd: connect from a[192.0.2.1]",
    "Nov 28 05:44:09 mx postfix/smtpd[x]: connect from a[192.0.2.1]",
    "Nov 28 05:44:09 mx postfix/smtpd[1]:connect from a[192.0.2.1]",
    "Nov 28 05:44:09 mx mypostfix[1]: connect from a",
    "Nov 28 05:44:09 mx postfix/smtpd[1]: connect from \x1b]0;title\x07",
    "Nov 28 05:44:09 mx postfix/smtpd[1]: conn\u00e9ct from a",
    "Nov 28 05:44:09 m\u00e9 postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov 28 05:44:09 mx postfix/smtpd[1]: SSL_accept error from a[192.0.2.1]: -1",
    "Nov 28 05:44:09 mx postfix/smtpd[1]: warning: TLS library problem: error:0A000102",
    "2026-11-28T05:44:45+01:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    "Nov 28 05:44:46 imap-login: Info: Login: user=<a>, rip=192.0.2.1",
    "garbage",
    "",
]


def _mixed(tmp_path: Path, crlf: bool = False) -> Path:
    rng = random.Random(5)
    lab = LAB.splitlines()
    lines = [rng.choice(ODD) if rng.random() < 0.2 else rng.choice(lab) for _ in range(6000)]
    data = ("\n".join(lines) + "\n").encode()
    data = data.replace("\u00e9".encode(), b"\xe9", 20)  # invalid UTF-8 in some of them
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    path = tmp_path / "mixed.log"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("crlf", [False, True])
def test_prefilter_drops_only_what_the_line_by_line_path_counts_parsed(
    tmp_path: Path, crlf: bool
) -> None:
    path = _mixed(tmp_path, crlf)
    filtered = analyze([str(path)]).to_json()
    # With --since the prefilter is off: every line goes through the parsers one by one.
    one_by_one = analyze([str(path)], Options(since=0.0)).to_json()
    assert one_by_one["out_of_range"] == 0
    for key in ("lines", "parsed", "unparsed", "mtas", "deliveries", "reject_reasons"):
        assert filtered[key] == one_by_one[key], key
    assert filtered["lines"] == 6000
    assert filtered["unparsed"] > 0  # the odd lines really were there


def test_unparsed_lines_are_the_same_with_and_without_prefilter(tmp_path: Path) -> None:
    path = _mixed(tmp_path)
    shown: list[str] = []
    analyze([str(path)], Options(on_unparsed=shown.append))
    shown_ranged: list[str] = []
    analyze([str(path)], Options(since=0.0, on_unparsed=shown_ranged.append))
    assert shown == shown_ranged
    assert "garbage" in shown
    assert "Nov 28 25:00:00 mx postfix/smtpd[1]: connect from a[192.0.2.1]" in shown


@pytest.mark.parametrize(
    "stamp",
    ["05:44:4a", "05:44:\u00b2\u00b2", "05:\u00b2\u00b2:01", "05:44: 4"],
)
def test_timestamps_with_odd_digits_are_unparsed_not_a_traceback(
    tmp_path: Path, stamp: str
) -> None:
    path = tmp_path / "odd.log"
    bad = f"Nov 28 {stamp} mx postfix/smtpd[1]: SSL_accept error from a[192.0.2.1]: -1"
    good = "Nov 28 05:44:09 mx postfix/smtpd[1]: connect from a[192.0.2.1]"
    for text in (bad + "\n" + good + "\n", good + "\n" + bad + "\n", bad + "\n"):
        path.write_text(text)
        for opts in (Options(), Options(since=0.0)):
            s = analyze([str(path)], opts)
            assert s.unparsed == 1 and s.parsed + s.unparsed == s.lines
            assert s.tls_failures.total == 0


def test_the_same_second_twice_gives_the_same_time(tmp_path: Path) -> None:
    fail = "mx postfix/smtpd[1]: warning: a[192.0.2.7]: SASL LOGIN authentication failed: x"
    path = tmp_path / "t.log"
    path.write_text(f"Nov 28 05:44:09 {fail}\n" * 3 + f"Nov 28 05:44:10 {fail}\n")
    s = analyze([str(path)], Options())
    assert s.auth_failures == 4
    assert s.last_seen is not None and s.first_seen is not None
    assert s.last_seen - s.first_seen == 1.0


@pytest.mark.parametrize("length", [4094, 4095, 4096, 4097, 4098, 5000, 8191, 8192, MAX_LINE])
def test_window_check_never_misses_a_long_line(length: int) -> None:
    for offset in range(0, 2 * 2048 + 1, 97):
        data = b"x" * 50 + b"\n" + b"a\n" * (offset // 2) + b"y" * length + b"\nzz\n" + b"b" * 30
        longest = max(len(line) for line in data.split(b"\n"))
        if longest > MAX_LINE // 4:
            assert _maybe_long(data), (length, offset)
    assert not _maybe_long(("short line\n" * 10_000).encode())


def test_split_gives_the_bytes_of_ordinary_blocks_and_cuts_long_lines() -> None:
    block = b"Nov 28 05:44:09 mx postfix/smtpd[1]: connect from a\r\n" * 2000
    ((data, long),) = list(_split(block[:-2]))
    assert isinstance(data, bytes) and not long
    assert data.decode().split("\n") == block[:-2].decode().split("\r\n")
    mixed = b"a\n" + b"z" * (MAX_LINE + 10) + b"\nb"
    parts = list(_split(mixed))
    assert parts == [(["a"], False), (["z" * MAX_LINE], True), (["b"], False)]


def test_repeated_message_cache_changes_no_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _mixed(tmp_path)
    cached = analyze([str(path)]).to_json()
    monkeypatch.setattr(analyze_mod, "MAX_REPEATS", 1)  # cleared at every new message
    assert analyze([str(path)]).to_json() == cached
    monkeypatch.setattr(analyze_mod, "REPEAT_CHARS", 0)  # never used
    assert analyze([str(path)]).to_json() == cached


def test_direct_handlers_do_what_feed_does() -> None:
    events = []
    for line in LAB.splitlines() + ODD:
        head, sep, msg = line.partition("]: ")
        if sep and "postfix" in head:
            daemon = head.rsplit("[", 1)[0].rsplit("/", 1)[-1]
            ev = postfix.parse(daemon, msg, line)
            if ev is not None and ev is not postfix.UNPARSED:
                events.append((ev, line))
    assert len({type(ev) for ev, _ in events}) >= 6
    for orphans in (False, True):
        by_feed, direct = Summarizer(), Summarizer()
        if orphans:
            by_feed.orphans, direct.orphans = [], []
        handlers = direct.handlers()
        for ts, (ev, line) in enumerate(events):
            by_feed.feed(ev, float(ts), line)
            handler = handlers.get(type(ev))
            if handler is not None:
                handler(ev, float(ts), line)
        assert direct.summary() == by_feed.summary()
        assert direct.orphans == by_feed.orphans
