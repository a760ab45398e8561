"""The streaming summariser: events in, a LogSummary out, in memory bounded by caps, not by the
size of the log.

The one piece of state that follows the log is the message table (queue id -> client, user,
last status), joined across lines as Postfix, Exim and Sendmail log a message's life over
several lines. A message leaves it when the log says it was removed; a cap evicts the oldest
entries beyond MAX_MESSAGES (counted in `evictions`). Per-address tables (auth failures,
relay denials...) have caps too, with their evictions counted: the figures are exact below
the caps and say so when they are not.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from maildoctor.logs import model as m
from maildoctor.logs.reasons import dnsbl_zone, normalise

MAX_MESSAGES = 200_000
MAX_KEYS = 50_000  # distinct IPs, users, senders, domains per table
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


class _Count:
    """A bounded counter with examples."""

    __slots__ = ("by", "evicted", "examples", "total")

    def __init__(self) -> None:
        self.total = 0
        self.by: Counter[str] = Counter()
        self.examples: list[str] = []
        self.evicted = 0

    def add(self, key: str, line: str, n: int = 1) -> None:
        self.total += n
        if key in self.by or len(self.by) < MAX_KEYS:
            self.by[key] += n
        else:
            self.evicted += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(_clip(line))

    def freeze(self) -> m.Counted:
        return m.Counted(self.total, dict(self.by.most_common()), tuple(self.examples))


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


def _max_in_window(times: list[float], window: float) -> int:
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


class _Attacker:
    __slots__ = (
        "failures",
        "first",
        "head",
        "last",
        "max_in_window",
        "services",
        "users",
        "window",
    )

    def __init__(self, ts: float | None, size: int) -> None:
        self.failures = 0
        self.first = ts
        self.last = ts
        self.window: deque[float] = deque(maxlen=size)
        self.head: list[float] = []  # the first `size` times, for merging ranges
        self.max_in_window = 0
        self.users: set[str] = set()
        self.services: set[str] = set()


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
        self.auth = _Count()
        self.auth_users: Counter[str] = Counter()
        self.auth_services: Counter[str] = Counter()
        self.auth_backend = 0
        self.auth_pairs: Counter[tuple[str, str]] = Counter()
        self.logins_ok: Counter[str] = Counter()
        self.ok_ips: Counter[str] = Counter()
        self.attackers: dict[str, _Attacker] = {}
        self.relay = _Count()
        self.dnsbl = _Count()
        self.size = _Count()
        self.mailbox_full = _Count()
        self.rate = _Count()
        self.tls = _Count()
        self.plaintext = _Count()
        self.faults = _Count()
        self.warnings = _Count()
        self.senders: Counter[str] = Counter()
        self.accounts: dict[str, list[Any]] = {}  # user -> [messages, recipients, {domains}]
        self.evictions: Counter[str] = Counter()
        self.input_errors: list[str] = []
        self.orphans: list[tuple[Any, float | None, str]] | None = None

    # -- merging (parallel byte ranges) -------------------------------------------------------

    def merge(self, later: Summarizer) -> None:  # noqa: PLR0915 - one fold per table
        """Fold in the summary of the byte range that follows this one."""
        for ev, ts, line in later.orphans or ():
            self.feed(ev, ts, line)
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
        for mine, theirs in ((self.by_domain, later.by_domain), (self.by_client, later.by_client)):
            for key, row in theirs.items():
                if key not in mine:
                    mine[key] = dict(row)
                else:
                    for k, v in row.items():
                        mine[key][k] += v
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
        ):
            mine_c.total += theirs_c.total
            mine_c.by.update(theirs_c.by)
            mine_c.evicted += theirs_c.evicted
            mine_c.examples = (mine_c.examples + theirs_c.examples)[:MAX_EXAMPLES]
        self.auth_users.update(later.auth_users)
        self.auth_services.update(later.auth_services)
        self.auth_pairs.update(later.auth_pairs)
        self.logins_ok.update(later.logins_ok)
        self.ok_ips.update(later.ok_ips)
        self.senders.update(later.senders)
        self.evictions.update(later.evictions)
        self.auth_backend += later.auth_backend
        for ip, b in later.attackers.items():
            a = self.attackers.get(ip)
            if a is None:
                self.attackers[ip] = b
                continue
            # The window may span the boundary: this range's last N times + the next's first N.
            joined = sorted([*a.window, *b.head])
            a.max_in_window = min(
                self.t.brute_force_count,
                max(
                    a.max_in_window,
                    b.max_in_window,
                    _max_in_window(joined, self.t.brute_force_window),
                ),
            )
            a.failures += b.failures
            a.first = b.first if a.first is None else a.first
            a.last = b.last if b.last is not None else a.last
            a.window = b.window
            a.users |= set(list(b.users)[: max(0, MAX_USERS_PER_IP - len(a.users))])
            a.services |= b.services
        for user, acc in later.accounts.items():
            mine_a = self.accounts.get(user)
            if mine_a is None:
                self.accounts[user] = acc
            else:
                mine_a[0] += acc[0]
                mine_a[1] += acc[1]
                mine_a[2] |= set(list(acc[2])[: max(0, MAX_DOMAINS_PER_ACCOUNT - len(mine_a[2]))])
        self.input_errors += later.input_errors

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
            # Kept, in order, for merge() to replay against the earlier range's table.
            self.orphans.append((ev, ts, _clip(line)))
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
        if ev.user and (ev.ip in self.ok_ips or len(self.ok_ips) < MAX_KEYS):
            self.ok_ips[ev.ip] += 1  # authenticated: a user's address, not a stranger's
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
        for table, key in ((self.by_domain, domain), (self.by_client, client)):
            row = table.get(key)
            if row is None:
                if len(table) >= MAX_KEYS:
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
        self.auth.add(ev.ip, line, n)
        if ev.user and (ev.user in self.auth_users or len(self.auth_users) < MAX_KEYS):
            self.auth_users[ev.user] += n
        self.auth_services[ev.service] += n
        pair = (ev.user, ev.ip)
        if pair in self.auth_pairs or len(self.auth_pairs) < MAX_KEYS:
            self.auth_pairs[pair] += n
        a = self.attackers.get(ev.ip)
        if a is None:
            if len(self.attackers) >= MAX_KEYS:
                self.evictions["auth_ips"] += 1
                return
            a = self.attackers[ev.ip] = _Attacker(ts, self.t.brute_force_count)
        a.failures += n
        if ts is not None:
            if a.first is None or ts < a.first:
                a.first = ts
            if a.last is None or ts > a.last:
                a.last = ts
            for _ in range(min(n, self.t.brute_force_count)):
                a.window.append(ts)
                if len(a.head) < self.t.brute_force_count:
                    a.head.append(ts)
            while a.window and ts - a.window[0] > self.t.brute_force_window:
                a.window.popleft()
            a.max_in_window = max(a.max_in_window, len(a.window))
        if ev.user and len(a.users) < MAX_USERS_PER_IP:
            a.users.add(ev.user)
        a.services.add(ev.service)

    def _backend(self, ev: m.AuthBackendFailure, ts: float | None, line: str) -> None:
        self.auth_backend += 1

    def _login_ok(self, ev: m.LoginOk, ts: float | None, line: str) -> None:
        self.logins_ok[ev.service] += 1
        if ev.ip in self.ok_ips or len(self.ok_ips) < MAX_KEYS:
            self.ok_ips[ev.ip] += 1

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
        for ip, a in self.attackers.items():
            slow = a.failures >= t.brute_force_count * 5
            if a.max_in_window >= t.brute_force_count or slow:
                brute.append(
                    m.BruteForce(
                        ip=ip,
                        failures=a.failures,
                        first_seen=a.first,
                        last_seen=a.last,
                        max_in_window=a.max_in_window,
                        users=tuple(sorted(a.users)),
                        services=tuple(sorted(a.services)),
                        logins_ok=self.ok_ips.get(ip, 0),
                    )
                )
        brute.sort(key=lambda b: (-b.failures, b.ip))
        pending = sum(1 for e in self.queue.values() if e[3] == "deferred")
        accounts = sorted(
            (m.AccountUse(u, a[0], a[1], len(a[2])) for u, a in self.accounts.items()),
            key=lambda a: (-a.recipients, -a.messages, a.user),
        )
        evictions = dict(self.evictions)
        for name, c in (
            ("auth", self.auth),
            ("relay", self.relay),
            ("size", self.size),
            ("tls", self.tls),
            ("warnings", self.warnings),
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
            auth_by_ip=dict(self.auth.by.most_common()),
            auth_by_user=dict(self.auth_users.most_common()),
            auth_by_service=dict(self.auth_services.most_common()),
            auth_backend_failures=self.auth_backend,
            auth_pairs=tuple((u, ip, n) for (u, ip), n in self.auth_pairs.most_common(100)),
            logins_ok=dict(self.logins_ok),
            user_ips=frozenset(ip for ip, _ in self.ok_ips.most_common(10_000)),
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
