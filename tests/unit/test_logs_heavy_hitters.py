"""The capped tables keyed by address are Space-Saving summaries once full (summary.py's module
doc): an address first seen after a scan filled the table still enters and climbs, its count an
upper bound with a known error, and the summaries of two byte ranges merge with the same
guarantees. Checked against exact counts of random streams, and end to end on the brute-force
finding with the real cap (summary.MAX_IPS)."""

from __future__ import annotations

import io
import json
import pickle
import random
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from maildoctor.logs import analyze as analyze_mod
from maildoctor.logs import model as m
from maildoctor.logs import summary as summary_mod
from maildoctor.logs.analyze import Options
from maildoctor.logs.command import logs_command
from maildoctor.logs.summary import Summarizer, _Count

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "logs.schema.json").read_text())


def _fail(s: Summarizer, ip: str, ts: float, n: int = 1, user: str = "u") -> None:
    s.feed(m.AuthFailure(ip, user, "smtp", n), ts, f"auth failed from {ip}")


def _stream(rng: random.Random, length: int, heavy: int) -> list[tuple[str, int]]:
    """A few heavy keys among many one-off ones (a scan), weights 1 to 3, heavy ones late too."""
    out = []
    for i in range(length):
        if rng.random() < 0.3:
            out.append((f"heavy{rng.randrange(heavy)}", rng.choice((1, 1, 2, 3))))
        else:
            out.append((f"scan{rng.randrange(length * 4)}-{i}", 1))
    return out


def _check_bounds(c: _Count, true: Counter[str], cap: int) -> None:
    total = sum(true.values())
    assert c.total == total
    assert len(c.by) <= cap
    for key, count in c.by.items():
        err = c.errors.get(key, 0)
        assert 0 <= err <= count
        assert count - err <= true[key] <= count, key  # lower and upper bounds
    for key, n in true.items():
        if n * cap > total:  # the Space-Saving guarantee
            assert key in c.by, (key, n, total)
    assert sum(c.by.values()) <= total


@pytest.mark.parametrize("seed", range(8))
def test_space_saving_bounds_and_guarantee(seed: int) -> None:
    rng = random.Random(seed)
    cap = 16
    c = _Count(cap)
    true: Counter[str] = Counter()
    for key, n in _stream(rng, 3000, heavy=5):
        c.add(key, "line", n)
        true[key] += n
    _check_bounds(c, true, cap)
    # Feeding alone: every failure is either a kept key's own count or counted as evicted.
    assert c.evicted + sum(n - c.errors.get(k, 0) for k, n in c.by.items()) == c.total
    assert c.evicted > 0 and c.errors  # the table did overflow
    # The index files each key once: stale filings are moved, never piled up.
    assert c.index is not None
    assert sum(len(b) for b in c.index.buckets.values()) == cap


def test_exact_below_the_cap_no_index() -> None:
    c = _Count(10)
    for i in range(10):
        for _ in range(i + 1):
            c.add(f"k{i}", "line")
    assert dict(c.by) == {f"k{i}": i + 1 for i in range(10)}
    assert c.errors == {} and c.evicted == 0 and c.index is None
    assert c.freeze().errors == {}


def test_late_key_enters_a_full_table_and_climbs() -> None:
    c = _Count(4)
    for i in range(50):  # a scan: the table is full after four, its minimum climbs
        c.add(f"scan{i}", "line")
    low = min(c.by.values())
    assert 1 < low <= 50 // 4  # at most total / cap
    for _ in range(30):
        c.add("late", "line")
    assert c.by["late"] == low + 30 and c.errors["late"] == low  # at least 30, at most 30+low
    frozen = c.freeze()
    assert next(iter(frozen.by_key)) == "late"
    assert frozen.errors["late"] == low
    assert all(frozen.by_key[k] - frozen.errors.get(k, 0) >= 1 for k in frozen.by_key)


@pytest.mark.parametrize("seed", range(8))
def test_merge_keeps_bounds_and_guarantee(seed: int) -> None:
    rng = random.Random(100 + seed)
    cap = 16
    first, second = _Count(cap), _Count(cap)
    true: Counter[str] = Counter()
    for part in (first, second):
        for key, n in _stream(rng, rng.choice((10, 2000)), heavy=4):
            part.add(key, "line", n)
            true[key] += n
    first.merge(second)
    _check_bounds(first, true, cap)
    assert first.index is None  # made again at the next eviction
    first.add("after-merge-new", "line")  # and a full table goes on working
    assert "after-merge-new" in first.by


def test_merge_of_exact_tables_stays_exact() -> None:
    a, b = _Count(8), _Count(8)
    for i in range(4):
        a.add(f"k{i}", "line", i + 1)
        b.add(f"k{i + 2}", "line", 10)
    a.merge(b)
    assert dict(a.by) == {"k0": 1, "k1": 2, "k2": 13, "k3": 14, "k4": 10, "k5": 10}
    assert a.errors == {} and a.evicted == 0


def test_merge_charges_a_missing_key_with_the_lossy_sides_minimum() -> None:
    """`late` is missing from the first range, whose table evicted: it may have failed there
    up to that table's minimum, so it comes out as 20 + that minimum at most, error that."""
    first, second = _Count(4), _Count(4)
    for i in range(10):
        first.add(f"scan{i}", "line")
    low = min(first.by.values())
    assert low == 2  # 4 keys at 1, then 6 replacements: 2, 2, 2, 2, 3, 3
    for _ in range(20):
        second.add("late", "line")
    first.merge(second)
    assert first.by["late"] == 22 and first.errors["late"] == 2
    # Six evicted while feeding (one own failure each), one key dropped by the merge (the
    # smallest, count 2 of which 1 its own): every failure is still kept or counted evicted.
    assert first.evicted == 6 + 1
    assert first.evicted + sum(n - first.errors.get(k, 0) for k, n in first.by.items()) == 30


def test_pickled_count_keeps_its_errors() -> None:
    c = _Count(3)
    for i in range(10):
        c.add(f"k{i}", "line")
    back = pickle.loads(pickle.dumps(c))
    assert back.by == c.by and back.errors == c.errors and back.evicted == c.evicted
    assert back.index is None and c.errors
    low = min(back.by.values())
    back.add("new", "line")
    assert back.by["new"] == low + 1 and back.errors["new"] == low  # index made again


# -- the brute-force table, with the real cap -------------------------------------------------


def _scan(s: Summarizer, n: int, ts: float, prefix: str = "10") -> None:
    for i in range(n):
        _fail(s, f"{prefix}.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", ts)


def test_late_attacker_is_caught_after_the_table_is_full() -> None:
    """10,000+ addresses failing once fill the table; then one address fails 200 times in
    the window. Before Space-Saving it was never tracked (the table was full): no finding."""
    assert summary_mod.MAX_IPS == 10_000
    s = Summarizer()  # threshold 10 in 600 s
    _scan(s, 12_000, 1000.0)
    assert len(s.attackers) == 10_000
    for k in range(200):
        _fail(s, "203.0.113.66", 2000.0 + k, user=f"user{k % 3}")
    _scan(s, 3000, 2500.0, prefix="11")  # more scan after it: it stays
    out = s.summary()
    assert [b.ip for b in out.brute_force] == ["203.0.113.66"]
    b = out.brute_force[0]
    assert (b.failures, b.failures_error) == (201, 1)  # at least 200, at most 201
    assert b.max_in_window == 10
    assert b.first_seen == 2000.0 and b.users == ("user0", "user1", "user2")
    assert out.auth_by_ip["203.0.113.66"] == 201
    assert out.auth_by_ip_errors["203.0.113.66"] == 1
    assert len(s.attackers) == 10_000 and len(out.auth_by_ip) == 10_000
    assert out.evictions["auth_ips"] == out.evictions["auth"] == 12_000 + 3000 - 9999
    assert out.auth_failures == 12_000 + 200 + 3000


def test_late_slow_attacker_is_caught_after_the_table_is_full() -> None:
    """The slow rule (5 x threshold in all), never `threshold` within the window."""
    s = Summarizer()
    _scan(s, 10_500, 1000.0)
    for k in range(60):  # one failure every 700 s: never two within the 600 s window
        _fail(s, "198.51.100.7", 5000.0 + 700.0 * k)
    out = s.summary()
    assert [b.ip for b in out.brute_force] == ["198.51.100.7"]
    b = out.brute_force[0]
    assert b.max_in_window == 1
    assert (b.failures, b.failures_error) == (61, 1)


def test_late_attackers_successful_login_is_counted_when_the_login_table_is_full() -> None:
    """10,500 user addresses log in (the table of login addresses is full), then an attacker
    fails 200 times and gets in once: its brute-force entry says so (logins_ok, a lower
    bound: the one login surely from it, not the minimum it took over)."""
    s = Summarizer()
    for i in range(10_500):
        s.feed(m.LoginOk(f"10.1.{i >> 8 & 255}.{i & 255}", f"user{i}", "imap"), 100.0, "login")
    for k in range(200):
        _fail(s, "203.0.113.66", 2000.0 + k)
    s.feed(m.LoginOk("203.0.113.66", "admin", "imap"), 2300.0, "login")
    out = s.summary()
    assert [(b.ip, b.logins_ok) for b in out.brute_force] == [("203.0.113.66", 1)]
    assert "203.0.113.66" in out.user_ips and len(out.user_ips) == 10_000
    assert out.evictions["user_ips"] == 501


def test_inherited_error_alone_names_no_attacker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules use lower bounds: an address that failed once, taking the place of one that
    failed 60 times, is not reported as a slow attacker for the 60 it may have had."""
    monkeypatch.setattr(summary_mod, "MAX_IPS", 2)
    s = Summarizer()
    for ip in ("192.0.2.1", "192.0.2.2"):
        for k in range(60):
            _fail(s, ip, 700.0 * k)
    _fail(s, "192.0.2.3", 99_999.0)
    a = s.attackers["192.0.2.3"]
    assert (a.failures, a.error) == (61, 60)
    out = s.summary()
    assert "192.0.2.3" not in {b.ip for b in out.brute_force}
    assert len(out.brute_force) == 1  # the other slow attacker, still in the table


def test_late_attacker_survives_the_merge_of_two_full_ranges() -> None:
    """Parallel byte ranges (analyze._parallel): both tables full of scan, the attacker only in
    the second range; the merged summary names it, bounded, with the first range's minimum
    added to its possible error (it may have failed once there, unseen)."""
    first, second = Summarizer(), Summarizer()
    second.orphans = []
    _scan(first, 11_000, 1000.0)
    _scan(second, 11_000, 3000.0, prefix="11")
    for k in range(200):
        _fail(second, "203.0.113.66", 4000.0 + k)
    first.merge(second)
    out = first.summary()
    assert [b.ip for b in out.brute_force] == ["203.0.113.66"]
    b = out.brute_force[0]
    assert (b.failures, b.failures_error) == (202, 2)
    assert b.failures - b.failures_error <= 200 <= b.failures
    assert len(first.attackers) == 10_000 and len(out.auth_by_ip) == 10_000
    assert out.auth_by_ip["203.0.113.66"] == 202 and out.auth_by_ip_errors["203.0.113.66"] == 2
    # And the merged table goes on working (its index made again).
    _fail(first, "203.0.113.99", 5000.0)
    assert "203.0.113.99" in first.attackers


@pytest.mark.parametrize("seed", range(4))
def test_attacker_merge_bounds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures per address after a merge of two overflowing ranges: upper and lower bounds
    hold against the exact counts, and heavy addresses are all kept."""
    cap = 12
    monkeypatch.setattr(summary_mod, "MAX_IPS", cap)
    rng = random.Random(seed)
    first, second = Summarizer(), Summarizer()
    second.orphans = []
    true: Counter[str] = Counter()
    for part, t0 in ((first, 0.0), (second, 10_000.0)):
        for i, (key, n) in enumerate(_stream(rng, 1500, heavy=3)):
            _fail(part, key, t0 + i, n=n)
            true[key] += n
    first.merge(second)
    total = sum(true.values())
    assert len(first.attackers) == cap
    for ip, a in first.attackers.items():
        assert a.failures - a.error <= true[ip] <= a.failures
    for ip, n in true.items():
        if n * cap > total:
            assert ip in first.attackers


# -- end to end: `maildoctor logs --json` on a log file, one process and parallel ranges ------


@pytest.mark.parametrize("parallel", [False, True])
def test_logs_command_names_the_late_attacker(
    parallel: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = (
        "Nov 28 {h:02d}:{m:02d}:{s:02d} mx postfix/smtpd[1]: warning: unknown[{ip}]: "
        "SASL LOGIN authentication failed: authentication failure\n"
    )
    rows = [
        line.format(h=9, m=i // 60 % 60, s=i % 60, ip=f"10.0.{i >> 8 & 255}.{i & 255}")
        for i in range(10_500)
    ]
    rows += [line.format(h=11, m=k // 60, s=k % 60, ip="203.0.113.66") for k in range(200)]
    path = tmp_path / "mail.log"
    path.write_text("".join(rows))
    if parallel:
        monkeypatch.setattr(analyze_mod, "PARALLEL_MIN", 1)
        assert len(analyze_mod._ranges(str(path), Options())) > 1  # really split
    out = io.StringIO()
    logs_command([str(path)], stdout=out, stderr=io.StringIO(), json=True)
    doc = json.loads(out.getvalue())
    jsonschema.validate(doc, SCHEMA)
    assert doc["brute_force_ips"] == ["203.0.113.66"]
    assert doc["auth_failures"]["total"] == 10_700
    assert doc["evictions"]["auth_ips"] > 0  # the report says the figures are approximate
    found = [f for f in doc["findings"] if f["code"] == "log.brute_force"]
    assert [f["subject"] for f in found] == ["203.0.113.66"]
