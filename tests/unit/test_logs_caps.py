"""The summariser's tables stay within their caps whatever the log holds (a scan from a new
address at every line, a new domain at every message): counts are exact below the caps,
and above them the table keeps the largest, the rest counted in `evictions` (the report
says "approximate"; the tables by address are Space-Saving summaries then, their bounds and
guarantee tested in test_logs_heavy_hitters.py). Merging the summaries of byte ranges holds
the caps as feeding does, and a summary pickled from a worker process comes back equal."""

from __future__ import annotations

import pickle
import random
from collections import deque

import pytest

from maildoctor.logs import model as m
from maildoctor.logs import summary as summary_mod
from maildoctor.logs.summary import Summarizer


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> int:
    cap = 4
    for name in ("MAX_KEYS", "MAX_IPS", "MAX_ROWS"):
        monkeypatch.setattr(summary_mod, name, cap)
    return cap


def _fail(s: Summarizer, ip: str, ts: float, user: str = "u", n: int = 1) -> None:
    s.feed(m.AuthFailure(ip, user, "smtp", n), ts, f"auth failed from {ip}")


def _tls(s: Summarizer, ip: str) -> None:
    s.feed(m.TlsFailure(ip, "in", "SSL_accept error"), 0.0, f"SSL_accept error from {ip}")


def _deliver(s: Summarizer, qid: str, ip: str, rcpt: str) -> None:
    s.feed(m.Client(qid, ip, None), 0.0, "client")
    s.feed(m.Sender(qid, f"s@{rcpt.split('@')[1]}", 100, 1), 0.0, "from")
    s.feed(m.Delivery(qid, rcpt, "sent", "2.0.0", "", 0.5), 0.0, "to")


def test_exact_below_the_caps(tiny: int) -> None:
    s = Summarizer()
    for i in range(tiny):
        for _ in range(i + 1):
            _fail(s, f"192.0.2.{i}", 100.0)
        _tls(s, f"198.51.100.{i}")
        _deliver(s, f"Q{i}", f"203.0.113.{i}", f"a@d{i}.example")
    out = s.summary()
    assert out.auth_by_ip == {f"192.0.2.{i}": i + 1 for i in reversed(range(tiny))}
    assert out.auth_failures == 10
    assert out.tls_failures.by_key == {f"198.51.100.{i}": 1 for i in range(tiny)}
    assert set(out.by_domain) == {f"d{i}.example" for i in range(tiny)}
    assert out.evictions == {}


def test_evictions_counted_above_the_caps(tiny: int) -> None:
    s = Summarizer()
    for i in range(tiny + 3):
        _fail(s, f"192.0.2.{i}", 100.0, n=2)
        _tls(s, f"198.51.100.{i}")
        _deliver(s, f"Q{i}", f"203.0.113.{i}", f"a@d{i}.example")
    out = s.summary()
    assert len(out.auth_by_ip) == tiny
    assert out.auth_failures == 2 * (tiny + 3)  # totals stay exact
    assert out.evictions["auth"] == 6  # the failures not attributed to an address
    assert out.evictions["auth_ips"] == 6
    assert out.evictions["auth_pairs"] == 6
    assert out.evictions["tls"] == 3
    assert out.evictions["domains"] == 3
    assert out.evictions["clients"] == 3
    assert out.evictions["senders"] == 3
    assert out.tls_failures.total == tiny + 3
    assert out.deliveries["sent"] == tiny + 3


def test_merge_keeps_the_largest_and_counts_the_rest(tiny: int) -> None:
    earlier, later = Summarizer(), Summarizer()
    later.orphans = []
    # Earlier: four addresses once each. Later: three others many times, one shared.
    for i in range(tiny):
        _fail(earlier, f"192.0.2.{i}", 100.0 + i)
    for i, n in ((10, 5), (11, 6), (12, 7), (0, 3)):
        _fail(later, f"192.0.2.{i}", 200.0, n=n)
    earlier.merge(later)
    out = earlier.summary()
    assert out.auth_by_ip == {"192.0.2.12": 7, "192.0.2.11": 6, "192.0.2.10": 5, "192.0.2.0": 4}
    assert out.auth_failures == tiny + 21
    assert out.evictions["auth"] == 3  # 192.0.2.1-3, once each
    assert out.evictions["auth_ips"] == 3
    assert len(earlier.attackers) == tiny
    assert set(earlier.attackers) == set(out.auth_by_ip)
    assert len(earlier.auth_pairs) <= tiny


def test_merge_below_the_caps_equals_one_pass() -> None:
    """Two ranges merged give what one pass over the whole gives, brute force across the cut
    included (three failures before it and three after, within the window)."""
    events = [(f"192.0.2.{i % 3}", float(t), f"user{i % 5}") for i, t in enumerate(range(0, 90, 5))]
    events += [("198.51.100.9", float(t), "admin") for t in (40, 42, 44, 46, 48, 50)]
    events.sort(key=lambda e: e[1])
    thresholds = m.Thresholds(brute_force_count=6, brute_force_window=60.0)
    whole = Summarizer(thresholds)
    first, second = Summarizer(thresholds), Summarizer(thresholds)
    second.orphans = []
    for ip, ts, user in events:
        _fail(whole, ip, ts, user)
        _fail(first if ts < 45 else second, ip, ts, user)
    assert not first.summary().brute_force and not second.summary().brute_force
    first.merge(second)
    assert first.summary() == whole.summary()
    assert [b.ip for b in whole.summary().brute_force] == ["198.51.100.9"]


def _reference_max_in_window(times: list[tuple[float, int]], size: int, span: float) -> int:
    """The window as it was kept before (a deque of the last `size` times)."""
    window: deque[float] = deque(maxlen=size)
    best = 0
    for ts, n in times:
        for _ in range(min(n, size)):
            window.append(ts)
        while window and ts - window[0] > span:
            window.popleft()
        best = max(best, len(window))
    return best


@pytest.mark.parametrize("size", [1, 3, 10, 50])
def test_compact_window_counts_as_the_deque_did(size: int) -> None:
    rng = random.Random(size)
    for _ in range(200):
        t = 0.0
        times = []
        for _ in range(rng.randint(1, 80)):
            t += rng.choice([0.0, 1.0, 5.0, 30.0, 200.0])
            times.append((t, rng.choice([1, 1, 1, 2, 7])))
        s = Summarizer(m.Thresholds(brute_force_count=size, brute_force_window=60.0))
        for ts, n in times:
            _fail(s, "192.0.2.1", ts, n=n)
        a = s.attackers["192.0.2.1"]
        assert a.max_in_window == _reference_max_in_window(times, size, 60.0)
        assert len(a.head) == min(size, sum(min(n, size) for _, n in times))


def test_pickled_summary_comes_back_equal() -> None:
    s = Summarizer()
    s.orphans = []
    for i in range(30):
        _fail(s, f"192.0.2.{i % 7}", float(i), f"user{i % 4}")
        _tls(s, f"2001:db8::{i}")
        _deliver(s, f"Q{i}", f"203.0.113.{i % 5}", f"rcpt{i}@d{i % 6}.exämple")
        s.feed(m.LoginOk(f"198.51.100.{i % 3}", "bob", "imap"), float(i), "login")
    back = pickle.loads(pickle.dumps(s))
    assert back.summary() == s.summary()
    assert back.senders == s.senders and back.by_client == s.by_client
    # The services tuples are shared again after unpickling (one per set, not per address).
    assert len({id(a.services) for a in back.attackers.values()}) == 1


def test_orphans_keep_a_line_only_where_it_can_become_an_example() -> None:
    # A later byte range: events of messages it did not see begin wait for the merge. On a log
    # of many local messages (bounces, pickups) they were most of a worker's memory.
    later = Summarizer()
    later.orphans = []
    deferred = "Nov 28 10:00:02 mx postfix/smtp[2]: ABC: to=<a@x.example>, status=deferred (x)"
    later.feed(m.Sender("ABC", "<>", 100, 1), 1.0, "Nov 28 10:00:00 mx qmgr: ABC: from=<>")
    later.feed(m.Delivery("ABC", "a@x.example", "sent", "2.0.0", "", 0.1), 2.0, "sent line")
    later.feed(m.Delivery("ABC", "a@x.example", "deferred", "4.4.1", "x", 0.1), 3.0, deferred)
    assert [line for _, _, line in later.orphans] == ["", "", deferred]
    first = Summarizer()
    first.merge(later)  # replayed here, the deferral keeps its example
    assert first.deliveries["deferred"] == 1 and first.deliveries["sent"] == 1
    assert [r.example for r in first.deferrals.freeze()] == [deferred]
