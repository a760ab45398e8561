"""The local mail queue: how many messages wait, since when, why, for whom and from whom.

Runs ON the mail server (`maildoctor diagnose --symptom overloaded`), with the MTA's own
commands: Postfix `postqueue -j` (JSON lines, Postfix >= 3.1; `postqueue -p` text before),
`-c CONFIG_DIR` for a Postfix instance that is not the default one; Exim `exim -bpc` and
`exim -bp`; Sendmail `mailq`. No shell, a timeout (the command is killed when it passes),
and an output bound: a queue of millions of messages is read up to MAX_BYTES and counted.

Registers no @probe: `check` looks at a domain from outside and must never run local
commands; diagnose merges `queue_probes(request)` into its plan (the pattern of
probes/account.py). The parsers are pure functions of the command output, tested on
recorded output (tests/unit/test_queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from maildoctor.evidence.queue import (
    DENIED,
    DOWN,
    ERROR,
    EXIM,
    NOT_FOUND,
    POSTFIX,
    POSTFIX_QUEUES,
    READ,
    SENDMAIL,
    TIMEOUT,
    Count,
    QueueEvidence,
)
from maildoctor.probes import ProbeContext, ProbeSpec

KEY = "queue.local"
MAX_BYTES = 64 * 1024 * 1024  # of command output; beyond it the command is killed
MAX_STDERR = 64 * 1024
MAX_KEYS = 50_000  # distinct senders / domains / reasons counted; more go to "(other)"
TOP = 10
MIN_TIMEOUT_S = 30.0  # a big queue takes a while to list
OTHER = "(other)"


@dataclass(frozen=True)
class QueueRequest:
    mta: str = "auto"  # "auto", "postfix", "exim", "sendmail"
    config_dir: str | None = None  # Postfix: postqueue -c DIR (one instance of several)
    backlog_threshold: int = 500  # waiting messages above which the queue is a backlog
    flood_min: int = 100  # a sender is judged only in a queue of at least this many
    flood_share: float = 0.5  # ... and floods when it holds more than this share
    old_after_s: float = 86400.0  # the oldest message is "old" past this age
    timeout_s: float | None = None  # default max(settings.step_timeout * 6, MIN_TIMEOUT_S)
    max_bytes: int = MAX_BYTES
    # Command names or paths (tests point them at recorded-output scripts).
    commands: Mapping[str, str] = field(default_factory=dict)
    now: float | None = None  # the clock for ages (tests); default time.time()


def queue_probes(req: QueueRequest) -> dict[str, ProbeSpec]:
    return {KEY: ProbeSpec(KEY, (), partial(probe_queue, req=req))}


# ------------------------------------------------------------------ running a command


@dataclass(frozen=True)
class Output:
    argv: tuple[str, ...]
    status: str  # READ (it ran to the end or to the bound), NOT_FOUND, DENIED, TIMEOUT, ERROR
    rc: int | None = None
    stdout: bytes = b""
    stderr: str = ""
    truncated: bool = False
    detail: str = ""

    @property
    def shown(self) -> str:
        return " ".join(self.argv)


async def _read_bounded(stream: asyncio.StreamReader | None, limit: int) -> tuple[bytes, bool]:
    if stream is None:
        return b"", False
    buf = bytearray()
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return bytes(buf), False
        room = limit - len(buf)
        if len(chunk) > room:
            buf += chunk[:room]
            return bytes(buf), True
        buf += chunk


def _kill_now(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the command and everything it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def _finish(proc: asyncio.subprocess.Process, tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Kill, stop our readers, read what is left in the pipes (bounded: the writers are dead)
    so that their transports close, and reap the process."""
    _kill_now(proc)
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(TimeoutError, OSError, ValueError):
                await asyncio.wait_for(stream.read(), 2.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 5.0)


async def run_command(argv: Iterable[str], timeout: float, max_bytes: int = MAX_BYTES) -> Output:
    """Run argv (no shell); stdout up to max_bytes, stderr up to MAX_STDERR; killed on timeout
    or when the output bound is reached (the part read is kept)."""
    args = tuple(argv)
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "LC_ALL": "C"},
            start_new_session=True,  # its own process group: a timeout kills its children too
        )
    except FileNotFoundError:
        return Output(args, NOT_FOUND, detail=f"{args[0]} not found")
    except PermissionError as exc:
        return Output(args, DENIED, detail=f"{args[0]}: {exc.strerror or exc}")
    except OSError as exc:
        return Output(args, ERROR, detail=f"{args[0]}: {exc.strerror or exc}")
    out_task = asyncio.ensure_future(_read_bounded(proc.stdout, max_bytes))
    err_task = asyncio.ensure_future(_read_bounded(proc.stderr, MAX_STDERR))
    tasks: tuple[asyncio.Future[Any], ...] = (out_task, err_task)
    try:
        try:
            stdout, truncated = await asyncio.wait_for(asyncio.shield(out_task), timeout)
        except TimeoutError:
            await _finish(proc, tasks)
            return Output(
                args, TIMEOUT, detail=f"{args[0]} did not finish in {timeout:g} s (killed)"
            )
        if truncated:
            await _finish(proc, (out_task,))
        rc: int | None = None
        stderr = b""
        try:
            stderr, _ = await asyncio.wait_for(asyncio.shield(err_task), 5.0)
            rc = await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            await _finish(proc, tasks)
            rc = proc.returncode
        return Output(
            args,
            READ,
            rc=rc,
            stdout=stdout,
            stderr=stderr.decode("utf-8", "replace").strip(),
            truncated=truncated,
        )
    finally:
        # Also when the run's deadline cancels the probe: never leave the command running.
        for task in tasks:
            task.cancel()
        if proc.returncode is None:
            _kill_now(proc)


_DENIED_RE = re.compile(r"permission denied|not permitted|must be root|not allowed", re.I)
_NO_CONFIG_RE = re.compile(r"main\.cf: No such file|configuration file .* not found", re.I)
_DOWN_RE = re.compile(r"mail system is down|queue report unavailable|connect to .*showq", re.I)


def _failed(out: Output) -> QueueEvidence | None:
    """Evidence for a command that did not list the queue; None when it did."""
    if out.status != READ:
        return QueueEvidence(status=out.status, command=out.shown, detail=out.detail)
    if out.truncated or out.rc == 0:
        return None
    text = out.stderr or out.stdout[:2000].decode("utf-8", "replace").strip()
    text = text.splitlines()[-1][:500] if text else f"exit status {out.rc}"
    if _NO_CONFIG_RE.search(text):
        # Postfix installed, but not configured here: not the mail server (or another instance).
        return QueueEvidence(status=NOT_FOUND, command=out.shown, detail=text)
    if _DENIED_RE.search(text):
        return QueueEvidence(status=DENIED, command=out.shown, detail=text)
    if _DOWN_RE.search(text):
        return QueueEvidence(status=DOWN, command=out.shown, detail=text)
    return QueueEvidence(status=ERROR, command=out.shown, detail=text)


# ------------------------------------------------------------------ normalising


_QID = re.compile(
    r"\b(?:[0-9A-F]{6,12}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,16}z?[0-9A-Za-z]+)\b"
)
_EMAIL = re.compile(r"<?[^\s<>()@]+@[^\s<>()@,;]+>?")
_HOST_IP = re.compile(r"\S+\[[0-9a-fA-F.:]+\](?::\d+)?")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\b")
_HOSTNAME = re.compile(r"\b(?:[a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\b\.?", re.I)
_URL = re.compile(r"https?://\S+", re.I)
_NUMBER = re.compile(r"(?<![\d.])\d{4,}(?![\d.])")
_BRACKETED = re.compile(r"\[[^\]]{0,80}\]")
_SPACES = re.compile(r"\s+")
_SUSPENDED = re.compile(r"^delivery temporarily suspended:\s*", re.I)


def normalise_reason(reason: str) -> str:
    """A deferral reason without what varies between messages (queue IDs, addresses,
    hosts, numbers), so that 600 copies of one cause count as one.

    Postfix's "delivery temporarily suspended: X" (the destination was given up on for a
    while after X) counts as X.
    """
    text = _SPACES.sub(" ", reason).strip()[:1000]
    text = _SUSPENDED.sub("", text)
    text = _URL.sub("URL", text)
    text = _EMAIL.sub("ADDRESS", text)
    text = _HOST_IP.sub("HOST", text)
    text = _IP.sub("IP", text)
    text = _HOSTNAME.sub("HOST", text)
    text = _BRACKETED.sub("[...]", text)
    text = _QID.sub("ID", text)
    text = _NUMBER.sub("N", text)
    return text[:300]


def domain_of(address: str) -> str:
    _, at, domain = address.strip().strip("<>").rpartition("@")
    return domain.lower().rstrip(".") if at and domain else "(local)"


def sender_of(sender: str) -> str:
    s = sender.strip()
    if s in ("", "<>", "MAILER-DAEMON"):
        return "<>"
    return s.strip("<>").lower()


# ------------------------------------------------------------------ aggregation


class _Tally:
    """Counts across messages, bounded in distinct keys."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.queues: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.domains: Counter[str] = Counter()
        self.senders: Counter[str] = Counter()
        self.oldest: tuple[float, str] | None = None
        self.frozen = 0
        self.size = 0
        self.messages = 0
        self.skipped = 0

    @staticmethod
    def _bump(counter: Counter[str], key: str) -> None:
        if key in counter or len(counter) < MAX_KEYS:
            counter[key] += 1
        else:
            counter[OTHER] += 1

    def add(
        self,
        *,
        queue: str,
        qid: str,
        arrival: float | None,
        size: int,
        sender: str,
        recipients: Iterable[tuple[str, str]],
        frozen: bool = False,
    ) -> None:
        self.messages += 1
        self.queues[queue] += 1
        self.size += max(size, 0)
        self._bump(self.senders, sender_of(sender))
        if frozen:
            self.frozen += 1
        if arrival is not None and (self.oldest is None or arrival < self.oldest[0]):
            self.oldest = (arrival, qid)
        domains: set[str] = set()
        reasons: set[str] = set()
        for address, reason in recipients:
            domains.add(domain_of(address))
            if reason.strip():
                key = normalise_reason(reason)
                reasons.add(key)
                self.examples.setdefault(key, _SPACES.sub(" ", reason).strip()[:500])
        # Each message counts once per domain and per reason, however many recipients.
        for d in domains:
            self._bump(self.domains, d)
        for r in reasons:
            self._bump(self.reasons, r)

    def evidence(self, mta: str, fmt: str, out: Output, **kw: object) -> QueueEvidence:
        def top(
            counter: Counter[str], examples: Mapping[str, str] | None = None
        ) -> tuple[Count, ...]:
            return tuple(
                Count(k, n, (examples or {}).get(k, ""))
                for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
            )

        queues = tuple(Count(q, n) for q, n in sorted(self.queues.items()))
        oldest_s = None
        if self.oldest is not None:
            oldest_s = round(max(0.0, self.now - self.oldest[0]), 1)
        fields: dict[str, object] = dict(
            status=READ,
            mta=mta,
            command=out.shown,
            fmt=fmt,
            total=self.messages,
            queues=queues,
            oldest_s=oldest_s,
            oldest_id=self.oldest[1] if self.oldest else "",
            frozen=self.frozen,
            size_bytes=self.size,
            reasons=top(self.reasons, self.examples),
            domains=top(self.domains),
            senders=top(self.senders),
            parsed=self.messages,
            truncated=out.truncated,
            skipped_lines=self.skipped,
        )
        fields.update(kw)
        if out.truncated:
            note = f"output cut at {len(out.stdout)} bytes: tables are of the first {self.messages}"
            fields["detail"] = "; ".join(x for x in (str(fields.get("detail", "")), note) if x)
        return QueueEvidence(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ parsers


def parse_postqueue_json(data: bytes, now: float) -> tuple[_Tally, bool]:
    """`postqueue -j`: one JSON object per message (Postfix >= 3.1, postqueue(1)).

    Returns the tally and whether any line was JSON at all.
    """
    tally = _Tally(now)
    any_json = False
    for raw in data.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            tally.skipped += 1
            continue
        if not isinstance(obj, dict):
            tally.skipped += 1
            continue
        any_json = True
        queue = obj.get("queue_name")
        qid = obj.get("queue_id")
        if not isinstance(queue, str) or not isinstance(qid, str):
            tally.skipped += 1
            continue
        arrival = obj.get("arrival_time")
        size = obj.get("message_size")
        sender = obj.get("sender")
        rcpts = obj.get("recipients")
        pairs: list[tuple[str, str]] = []
        if isinstance(rcpts, list):
            for r in rcpts[:10_000]:
                if isinstance(r, dict):
                    addr, why = r.get("address"), r.get("delay_reason", "")
                    pairs.append(
                        (addr if isinstance(addr, str) else "", why if isinstance(why, str) else "")
                    )
        tally.add(
            queue=queue[:20] if queue in POSTFIX_QUEUES else "other",
            qid=qid[:40],
            arrival=float(arrival)
            if isinstance(arrival, int | float) and not isinstance(arrival, bool)
            else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
            sender=sender if isinstance(sender, str) else "",
            recipients=pairs,
        )
    return tally, any_json


# Postfix `postqueue -p` / `mailq` and Sendmail `mailq`: a message starts at column 0 with
# its ID (Postfix: "*" active, "!" on hold), size, arrival date without a year, sender;
# "(reason)" lines and indented recipients follow.
_TEXT_HEAD = re.compile(
    r"^(?P<id>[0-9A-Za-z]{6,20})(?P<flag>[*!X-]?)\s+(?P<size>\d+)\s+"
    r"(?P<date>[A-Z][a-z]{2}\s+[A-Z][a-z]{2}\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<sender>.*)$"
)
_TEXT_NOISE = re.compile(
    r"^(?:-Queue ID-|-+Q-ID-+|\s*Mail queue is empty|\s*/\S+ is empty|--\s|\s*Total requests:"
    r"|\s*/\S+\s+\(\d+ requests?\)|\s*MSP Queue status|\s*Mail Queue)",
    re.I,
)


def _text_date(text: str, now: float) -> float | None:
    """ "Sat Nov 28 07:30:59" (no year, local time): the latest such time not after now + 1 d."""
    text = _SPACES.sub(" ", text.strip())
    fmt = "%a %b %d %H:%M:%S" if text.count(":") == 2 else "%a %b %d %H:%M"
    year = datetime.fromtimestamp(now).year
    for y in (year, year - 1):
        try:
            # Weekday ignored: it is checked against no year.
            ts = datetime.strptime(f"{y} {text.split(' ', 1)[1]}", f"%Y {fmt.split(' ', 1)[1]}")
        except ValueError:
            return None
        if ts.timestamp() <= now + 86400:
            return ts.timestamp()
    return None


def parse_mailq_text(data: bytes, now: float, mta: str = POSTFIX) -> _Tally:
    tally = _Tally(now)
    current: dict[str, object] | None = None
    rcpts: list[tuple[str, str]] = []
    reason = ""

    def flush() -> None:
        if current is None:
            return
        tally.add(
            queue=str(current["queue"]),
            qid=str(current["id"]),
            arrival=current["arrival"],  # type: ignore[arg-type]
            size=int(current["size"]),  # type: ignore[call-overload]
            sender=str(current["sender"]),
            recipients=rcpts or [("", reason)],
        )

    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        m = _TEXT_HEAD.match(line)
        if m:
            flush()
            rcpts, reason = [], ""
            flag = m["flag"]
            if mta == POSTFIX:
                queue = {"*": "active", "!": "hold"}.get(flag, "deferred")
            else:
                queue = "queue"
            current = {
                "id": m["id"],
                "queue": queue,
                "size": int(m["size"][:15]),
                "arrival": _text_date(m["date"], now),
                "sender": m["sender"].strip(),
            }
            continue
        if _TEXT_NOISE.match(line):
            continue
        stripped = line.strip()
        if current is not None and stripped.startswith("(") and stripped.endswith(")"):
            reason = stripped[1:-1]
            continue
        if current is not None and line[:1].isspace() and " " not in stripped:
            rcpts.append((stripped, reason))
            continue
        tally.skipped += 1
    flush()
    return tally


# Exim `exim -bp` (spec chapter 51 / "exim -bp"): "25m  2.9K 0t5C6f-0000c8-00 <sender>"
# then one recipient per line, "D" before those already delivered; "*** frozen ***" at the
# end of the first line. IDs: 6-6-2 (older) or 6-11-4 (Exim >= 4.97).
_EXIM_HEAD = re.compile(
    r"^\s*(?P<age>\d+)(?P<unit>[smhdw])\s+(?P<size>[\d.]+[KMG]?)\s+"
    r"(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})\s+(?P<sender>.*?)\s*"
    r"(?P<frozen>\*\*\* frozen \*\*\*)?\s*$"
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE_UNITS = {"K": 1024, "M": 1024 * 1024, "G": 1024**3}


def _exim_size(text: str) -> int:
    unit = _SIZE_UNITS.get(text[-1:], 1)
    number = text.rstrip("KMG")
    try:
        return int(float(number) * unit)
    except ValueError:
        return 0


def parse_exim_bp(data: bytes, now: float) -> _Tally:
    tally = _Tally(now)
    current: dict[str, object] | None = None
    rcpts: list[tuple[str, str]] = []

    def flush() -> None:
        if current is None:
            return
        tally.add(
            queue="queue",
            qid=str(current["id"]),
            arrival=float(current["arrival"]),  # type: ignore[arg-type]
            size=int(current["size"]),  # type: ignore[call-overload]
            sender=str(current["sender"]),
            recipients=rcpts,
            frozen=bool(current["frozen"]),
        )

    for raw in data.decode("utf-8", "replace").splitlines():
        if not raw.strip():
            continue
        m = _EXIM_HEAD.match(raw)
        if m:
            flush()
            rcpts = []
            sender = m["sender"]
            # "(user) <addr>": submitted locally by a user who set the sender.
            sender = sender.rsplit(" ", 1)[-1] if sender.startswith("(") else sender
            current = {
                "id": m["id"],
                "arrival": now - int(m["age"][:9]) * _UNITS[m["unit"]],
                "size": _exim_size(m["size"]),
                "sender": sender,
                "frozen": bool(m["frozen"]),
            }
            continue
        parts = raw.split()
        if current is not None and raw[:1].isspace() and parts:
            if parts[0] == "D" and len(parts) == 2:
                continue  # delivered already
            if parts[0] == "+D" and len(parts) == 2:
                continue
            rcpts.append((parts[-1], ""))
            continue
        tally.skipped += 1
    flush()
    return tally


def parse_exim_bpc(data: bytes) -> int | None:
    text = data.decode("utf-8", "replace").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


# ------------------------------------------------------------------ the probe


def _which(req: QueueRequest, name: str, *alternatives: str) -> str | None:
    given = req.commands.get(name)
    if given:
        return given
    for n in (name, *alternatives):
        found = shutil.which(n) or next(
            (
                p
                for d in ("/usr/sbin", "/usr/bin", "/usr/lib")
                if os.access(p := f"{d}/{n}", os.X_OK)
            ),
            None,
        )
        if found:
            return found
    return None


async def _postfix(req: QueueRequest, cmd: str, timeout: float, now: float) -> QueueEvidence:
    conf = ["-c", req.config_dir] if req.config_dir else []
    out = await run_command([cmd, *conf, "-j"], timeout, req.max_bytes)
    bad = _failed(out)
    unsupported = (
        bad is not None
        and bad.status == ERROR
        and re.search(r"invalid option|illegal option|usage", bad.detail, re.I)
    )
    if bad is None:
        tally, any_json = parse_postqueue_json(out.stdout, now)
        text = out.stdout.strip()
        if any_json or not text or b"Mail queue is empty" in text:
            return tally.evidence(POSTFIX, "json", out)
        if not unsupported:
            # Text where JSON was asked for: an old postqueue that ignored -j. Read as text.
            tally = parse_mailq_text(out.stdout, now, POSTFIX)
            if tally.messages or b"Mail queue is empty" in text:
                return tally.evidence(POSTFIX, "text", out)
            return QueueEvidence(
                status=ERROR,
                mta=POSTFIX,
                command=out.shown,
                detail="output not understood: " + text[:200].decode("utf-8", "replace"),
            )
    if bad is not None and not unsupported:
        return replace(bad, mta=POSTFIX)
    # Postfix < 3.1 has no -j.
    out = await run_command([cmd, *conf, "-p"], timeout, req.max_bytes)
    bad = _failed(out)
    if bad is not None:
        return replace(bad, mta=POSTFIX)
    tally = parse_mailq_text(out.stdout, now, POSTFIX)
    return tally.evidence(POSTFIX, "text", out, detail="postqueue -j unsupported (Postfix < 3.1)")


async def _exim(req: QueueRequest, cmd: str, timeout: float, now: float) -> QueueEvidence:
    count_out = await run_command([cmd, "-bpc"], timeout, 4096)
    bad = _failed(count_out)
    if bad is not None:
        return replace(bad, mta=EXIM)
    counted = parse_exim_bpc(count_out.stdout)
    out = await run_command([cmd, "-bp"], timeout, req.max_bytes)
    bad = _failed(out)
    if bad is not None:
        return replace(bad, mta=EXIM)
    tally = parse_exim_bp(out.stdout, now)
    ev = tally.evidence(EXIM, "text", out)
    if counted is not None and counted != ev.total:
        # -bpc is the count; -bp, cut by the bound (or racing new mail), the details.
        ev = replace(ev, total=counted, queues=(Count("queue", counted),))
    return ev


async def _sendmail(req: QueueRequest, cmd: str, timeout: float, now: float) -> QueueEvidence:
    out = await run_command([cmd], timeout, req.max_bytes)
    bad = _failed(out)
    if bad is not None:
        return replace(bad, mta=SENDMAIL)
    return parse_mailq_text(out.stdout, now, SENDMAIL).evidence(SENDMAIL, "text", out)


async def read_queue(req: QueueRequest, timeout: float) -> QueueEvidence:
    now = req.now if req.now is not None else time.time()
    mta = "postfix" if req.config_dir and req.mta == "auto" else req.mta
    tried: list[str] = []
    if mta in ("auto", POSTFIX):
        cmd = _which(req, "postqueue")
        if cmd:
            return await _postfix(req, cmd, timeout, now)
        tried.append("postqueue")
    if mta in ("auto", EXIM):
        cmd = _which(req, "exim", "exim4")
        if cmd:
            return await _exim(req, cmd, timeout, now)
        tried.append("exim")
    if mta in ("auto", SENDMAIL):
        cmd = _which(req, "mailq")
        if cmd:
            return await _sendmail(req, cmd, timeout, now)
        tried.append("mailq")
    if not tried:
        return QueueEvidence(status=ERROR, detail=f"unknown MTA {req.mta!r}")
    return QueueEvidence(
        status=NOT_FOUND,
        mta="" if mta == "auto" else mta,
        detail=f"{', '.join(tried)} not found",
    )


def _with_thresholds(ev: QueueEvidence, req: QueueRequest) -> QueueEvidence:
    return replace(
        ev,
        backlog_threshold=req.backlog_threshold,
        flood_min=req.flood_min,
        flood_share=req.flood_share,
        old_after_s=req.old_after_s,
    )


async def probe_queue(ctx: ProbeContext, req: QueueRequest) -> QueueEvidence:
    timeout = req.timeout_s or max(ctx.settings.step_timeout * 6, MIN_TIMEOUT_S)
    return _with_thresholds(await read_queue(req, timeout), req)


__all__ = [
    "DENIED",
    "DOWN",
    "KEY",
    "TIMEOUT",
    "QueueRequest",
    "normalise_reason",
    "parse_exim_bp",
    "parse_mailq_text",
    "parse_postqueue_json",
    "probe_queue",
    "queue_probes",
    "read_queue",
    "run_command",
]
