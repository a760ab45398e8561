"""The streaming summariser: events in, a LogSummary out, in memory bounded by caps, not by the
size of the log.

The one piece of state that follows the log is the message table (queue id -> client, user,
last status), joined across lines as Postfix, Exim and Sendmail log a message's life over
several lines. A message leaves it when the log says it was removed; a cap evicts the oldest
entries beyond MAX_MESSAGES (counted in `evictions`). Per-address tables (auth failures,
relay denials...) have caps too, with their evictions counted: the figures are exact below
the caps and say so when they are not. Tables keyed by client address (MAX_IPS) and the
delivery rows (MAX_ROWS) have lower caps than the others (MAX_KEYS): a scan from many
addresses fills them all at once, in each worker process. merge() re-applies every cap (the
largest counts are kept, the others counted as evicted), so the merged summary is no larger
than one range's.

The counters with examples (_Count: relay denials, TLS failures, size rejections, addresses
that logged in... by address; the tables of other keys too) and the table of failed logins by
address (attackers, which gives auth_by_ip and the brute-force rules) are Space-Saving
summaries once full (Metwally, Agrawal, El Abbadi, "Efficient computation of frequent and
top-k elements in data streams", ICDT 2005): a key first seen when the table is full takes
the place of the key with the smallest count c, starts at c + n and carries c as its `error`
(its count may be over by that much, never under). So an address first seen late, after a
scan has filled the table, still enters and climbs; and every key whose true count exceeds
(sum of the table's counts) / cap, at most total / cap, is in the table (a key out of it
counted at most the table's minimum).
The minimum is found in an index of the keys by count made when the table first overflows
(_ByCount: the stream summary's buckets, kept lazily): amortised O(1) an update, plus a heap
operation, O(log distinct counts), when a new distinct count appears.
Two such summaries merge (_merge_counts, _merge_attackers) by adding the counts and errors of
common keys, a key missing from a lossy side getting that side's minimum as count and error,
then keeping the `cap` largest: the bounds and the guarantee hold after the merge.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from maildoctor.logs import model as m
from maildoctor.logs.reasons import dnsbl_zone, normalise

MAX_MESSAGES = 200_000
MAX_KEYS = 50_000  # distinct users, senders, domains... per table
# Distinct client addresses per table (auth failures, relay, TLS, size, plaintext, attackers,
# user/address pairs, user addresses, clients): lower, as a scan from many addresses fills
# all of them at once, in every worker process (bench/logs_speed.py --unique-ips).
MAX_IPS = 10_000
# Delivery rows by recipient domain and by client (four counts each; the report shows 100).
MAX_ROWS = 10_000
MAX_REASONS = 500
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 500
MAX_USERS_PER_IP = 20
MAX_DOMAINS_PER_ACCOUNT = 1000
MAX_ORPHANS = 100_000


# (reject text, code) -> (cause, DNSBL zone or ""); pure functions of the text, so shared.
_REJECT_CAUSES: dict[tuple[str, str], tuple[str, str]] = {}


def _clip(line: str) -> str:
    return line if len(line) <= MAX_EXAMPLE_CHARS else line[:MAX_EXAMPLE_CHARS] + "…"


class _ByCount:
    """The keys of a full table filed by count, to find one with the smallest count: the
    bucket list of Space-Saving's "stream summary", kept lazily. buckets[c] lists the keys
    whose count was c when filed; a key's count may have grown since (it is not refiled at each
    increment): met at the minimum, such a key is filed again under its count now, once per
    increment at most. `counts` is a heap of the bucket counts (distinct counts: few), so that
    the smallest is found whatever the gaps between counts. Each key is filed exactly once."""

    __slots__ = ("buckets", "counts")

    def __init__(self, items: Iterable[tuple[Any, int]]) -> None:
        self.buckets: dict[int, list[Any]] = {}
        for key, c in items:
            b = self.buckets.get(c)
            if b is None:
                self.buckets[c] = [key]
            else:
                b.append(key)
        self.counts = list(self.buckets)
        heapq.heapify(self.counts)

    def file(self, key: Any, c: int) -> None:
        b = self.buckets.get(c)
        if b is None:
            self.buckets[c] = [key]
            heapq.heappush(self.counts, c)
        else:
            b.append(key)

    def pop_min(self, count: Callable[[Any], int]) -> Any:
        """A key with the smallest count (its filing removed): the caller evicts it."""
        buckets, counts = self.buckets, self.counts
        while True:
            c = counts[0]
            b = buckets[c]
            while b:
                key = b.pop()
                now = count(key)
                if now == c:
                    if not b:
                        del buckets[c]
                        heapq.heappop(counts)
                    return key
                self.file(key, now)  # grown since: filed above c, counts[0] stays c
            del buckets[c]
            heapq.heappop(counts)


class _Count:
    """A bounded counter with examples: exact below its cap, Space-Saving at it (see above).
    `errors` holds the over-estimate of the keys that took an evicted key's place; `evicted`
    the sum of the evicted keys' own counts (count - error: failures whose address is lost)."""

    __slots__ = ("by", "cap", "errors", "evicted", "examples", "index", "total")

    def __init__(self, cap: int | None = None) -> None:
        self.cap = cap  # None: MAX_KEYS (read when used, so that tests may lower it)
        self.total = 0
        # A plain dict, not a Counter: Python 3.11 specialises subscripts on exact dicts only,
        # and the replacement below does several (measured: 400 -> 260 ns an update).
        self.by: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.examples: list[str] = []
        self.evicted = 0
        self.index: _ByCount | None = None  # made at the first eviction

    def add(self, key: str, line: str, n: int = 1) -> None:
        self.total += n
        by = self.by
        c = by.get(key)
        if c is not None:
            by[key] = c + n
        elif len(by) < (self.cap or MAX_KEYS):
            by[key] = n
        else:
            # Space-Saving: `key` takes the place of a smallest count, `low`, and inherits it as
            # error. Inline (a scan from new addresses does this at every line): the last key
            # filed under the smallest count, when its count has not grown and it is not the
            # bucket's last; pop_min otherwise.
            index = self.index
            if index is None:
                index = self.index = _ByCount(by.items())
            buckets = index.buckets
            low = index.counts[0]
            bucket = buckets[low]
            old = bucket.pop()
            if not bucket or by[old] != low:
                bucket.append(old)
                old = index.pop_min(by.__getitem__)
                low = by[old]
            by.pop(old)  # not del: Counter.__delitem__ is Python code
            errors = self.errors
            self.evicted += low - errors.pop(old, 0)
            up = by[key] = low + n
            errors[key] = low
            above = buckets.get(up)
            if above is None:
                index.file(key, up)
            else:
                above.append(key)
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(_clip(line))

    def merge(self, other: _Count) -> None:
        self.total += other.total
        self.examples = (self.examples + other.examples)[:MAX_EXAMPLES]
        self.by, self.errors, dropped = _merge_counts(
            (self.by, self.errors, self.evicted > 0),
            (other.by, other.errors, other.evicted > 0),
            self.cap or MAX_KEYS,
        )
        self.evicted += other.evicted + dropped
        self.index = None

    def freeze(self) -> m.Counted:
        return m.Counted(
            self.total,
            dict(sorted(self.by.items(), key=_minus_count)),  # as most_common(): stable
            tuple(self.examples),
            dict(self.errors),
        )

    def __getstate__(self) -> tuple[Any, ...]:  # the index is made again when needed
        # The errors as an array in the order of `by`'s keys: its keys are not pickled again.
        errors = _ints([self.errors.get(k, 0) for k in self.by]) if self.errors else None
        return (self.cap, self.total, _pack(self.by), self.examples, self.evicted, errors)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.cap, self.total, by, self.examples, self.evicted, errors = state
        self.by = _unpack_dict(by)
        if errors is None:
            self.errors = {}
        else:
            self.errors = {k: e for k, e in zip(self.by, errors, strict=True) if e}
        self.index = None


_Table = dict[Any, int]
_Side = tuple[_Table, _Table, bool]  # counts, errors, lossy (has evicted)


def _merge_counts(mine: _Side, theirs: _Side, cap: int) -> tuple[_Table, _Table, int]:
    """Two Space-Saving summaries as one, of at most `cap` keys: (counts, errors, the sum of
    the dropped keys' own counts). A key missing from a side that has evicted may have counted
    up to that side's minimum there: it gets that minimum as count and as error. Then the
    `cap` largest counts are kept. Each count stays an upper bound and count - error a lower
    one, the sum of the counts stays at most the total, and a key dropped counted at most the
    new minimum: the Space-Saving guarantee holds for the merged summary."""
    a, a_err, a_lossy = mine
    b, b_err, b_lossy = theirs
    a_min = min(a.values()) if a_lossy and a else 0
    b_min = min(b.values()) if b_lossy and b else 0
    for table, errors, other, low in ((a, a_err, b, b_min), (b, b_err, a, a_min)):
        if low:
            for key in table:
                if key not in other:
                    table[key] += low
                    errors[key] = errors.get(key, 0) + low
    if not a:
        a, a_err = b, b_err  # taken over, not copied
    else:
        for key, c in b.items():
            a[key] = a.get(key, 0) + c
        for key, e in b_err.items():
            a_err[key] = a_err.get(key, 0) + e
    dropped = 0
    for key in _smallest(a, cap, None):
        dropped += a.pop(key) - a_err.pop(key, 0)
    return a, a_err, dropped


class _Reasons:
    __slots__ = ("groups",)

    def __init__(self) -> None:
        self.groups: dict[str, list[Any]] = {}

    def add(self, reason: str, line: str) -> None:
        g = self.groups.get(reason)
        if g is None:
            if len(self.groups) >= MAX_REASONS:
                reason = "other"
                g = self.groups.get(reason)
            if g is None:
                g = self.groups[reason] = [0, _clip(line)]
        g[0] += 1

    def freeze(self) -> tuple[m.Reason, ...]:
        ordered = sorted(self.groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return tuple(m.Reason(r, c, ex) for r, (c, ex) in ordered)


# A worker process's Summarizer goes back to the parent pickled. Pickle remembers every object
# it wrote (a table of 16 bytes and more per object, in both processes), which for tables at
# their caps costs more than the tables: the tables of strings go as a few big objects instead.
_Packed = tuple[str, "array[int]", "array[int]"]


def _ints(values: list[int]) -> array[int]:
    """Non-negative ints in the smallest array that holds them."""
    top = max(values, default=0)
    return array("B" if top < 1 << 8 else "I" if top < 1 << 32 else "Q", values)


def _pack(table: dict[str, int]) -> _Packed:
    """A Counter of strings as (keys joined, their lengths, the counts)."""
    return "".join(table), _ints([len(k) for k in table]), _ints(list(table.values()))


def _keys(joined: str, lengths: array[int]) -> list[str]:
    out = []
    i = 0
    for n in lengths:
        out.append(joined[i : i + n])
        i += n
    return out


def _unpack_dict(packed: _Packed) -> dict[str, int]:
    joined, lengths, counts = packed
    return dict(zip(_keys(joined, lengths), counts, strict=True))


def _unpack(packed: _Packed) -> Counter[str]:
    return Counter(_unpack_dict(packed))


_STATUSES = ("sent", "deferred", "bounced", "expired")


def _pack_rows(table: dict[str, dict[str, int]]) -> _Packed:
    """{key: {status: n}} (by_domain, by_client) as (keys joined, lengths, the counts in rows)."""
    flat = [row[s] for row in table.values() for s in _STATUSES]
    return "".join(table), _ints([len(k) for k in table]), _ints(flat)


def _unpack_rows(packed: _Packed) -> dict[str, dict[str, int]]:
    joined, lengths, flat = packed
    return {
        key: dict(zip(_STATUSES, flat[4 * i : 4 * i + 4], strict=True))
        for i, key in enumerate(_keys(joined, lengths))
    }


def _max_in_window(times: list[float], window: float) -> int:
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


class _Attacker:
    """Failed logins from one address, in little memory: most addresses of a scan fail once or
    twice, and there may be MAX_IPS of them. `head` holds the first `size` times (for merging
    ranges) and, until it is full, the window too (head[start:]); past that a deque does."""

    __slots__ = (
        "error",
        "failures",
        "first",
        "head",
        "last",
        "max_in_window",
        "services",
        "start",
        "users",
        "window",
    )

    def __init__(self, ts: float | None) -> None:
        self.failures = 0
        self.error = 0  # Space-Saving: failures may be over by this much (see the module doc)
        self.first = ts
        self.last = ts
        self.head: list[float] = []  # the first `size` times
        self.start = 0  # while window is None: the window is head[start:]
        self.window: deque[float] | None = None  # the last `size` times, once head is full
        self.max_in_window = 0
        self.users: list[str] | None = None  # at most MAX_USERS_PER_IP, made on the first
        self.services: tuple[str, ...] = ()  # shared tuples (see _services)

    def add(self, ts: float, n: int, size: int, span: float) -> None:
        """`n` failures at `ts` (n capped at size), then the window trimmed to `span` seconds."""
        head = self.head
        window = self.window
        for _ in range(min(n, size)):
            if window is None:
                if len(head) < size:
                    head.append(ts)
                    continue
                window = self.window = deque(head[self.start :], maxlen=size)
            window.append(ts)
        if window is None:
            start = self.start
            while start < len(head) and ts - head[start] > span:
                start += 1
            self.start = start
            inside = len(head) - start
        else:
            while window and ts - window[0] > span:
                window.popleft()
            inside = len(window)
        self.max_in_window = max(self.max_in_window, inside)

    def __getstate__(self) -> tuple[Any, ...]:  # a tuple: no slot names for each address
        return (
            self.failures,
            self.first,
            self.last,
            self.head,
            self.start,
            self.window,
            self.max_in_window,
            self.users,
            self.services,
            self.error,
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (
            self.failures,
            self.first,
            self.last,
            self.head,
            self.start,
            self.window,
            self.max_in_window,
            self.users,
            services,
            self.error,
        ) = state
        self.services = _services((), services)  # shared again

    def recent(self) -> list[float]:
        """The times in the window (the last ones)."""
        return self.head[self.start :] if self.window is None else list(self.window)


# Services sets, shared: a scan of many addresses has a handful of different sets.
_SERVICES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _services(old: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    if not old and len(more) == 1:  # a new address's first service: the usual case
        known = _SERVICES.get(more)
        if known is not None:
            return known
    if all(x in old for x in more):
        return old
    key = tuple(sorted({*old, *more}))
    known = _SERVICES.get(key)
    if known is None:
        if len(_SERVICES) >= 1000:
            _SERVICES.clear()
        known = _SERVICES[key] = key
    return known


def _fold(mine: Counter[Any], theirs: Counter[Any], cap: int) -> tuple[Counter[Any], int]:
    """mine + theirs, the `cap` largest counts kept (with the sum of the others dropped): the
    caps hold after a merge as they did while feeding."""
    if not mine:
        mine = theirs  # taken over, not copied
    else:
        mine.update(theirs)
    if len(mine) <= cap:
        return mine, 0
    return mine, sum(mine.pop(key) for key in _smallest(mine, cap, None))


def _minus_count(item: tuple[Any, int]) -> int:
    return -item[1]


def _smallest(table: dict[Any, Any], cap: int, weight: Callable[[Any], Any] | None) -> list[Any]:
    """The keys beyond `cap` with the smallest weights (the values when `weight` is None)."""
    extra = len(table) - cap
    if extra <= 0:
        return []
    if weight is None:
        return [k for k, _ in heapq.nsmallest(extra, table.items(), key=itemgetter(1))]
    return [k for k, _ in heapq.nsmallest(extra, table.items(), key=lambda kv: weight(kv[1]))]


class Summarizer:
    def __init__(self, thresholds: m.Thresholds | None = None) -> None:
        self.t = thresholds or m.Thresholds()
        self.files: list[str] = []
        self.mtas: set[str] = set()
        self.lines = 0
        self.parsed = 0
        self.unparsed = 0
        self.out_of_range = 0
        self.overlong = 0
        self.first: float | None = None
        self.last: float | None = None
        # queue id -> [client ip | None, user | None, nrcpt, last status]
        self.queue: dict[str, list[Any]] = {}
        self.deliveries = {"sent": 0, "deferred": 0, "bounced": 0, "expired": 0}
        self.by_domain: dict[str, dict[str, int]] = {}
        self.by_client: dict[str, dict[str, int]] = {}
        self.messages = 0
        self.delay_sum = 0.0
        self.delay_n = 0
        self.delay_max: float | None = None
        self.bounces = _Reasons()
        self.deferrals = _Reasons()
        self.rejects = _Reasons()
        # Failed logins: the total and examples here, by address in `attackers` (the same
        # counts: one Space-Saving table for both, not two).
        self.auth = _Count(MAX_IPS)
        self.auth_users: Counter[str] = Counter()
        self.auth_services: Counter[str] = Counter()
        self.auth_backend = 0
        self.auth_pairs: Counter[tuple[str, str]] = Counter()
        self.logins_ok: Counter[str] = Counter()
        # Addresses that logged in or sent authenticated (Space-Saving too: an attacker's
        # address first seen logging in after the table is full still enters).
        self.ok_ips = _Count(MAX_IPS)
        self.attackers: dict[str, _Attacker] = {}
        self.attacker_index: _ByCount | None = None  # ips by failures, made when full
        self.relay = _Count(MAX_IPS)
        self.dnsbl = _Count()
        self.size = _Count(MAX_IPS)
        self.mailbox_full = _Count()
        self.rate = _Count()
        self.tls = _Count(MAX_IPS)
        self.plaintext = _Count(MAX_IPS)
        self.faults = _Count()
        self.warnings = _Count()
        self.senders: Counter[str] = Counter()
        self.accounts: dict[str, list[Any]] = {}  # user -> [messages, recipients, {domains}]
        self.evictions: Counter[str] = Counter()
        self.input_errors: list[str] = []
        self.orphans: list[tuple[Any, float | None, str]] | None = None

    # -- pickling (a worker's summary to the parent) ---------------------------------------

    _PACKED = ("auth_users", "senders")
    _ROWS = ("by_domain", "by_client")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["attacker_index"] = None  # made again when needed
        for name in self._PACKED:
            state[name] = _pack(state[name])
        for name in self._ROWS:
            state[name] = _pack_rows(state[name])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in self._PACKED:
            state[name] = _unpack(state[name])
        for name in self._ROWS:
            state[name] = _unpack_rows(state[name])
        self.__dict__.update(state)

    # -- merging (parallel byte ranges) -------------------------------------------------------

    def merge(self, later: Summarizer) -> None:  # noqa: PLR0915 - one fold per table
        """Fold in the summary of the byte range that follows this one (`later` is used up: its
        tables may be taken over rather than copied). Every cap holds after the merge as while
        feeding: the largest counts are kept and the counts dropped go to the evictions."""
        for ev, ts, line in later.orphans or ():
            self.feed(ev, ts, line)
        lossy = (self.evictions["auth_ips"] > 0, later.evictions["auth_ips"] > 0)
        self.lines += later.lines
        self.parsed += later.parsed
        self.unparsed += later.unparsed
        self.out_of_range += later.out_of_range
        self.overlong += later.overlong
        self.mtas |= later.mtas
        for ts in (later.first, later.last):
            self.time(ts)
        for qid, entry in later.queue.items():
            self.queue.pop(qid, None)
            self.queue[qid] = entry
        while len(self.queue) > MAX_MESSAGES:
            del self.queue[next(iter(self.queue))]
            self.evictions["messages"] += 1
        for k, v in later.deliveries.items():
            self.deliveries[k] += v
        if not self.by_domain:
            self.by_domain, later.by_domain = later.by_domain, {}
        if not self.by_client:
            self.by_client, later.by_client = later.by_client, {}
        for mine, theirs in ((self.by_domain, later.by_domain), (self.by_client, later.by_client)):
            for key, row in theirs.items():
                if key not in mine:
                    mine[key] = dict(row)
                else:
                    for k, v in row.items():
                        mine[key][k] += v
        for table, name, cap in (
            (self.by_domain, "domains", MAX_ROWS),
            (self.by_client, "clients", MAX_ROWS),
        ):
            if len(table) > cap:
                for key in _smallest(table, cap, lambda row: sum(row.values())):
                    self.evictions[name] += sum(table.pop(key).values())
        self.messages += later.messages
        self.delay_sum += later.delay_sum
        self.delay_n += later.delay_n
        if later.delay_max is not None and (
            self.delay_max is None or later.delay_max > self.delay_max
        ):
            self.delay_max = later.delay_max
        for mine_r, theirs_r in (
            (self.bounces, later.bounces),
            (self.deferrals, later.deferrals),
            (self.rejects, later.rejects),
        ):
            for reason, (count, example) in theirs_r.groups.items():
                g = mine_r.groups.setdefault(reason, [0, example])
                g[0] += count
        for mine_c, theirs_c in (
            (self.auth, later.auth),
            (self.relay, later.relay),
            (self.dnsbl, later.dnsbl),
            (self.size, later.size),
            (self.mailbox_full, later.mailbox_full),
            (self.rate, later.rate),
            (self.tls, later.tls),
            (self.plaintext, later.plaintext),
            (self.faults, later.faults),
            (self.warnings, later.warnings),
            (self.ok_ips, later.ok_ips),
        ):
            mine_c.merge(theirs_c)
        self.auth_users = self._fold(self.auth_users, later.auth_users, "auth_users")
        self.auth_services.update(later.auth_services)  # a handful of service names
        self.auth_pairs = self._fold(self.auth_pairs, later.auth_pairs, "auth_pairs", MAX_IPS)
        self.logins_ok.update(later.logins_ok)  # by service: a handful
        self.senders = self._fold(self.senders, later.senders, "senders")
        self.evictions.update(later.evictions)
        self.auth_backend += later.auth_backend
        self._merge_attackers(later.attackers, *lossy)
        for user, acc in later.accounts.items():
            mine_a = self.accounts.get(user)
            if mine_a is None:
                self.accounts[user] = acc
            else:
                mine_a[0] += acc[0]
                mine_a[1] += acc[1]
                mine_a[2] |= set(list(acc[2])[: max(0, MAX_DOMAINS_PER_ACCOUNT - len(mine_a[2]))])
        if len(self.accounts) > MAX_KEYS:
            for user in _smallest(self.accounts, MAX_KEYS, lambda acc: (acc[1], acc[0])):
                self.evictions["accounts"] += self.accounts.pop(user)[0]
        self.input_errors += later.input_errors

    def _fold(
        self, mine: Counter[Any], theirs: Counter[Any], name: str, cap: int | None = None
    ) -> Counter[Any]:
        merged, dropped = _fold(mine, theirs, cap or MAX_KEYS)
        if dropped:
            self.evictions[name] += dropped
        return merged

    def _merge_attackers(
        self, theirs: dict[str, _Attacker], mine_lossy: bool, theirs_lossy: bool
    ) -> None:
        """As _merge_counts, on failures: an address missing from a range whose table evicted
        may have failed up to that table's minimum there (added to failures and error)."""
        size, span = self.t.brute_force_count, self.t.brute_force_window
        mine = self.attackers
        mine_min = min((a.failures for a in mine.values()), default=0) if mine_lossy else 0
        theirs_min = min((b.failures for b in theirs.values()), default=0) if theirs_lossy else 0
        for table, other, low in ((mine, theirs, theirs_min), (theirs, mine, mine_min)):
            if low:
                for ip, x in table.items():
                    if ip not in other:
                        x.failures += low
                        x.error += low
        self.attacker_index = None
        for ip, b in theirs.items():
            a = mine.get(ip)
            if a is None:
                mine[ip] = b
                continue
            # The window may span the boundary: this range's last N times + the next's first N.
            joined = sorted([*a.recent(), *b.head])
            a.max_in_window = min(
                size, max(a.max_in_window, b.max_in_window, _max_in_window(joined, span))
            )
            a.failures += b.failures
            a.error += b.error
            a.first = b.first if a.first is None else a.first
            a.last = b.last if b.last is not None else a.last
            a.window = b.window if b.window is not None else deque(b.recent(), maxlen=size)
            for user in b.users or ():
                if a.users is None:
                    a.users = []
                if len(a.users) >= MAX_USERS_PER_IP:
                    break
                if user not in a.users:
                    a.users.append(user)
            a.services = _services(a.services, b.services)
        if len(self.attackers) > MAX_IPS:
            for ip in _smallest(self.attackers, MAX_IPS, lambda a: a.failures):
                gone = self.attackers.pop(ip)
                self.evictions["auth_ips"] += gone.failures - gone.error

    # -- feeding -----------------------------------------------------------------------------

    def time(self, ts: float | None) -> None:
        if ts is None:
            return
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts

    def feed(self, ev: Any, ts: float | None, line: str) -> None:
        if (
            self.orphans is not None
            and type(ev) in _JOINED
            and ev.qid not in self.queue
            and len(self.orphans) < MAX_ORPHANS
        ):
            # A byte range after the first: the message may have begun in the range before.
            # Kept, in order, for merge() to replay against the earlier range's table. The line
            # only serves as an example of a problem: a sender line, a removal or a delivery
            # that went out need none (on a log of many local messages, bounces and pickups,
            # the lines were most of a worker's memory).
            needs_line = type(ev) is m.SizeRejected or (
                type(ev) is m.Delivery and ev.status != "sent"
            )
            self.orphans.append((ev, ts, _clip(line) if needs_line else ""))
            return
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(self, ev, ts, line)

    def handlers(self) -> dict[type, Any]:
        """Event type -> the bound handler, for a hot loop that calls it without going through
        feed(). Types that join by queue id go through feed() while orphans are collected."""
        table = {t: h.__get__(self) for t, h in _HANDLERS.items()}
        if self.orphans is not None:
            for t in _JOINED:
                table[t] = self.feed
        return table

    def _entry(self, qid: str, create: bool = True) -> list[Any] | None:
        e = self.queue.get(qid)
        if e is None and create:
            if len(self.queue) >= MAX_MESSAGES:
                old = next(iter(self.queue))
                del self.queue[old]
                self.evictions["messages"] += 1
            e = self.queue[qid] = [None, None, 0, ""]
        return e

    def _client(self, ev: m.Client, ts: float | None, line: str) -> None:
        if ev.user:  # authenticated: a user's address, not a stranger's
            self.ok_ips.add(ev.ip, line)
        e = self.queue.get(ev.qid)
        if e is None:
            e = self._entry(ev.qid)
            assert e is not None
            self.messages += 1
        elif e[0] is not None:
            if ev.user:
                e[1] = ev.user
            return  # the same message logged again (Sendmail's AUTH= and from= lines)
        e[0] = ev.ip
        if ev.user:
            e[1] = ev.user

    def _sender(self, ev: m.Sender, ts: float | None, line: str) -> None:
        e = self.queue.get(ev.qid)
        if e is None:
            e = self._entry(ev.qid)
            assert e is not None
            e[0] = "local"
            self.messages += 1
        elif e[2]:
            return  # qmgr logs from= again at each retry: count the message once
        e[2] = ev.nrcpt if ev.nrcpt > 0 else -1  # -1: count recipients at delivery
        sender = ev.sender or "<>"
        if sender in self.senders or len(self.senders) < MAX_KEYS:
            self.senders[sender] += 1
        else:
            self.evictions["senders"] += 1
        user = e[1]
        if user:
            acc = self._account(user)
            if acc is not None:
                acc[0] += 1
                acc[1] += ev.nrcpt

    def _account(self, user: str) -> list[Any] | None:
        acc = self.accounts.get(user)
        if acc is None:
            if len(self.accounts) >= MAX_KEYS:
                self.evictions["accounts"] += 1
                return None
            acc = self.accounts[user] = [0, 0, set()]
        return acc

    def _delivery(self, ev: m.Delivery, ts: float | None, line: str) -> None:
        status = ev.status
        if status not in self.deliveries:
            status = "deferred" if status in ("deferred", "undeliverable") else "bounced"
            if ev.status in ("deliverable", "softbounce"):
                return  # address verification probes (verify(8)), not deliveries
        self.deliveries[status] += 1
        e = self.queue.get(ev.qid)
        if e is None:
            client = "unknown"
        else:
            client = e[0] or "local"
            e[3] = status
            if e[1] and status in ("sent", "bounced") and ev.rcpt:
                acc = self._account(e[1])
                if acc is not None:
                    if e[2] == -1:
                        acc[1] += 1
                    if len(acc[2]) < MAX_DOMAINS_PER_ACCOUNT:
                        acc[2].add(ev.rcpt.rpartition("@")[2].lower())
        domain = ev.rcpt.rpartition("@")[2].lower() or "(local)"
        for table, key, cap in (
            (self.by_domain, domain, MAX_ROWS),
            (self.by_client, client, MAX_ROWS),
        ):
            row = table.get(key)
            if row is None:
                if len(table) >= cap:
                    self.evictions["domains" if table is self.by_domain else "clients"] += 1
                    continue
                row = table[key] = {"sent": 0, "deferred": 0, "bounced": 0, "expired": 0}
            row[status] += 1
        if ev.delay:
            self.delay_sum += ev.delay
            self.delay_n += 1
            if self.delay_max is None or ev.delay > self.delay_max:
                self.delay_max = ev.delay
        if status == "sent":
            return
        reason = ev.reason
        said = reason.find(" said: ")
        cause = normalise(reason[said + 7 :] if said >= 0 else reason, ev.dsn)
        if status == "deferred":
            self.deferrals.add(cause, line)
        else:
            self.bounces.add(cause if status == "bounced" else "expired in queue", line)
        if cause == "mailbox full":
            self.mailbox_full.add(ev.rcpt, line)
        elif cause == "rate limited":
            self.rate.add("remote rate limit", line)

    def _removed(self, ev: m.Removed, ts: float | None, line: str) -> None:
        self.queue.pop(ev.qid, None)

    def _expired(self, ev: m.Expired, ts: float | None, line: str) -> None:
        self.deliveries["expired"] += 1
        self.bounces.add("expired in queue", line)

    def _reject(self, ev: m.Reject, ts: float | None, line: str) -> None:
        text = ev.text
        # The same reply text comes back many times (one per rejected recipient): its cause,
        # and its DNSBL zone when it names one, are worked out once.
        key = (text, ev.code)
        known = _REJECT_CAUSES.get(key)
        if known is None:
            cause = normalise(text, ev.code.split(" ")[-1] if ev.code else "")
            zone = (dnsbl_zone(text) or "unknown") if cause.startswith("blocked by DNSBL") else ""
            known = (cause, zone)
            if len(text) <= MAX_EXAMPLE_CHARS:  # bounded memory: short texts, 5000 at most
                if len(_REJECT_CAUSES) >= 5000:
                    _REJECT_CAUSES.clear()
                _REJECT_CAUSES[key] = known
        cause, zone = known
        self.rejects.add(cause, line)
        if cause == "relay denied":
            self.relay.add(ev.ip, line)
        elif zone:
            self.dnsbl.add(zone, line)
        elif cause == "message too large":
            self.size.add(ev.ip, line)
        elif cause == "rate limited":
            self.rate.add("rejected: rate limit", line)
        elif cause == "mailbox full":
            self.mailbox_full.add(ev.rcpt, line)

    def _auth_failure(self, ev: m.AuthFailure, ts: float | None, line: str) -> None:
        n = max(ev.attempts, 1)
        auth = self.auth
        auth.total += n
        if len(auth.examples) < MAX_EXAMPLES:
            auth.examples.append(_clip(line))
        if ev.user:
            if ev.user in self.auth_users or len(self.auth_users) < MAX_KEYS:
                self.auth_users[ev.user] += n
            else:
                self.evictions["auth_users"] += n
        self.auth_services[ev.service] += n
        pair = (ev.user, ev.ip)
        if pair in self.auth_pairs or len(self.auth_pairs) < MAX_IPS:
            self.auth_pairs[pair] += n
        else:
            self.evictions["auth_pairs"] += n
        a = self.attackers.get(ev.ip)
        if a is None:
            if len(self.attackers) >= MAX_IPS:
                a = self._replace_attacker(ev.ip, ts, n)
            else:
                a = self.attackers[ev.ip] = _Attacker(ts)
        a.failures += n
        if ts is not None:
            if a.first is None or ts < a.first:
                a.first = ts
            if a.last is None or ts > a.last:
                a.last = ts
            a.add(ts, n, self.t.brute_force_count, self.t.brute_force_window)
        if ev.user:
            users = a.users
            if users is None:
                a.users = [ev.user]
            elif len(users) < MAX_USERS_PER_IP and ev.user not in users:
                users.append(ev.user)
        if ev.service not in a.services:
            a.services = _services(a.services, (ev.service,))

    def _replace_attacker(self, ip: str, ts: float | None, n: int) -> _Attacker:
        """Space-Saving on a full table: `ip` takes the place of the address with the fewest
        failures, f, and starts at f (as error: it may have failed up to f times before, unseen).
        Its times, users and services start now: first_seen is when it entered the table, and
        max_in_window counts only failures seen since (a lower bound)."""
        attackers = self.attackers
        index = self.attacker_index
        if index is None:
            index = self.attacker_index = _ByCount((k, a.failures) for k, a in attackers.items())
        low = index.counts[0]
        bucket = index.buckets[low]
        old = bucket.pop()
        if not bucket or attackers[old].failures != low:  # as in _Count.add
            bucket.append(old)
            old = index.pop_min(lambda k: attackers[k].failures)
        gone = attackers.pop(old)
        self.evictions["auth_ips"] += gone.failures - gone.error
        a = attackers[ip] = _Attacker(ts)
        a.failures = a.error = gone.failures
        index.file(ip, gone.failures + n)  # the caller adds the n failures
        return a

    def _backend(self, ev: m.AuthBackendFailure, ts: float | None, line: str) -> None:
        self.auth_backend += 1

    def _login_ok(self, ev: m.LoginOk, ts: float | None, line: str) -> None:
        self.logins_ok[ev.service] += 1
        self.ok_ips.add(ev.ip, line)

    def _plaintext(self, ev: m.PlaintextRefused, ts: float | None, line: str) -> None:
        self.plaintext.add(ev.ip, line)

    def _tls(self, ev: m.TlsFailure, ts: float | None, line: str) -> None:
        self.tls.add(ev.ip, line)

    def _size(self, ev: m.SizeRejected, ts: float | None, line: str) -> None:
        ip = ev.ip
        if not ip and ev.qid:
            e = self.queue.get(ev.qid)
            ip = (e[0] or "local") if e else "unknown"
        self.size.add(ip or "unknown", line)

    def _mailbox_full(self, ev: m.MailboxFull, ts: float | None, line: str) -> None:
        self.mailbox_full.add(ev.user, line)

    def _rate(self, ev: m.RateLimited, ts: float | None, line: str) -> None:
        self.rate.add(ev.kind, line)

    def _fault(self, ev: m.Fault, ts: float | None, line: str) -> None:
        self.faults.add(ev.level, line)

    def _warning(self, ev: m.Warning_, ts: float | None, line: str) -> None:
        self.warnings.add(ev.program, line)

    def _dsn(self, ev: m.Dsn, ts: float | None, line: str) -> None:
        e = self._entry(ev.dsn_qid)
        assert e is not None
        if e[0] is None:
            e[0] = "local"

    def _dnsbl_hit(self, ev: m.DnsblHit, ts: float | None, line: str) -> None:
        pass  # postscreen's score line; the reject that may follow is what counts

    # -- result ------------------------------------------------------------------------------

    def summary(self) -> m.LogSummary:
        t = self.t
        brute: list[m.BruteForce] = []
        ok, ok_errors = self.ok_ips.by, self.ok_ips.errors
        for ip, a in self.attackers.items():
            # Both rules on lower bounds (failures - error; max_in_window counts only failures
            # seen since the address entered the table): a finding names a sure attacker.
            slow = a.failures - a.error >= t.brute_force_count * 5
            if a.max_in_window >= t.brute_force_count or slow:
                brute.append(
                    m.BruteForce(
                        ip=ip,
                        failures=a.failures,
                        first_seen=a.first,
                        last_seen=a.last,
                        max_in_window=a.max_in_window,
                        users=tuple(sorted(a.users or ())),
                        services=tuple(sorted(a.services)),
                        # the lower bound: logins that surely came from this address
                        logins_ok=ok.get(ip, 0) - ok_errors.get(ip, 0),
                        failures_error=a.error,
                    )
                )
        brute.sort(key=lambda b: (-b.failures, b.ip))
        pending = sum(1 for e in self.queue.values() if e[3] == "deferred")
        accounts = sorted(
            (m.AccountUse(u, a[0], a[1], len(a[2])) for u, a in self.accounts.items()),
            key=lambda a: (-a.recipients, -a.messages, a.user),
        )
        evictions = dict(self.evictions)
        if "auth_ips" in evictions:  # failures no longer attributed to an address
            evictions["auth"] = evictions["auth_ips"]
        for name, c in (
            ("auth", self.auth),
            ("relay", self.relay),
            ("dnsbl", self.dnsbl),
            ("size", self.size),
            ("mailbox_full", self.mailbox_full),
            ("rate", self.rate),
            ("tls", self.tls),
            ("plaintext", self.plaintext),
            ("faults", self.faults),
            ("warnings", self.warnings),
            ("user_ips", self.ok_ips),
        ):
            if c.evicted:
                evictions[name] = c.evicted
        return m.LogSummary(
            files=tuple(self.files),
            mtas=tuple(sorted(self.mtas)),
            lines=self.lines,
            parsed=self.parsed,
            unparsed=self.unparsed,
            out_of_range=self.out_of_range,
            overlong=self.overlong,
            first_seen=self.first,
            last_seen=self.last,
            deliveries=dict(self.deliveries),
            by_domain=dict(
                sorted(self.by_domain.items(), key=lambda kv: -sum(kv[1].values()))[:100]
            ),
            by_client=dict(
                sorted(self.by_client.items(), key=lambda kv: -sum(kv[1].values()))[:100]
            ),
            messages=self.messages,
            delay_avg=round(self.delay_sum / self.delay_n, 3) if self.delay_n else None,
            delay_max=self.delay_max,
            bounce_reasons=self.bounces.freeze(),
            deferral_reasons=self.deferrals.freeze(),
            reject_reasons=self.rejects.freeze(),
            auth_failures=self.auth.total,
            auth_by_ip=dict(
                sorted(((ip, a.failures) for ip, a in self.attackers.items()), key=_minus_count)
            ),
            auth_by_user=dict(self.auth_users.most_common()),
            auth_by_service=dict(self.auth_services.most_common()),
            auth_backend_failures=self.auth_backend,
            auth_pairs=tuple((u, ip, n) for (u, ip), n in self.auth_pairs.most_common(100)),
            logins_ok=dict(self.logins_ok),
            user_ips=frozenset(self.ok_ips.by),  # each logged in at least once
            brute_force=tuple(brute),
            relay_denied=self.relay.freeze(),
            dnsbl_rejections=self.dnsbl.freeze(),
            size_rejected=self.size.freeze(),
            mailbox_full=self.mailbox_full.freeze(),
            rate_limited=self.rate.freeze(),
            tls_failures=self.tls.freeze(),
            plaintext_refused=self.plaintext.freeze(),
            faults=self.faults.freeze(),
            warnings=self.warnings.freeze(),
            top_senders=tuple(self.senders.most_common(20)),
            accounts=tuple(accounts[:100]),
            deferred_pending=pending,
            evictions=evictions,
            input_errors=tuple(self.input_errors),
            thresholds=t,
            auth_by_ip_errors={ip: a.error for ip, a in self.attackers.items() if a.error},
        )


_JOINED = frozenset({m.Sender, m.Delivery, m.Removed, m.SizeRejected})

_HANDLERS: dict[type, Any] = {
    m.Client: Summarizer._client,
    m.Sender: Summarizer._sender,
    m.Delivery: Summarizer._delivery,
    m.Removed: Summarizer._removed,
    m.Expired: Summarizer._expired,
    m.Reject: Summarizer._reject,
    m.AuthFailure: Summarizer._auth_failure,
    m.AuthBackendFailure: Summarizer._backend,
    m.LoginOk: Summarizer._login_ok,
    m.PlaintextRefused: Summarizer._plaintext,
    m.TlsFailure: Summarizer._tls,
    m.SizeRejected: Summarizer._size,
    m.MailboxFull: Summarizer._mailbox_full,
    m.RateLimited: Summarizer._rate,
    m.Fault: Summarizer._fault,
    m.Warning_: Summarizer._warning,
    m.Dsn: Summarizer._dsn,
    m.DnsblHit: Summarizer._dnsbl_hit,
}
