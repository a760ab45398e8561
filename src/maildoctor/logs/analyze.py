"""Files -> LogSummary: read each log (in rotation order), split each line's prefix, hand its
text to the parser of the software that wrote it, feed the events to one Summarizer.

Every line read is counted exactly once: parsed (understood, including lines outside
--since/--until) or unparsed (handed to `on_unparsed`, which --show-unparsed prints).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from maildoctor.logs import dovecot, exim, postfix, sendmail
from maildoctor.logs.clock import MONTHS, Clock
from maildoctor.logs.header import software, split
from maildoctor.logs.model import (
    AuthFailure,
    DnsblHit,
    Fault,
    LogSummary,
    RateLimited,
    Reject,
    Thresholds,
    TlsFailure,
    Warning_,
)
from maildoctor.logs.reader import (
    Decompressing,
    InputError,
    blocks,
    follow,
    open_log,
    rotation_order,
)
from maildoctor.logs.summary import Summarizer

UNPARSED = postfix.UNPARSED


@dataclass
class Options:
    since: float | None = None
    until: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    on_unparsed: Callable[[str], None] | None = None
    on_event: Callable[[object, str], None] | None = None
    on_error: Callable[[str], None] | None = None
    follow: bool = False
    stop: Callable[[], bool] | None = None


def analyze(paths: Iterable[str], options: Options | None = None) -> LogSummary:
    """Read every file (raises OSError for one that cannot be opened; see command.py)."""
    opts = options or Options()
    s = Summarizer(opts.thresholds)
    ordered = rotation_order(list(paths))
    for i, path in enumerate(ordered):
        s.files.append(path)
        ranges = _ranges(path, opts)
        if ranges:
            _parallel(s, path, ranges, opts)
            continue
        stream, mtime = open_log(path)
        clock = Clock(mtime)
        paniclog = "paniclog" in os.path.basename(path)
        try:
            feed_blocks(s, blocks(stream), clock, opts, paniclog)
        except InputError as exc:
            s.input_errors.append(str(exc))
            if opts.on_error:
                opts.on_error(str(exc))
        except OSError as exc:
            message = f"{path}: read error: {exc.strerror or exc}"
            s.input_errors.append(message)
            if opts.on_error:
                opts.on_error(message)
        if (
            opts.follow
            and i == len(ordered) - 1
            and path != "-"
            and not isinstance(stream, Decompressing)
        ):
            pos = stream.tell()
            inode = os.fstat(stream.fileno()).st_ino
            stream.close()
            stop = opts.stop or (lambda: False)
            feed_blocks(s, follow(path, pos, inode, stop), Clock(None), opts, paniclog)
        elif path != "-":
            stream.close()
    return s.summary()


# Postfix lines that parse to no event (see postfix._FAST_BENIGN), each with the newline
# BEFORE it: the pattern starts with a literal "\n", which the regex engine finds by a fast
# scan for that one character instead of trying a match at every position (what a leading
# "^" in MULTILINE mode costs). feed_blocks puts a "\n" before the first line of a chunk.
# The repeats are possessive (++, *+): each class excludes the character that follows it, so
# backtracking could never find another match; possessive just stops the engine trying.
# It runs on the bytes read (reader._split), before decoding, so only the lines kept are
# decoded: an invalid UTF-8 byte is one of the [^ \n] characters, as its U+FFFD would be.
# Digits are ASCII digits: a line with other digits in its prefix is left to the line-by-line
# path (which counts it the same way, parsed).
# RFC 3164 4.1.2 timestamp; the same ranges clock.Clock accepts.
PREFILTER = re.compile(
    rb"\n(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?: [1-9]|[12][0-9]|3[01]) "
    rb"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] [^ \n]++ postfix[^ \n:\[]*+\[[0-9]++\]: "
    rb"(?:connect from |disconnect from |Anonymous TLS connection |lost connection after "
    rb"|[0-9A-Za-z]{6,16}: message-id=)[^\n]*+"
)
# The same on decoded text (the rare blocks with a possibly long line), ASCII digits alike.
PREFILTER_TEXT = re.compile(PREFILTER.pattern.decode())
# Postfix events that belong to no queued message: the same message text always gives the
# same event, so feed_blocks keeps up to MAX_REPEATS of them, for messages of at most
# REPEAT_CHARS characters (a few MB at most, whatever the log holds).
_NO_QUEUE_ID = frozenset({AuthFailure, DnsblHit, Fault, RateLimited, TlsFailure, Warning_})
MAX_REPEATS = 10_000
REPEAT_CHARS = 400
PARALLEL_MIN = 64 << 20  # below this, one process is faster than starting more


def _ranges(path: str, opts: Options) -> list[tuple[int, int]]:
    """Byte ranges, starting at line starts, to read a big plain file on every core; [] to
    read it in this process (small, compressed, stdin, followed, or lines to print in order)."""
    cores = os.cpu_count() or 1
    if (
        cores < 2
        or path == "-"
        or opts.follow
        or opts.on_unparsed is not None
        or opts.on_event is not None
        or not os.path.isfile(path)
    ):
        return []
    size = os.path.getsize(path)
    if size < PARALLEL_MIN:
        return []
    with open(path, "rb") as f:
        if f.read(6)[:2] in (b"\x1f\x8b", b"BZ", b"\xfd7"):
            return []
        n = min(cores, 8)
        cuts = [0]
        for k in range(1, n):
            f.seek(size * k // n)
            f.readline()  # to the start of the next line
            cuts.append(max(f.tell(), cuts[-1]))
        cuts.append(size)
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


class _Range:
    """read(n) over bytes [start, end) of a file."""

    def __init__(self, path: str, start: int, end: int) -> None:
        self.f = open(path, "rb")  # noqa: SIM115
        self.f.seek(start)
        self.left = end - start

    def read(self, size: int) -> bytes:
        if self.left <= 0:
            return b""
        data = self.f.read(min(size, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.f.close()


def _work(job: tuple[str, int, int, float | None, tuple[Any, Any, Thresholds]]) -> Summarizer:
    path, start, end, mtime, (since, until, thresholds) = job
    opts = Options(since=since, until=until, thresholds=thresholds)
    s = Summarizer(opts.thresholds)
    s.orphans = []
    stream = _Range(path, start, end)
    try:
        feed_blocks(s, blocks(stream), Clock(mtime), opts, "paniclog" in os.path.basename(path))
    except OSError as exc:
        s.input_errors.append(f"{path}: read error: {exc.strerror or exc}")
    finally:
        stream.close()
    return s


def _parallel(s: Summarizer, path: str, ranges: list[tuple[int, int]], opts: Options) -> None:
    """The first range is read here, into `s`, while worker processes read the others; their
    summaries are merged in order. One process fewer than ranges: less memory in all (a
    summary at its caps, its pickling and a Python each), and the first range is not pickled."""
    import multiprocessing

    mtime = os.path.getmtime(path)
    plain = Options(since=opts.since, until=opts.until, thresholds=opts.thresholds)
    jobs = [
        (path, a, b, mtime, (plain.since, plain.until, plain.thresholds)) for a, b in ranges[1:]
    ]

    def read_first() -> None:
        first = _Range(path, *ranges[0])
        try:
            feed_blocks(s, blocks(first), Clock(mtime), plain, "paniclog" in os.path.basename(path))
        except OSError as exc:
            s.input_errors.append(f"{path}: read error: {exc.strerror or exc}")
        finally:
            first.close()

    if not jobs:
        read_first()
    else:
        # The workers are forked first, while this process is small (they share its pages).
        with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
            parts = pool.imap(_work, jobs)
            read_first()
            for part in parts:
                s.merge(part)
                del part  # its tables are s's now, or garbage: not kept alive until the next
    for message in s.input_errors:
        if opts.on_error:
            opts.on_error(message)


def _drop_benign(chunk: bytes | str) -> tuple[list[str], int, str, str]:
    """PREFILTER over one block of lines: (the lines kept, how many were dropped, the first
    line, the last line). Bytes are decoded after, only the lines kept. Every kept line still
    has its "\n" before it: the first one is dropped before splitting."""
    if isinstance(chunk, bytes):
        head = chunk.partition(b"\n")[0].decode("utf-8", "replace")
        tail = chunk.rpartition(b"\n")[2].decode("utf-8", "replace")
        kept, dropped = PREFILTER.subn(b"", b"\n" + chunk)
        batch = kept[1:].decode("utf-8", "replace").split("\n") if kept else []
        return batch, dropped, head, tail
    # A block where a line may be long (reader._split), decoded already.
    kept_text, dropped = PREFILTER_TEXT.subn("", "\n" + chunk)
    batch = kept_text[1:].split("\n") if kept_text else []
    return batch, dropped, chunk.partition("\n")[0], chunk.rpartition("\n")[2]


def _parse(kind: str, program: str, msg: str, line: str, paniclog: bool) -> object:
    if kind == "postfix":
        return postfix.parse(program[program.rfind("/") + 1 :], msg, line)
    if kind == "dovecot":
        return dovecot.parse(program, msg, line)
    if kind == "exim":
        return exim.parse(msg, line, paniclog)
    if kind == "sendmail":
        return sendmail.parse(msg, line)
    return None


def feed_blocks(  # noqa: PLR0915 - the hot loop, inlined on purpose (bench/logs_speed.py)
    s: Summarizer,
    source: Iterator[tuple[bytes | str | list[str], bool]],
    clock: Clock,
    opts: Options,
    paniclog: bool = False,
) -> None:
    """The hot loop. Classic syslog lines from a known program take the fast path (no Header
    object, the timestamp computed only when an event or --since/--until needs it); every
    other line takes the general path through header.split."""
    since, until = opts.since, opts.until
    ranged = since is not None or until is not None
    # Without --since/--until, the commonest lines that carry nothing to count are dropped in
    # bulk, in C, before the loop (they are counted as read and parsed).
    prefilter = not ranged
    on_unparsed, on_event = opts.on_unparsed, opts.on_event
    feed = s.feed
    # Events go straight to their handler (one call fewer than s.feed; see Summarizer.handlers).
    handlers = s.handlers()
    mtas = s.mtas
    # program field as written (with [pid]) -> (software, program without pid, Postfix daemon)
    programs: dict[str, tuple[str | None, str, str]] = {}
    repeats: dict[tuple[str, str], Any] = {}  # (daemon, message) -> event, see below
    minute = clock.minute
    parse_postfix = postfix.parse
    lines = parsed = unparsed = out_of_range = overlong = 0
    first = s.first
    last = s.last
    exim_context = False
    last_key = last_second = ""
    base: float | None = None
    base_ok = False  # base is a time and the seconds of last_second are digits
    second_ts: float | None = None  # the time of last_second, once computed
    first_fast = last_fast = ""  # first and last fast-path lines: the stream's time span
    first_edge = last_edge = ""  # the same among the lines the prefilter sees
    try:
        for chunk, long in source:
            if long:
                overlong += 1
            if isinstance(chunk, list):
                batch = chunk
            elif not prefilter:
                text = chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
                batch = text.split("\n")
            else:
                batch, dropped, head, tail = _drop_benign(chunk)
                # The edges' times bound the stream even if the prefilter dropped them.
                for edge in (head, tail):
                    if edge[9:10] == ":" and edge[15:16] == " " and edge[:3] in MONTHS:
                        if not first_edge:
                            first_edge = edge
                        last_edge = edge
                lines += dropped
                parsed += dropped
                if dropped and "postfix" not in mtas:
                    mtas.add("postfix")
            lines += len(batch)
            for line in batch:
                # -- fast path: "Mmm dd hh:mm:ss host program[pid]: msg" ----------------
                if line[9:16:6] == ": ":  # line[9] == ":" and line[15] == " "
                    sp = line.find(" ", 16)
                    if sp > 16 and line[sp - 1] != ":":
                        c = line.find(": ", sp)
                        if c > 0:
                            field = line[sp + 1 : c]
                            info = programs.get(field)
                            if info is None:
                                br = field.find("[")
                                program = field[:br] if br > 0 else field
                                if len(programs) > 50_000:
                                    programs.clear()
                                daemon = program[program.rfind("/") + 1 :]
                                info = programs[field] = (software(program), program, daemon)
                            kind = info[0]
                            # Busy logs write many lines in the same second: its time is
                            # worked out once (the minute from the clock, plus the seconds).
                            second = line[:15]
                            if second != last_second:
                                last_second = second
                                second_ts = None
                                key = second[:12]
                                if key != last_key:
                                    base = minute(key)
                                    last_key = key
                                # Seconds that are not digits: the general path says unparsed.
                                base_ok = base is not None and second[13:15].isdecimal()
                            if kind is not None and base_ok:
                                ts = None
                                if ranged:
                                    if second_ts is None:
                                        assert base is not None
                                        second_ts = base + int(line[13:15])
                                    ts = second_ts
                                    if (since is not None and ts < since) or (
                                        until is not None and ts > until
                                    ):
                                        out_of_range += 1
                                        parsed += 1
                                        continue
                                if kind == "postfix":
                                    # parse is a function of (daemon, message) alone: a message
                                    # without a queue id that repeats word for word (the same
                                    # TLS warning, SSL error or reject from the same client)
                                    # reuses its event. Events are immutable tuples.
                                    msg = line[c + 2 :]
                                    ck = (info[2], msg)
                                    ev = repeats.get(ck)
                                    if ev is None:
                                        ev = parse_postfix(info[2], msg, line)
                                        tev = type(ev)
                                        if len(msg) <= REPEAT_CHARS and (
                                            tev in _NO_QUEUE_ID
                                            or (isinstance(ev, Reject) and not ev.qid)
                                        ):
                                            if len(repeats) >= MAX_REPEATS:
                                                repeats.clear()
                                            repeats[ck] = ev
                                else:
                                    if kind == "exim":
                                        exim_context = True
                                    ev = _parse(kind, info[1], line[c + 2 :], line, paniclog)
                                if ev is UNPARSED:
                                    unparsed += 1
                                    if on_unparsed is not None:
                                        on_unparsed(line)
                                    continue
                                parsed += 1
                                if not first_fast:
                                    first_fast = line
                                last_fast = line
                                if kind not in mtas:
                                    mtas.add(kind)
                                if ev is None:
                                    continue
                                if ts is None:
                                    if second_ts is None:
                                        assert base is not None
                                        second_ts = base + int(line[13:15])
                                    ts = second_ts
                                if type(ev) is list:
                                    for e in ev:
                                        feed(e, ts, line)
                                else:
                                    handler = handlers.get(type(ev))
                                    if handler is not None:
                                        handler(ev, ts, line)
                                if on_event is not None:
                                    on_event(ev, line)
                                continue
                # -- general path ------------------------------------------------------
                h = split(line)
                if h is None:
                    if exim_context and exim.continuation(line):
                        parsed += 1
                    else:
                        unparsed += 1
                        if on_unparsed is not None:
                            on_unparsed(line)
                    continue
                fmt = h[0]
                program = h[3]
                if fmt == "exim":
                    kind2: str | None = "exim"
                    ts = clock.iso(h[1])
                    exim_context = True
                else:
                    kind2 = software(program)
                    ts = clock.syslog(h[1]) if fmt != "iso" else clock.iso(h[1])
                    if kind2 == "exim":
                        exim_context = True
                if kind2 is None or ts is None:
                    unparsed += 1
                    if on_unparsed is not None:
                        on_unparsed(line)
                    continue
                if (since is not None and ts < since) or (until is not None and ts > until):
                    out_of_range += 1
                    parsed += 1
                    continue
                if first is None or ts < first:
                    first = ts
                if last is None or ts > last:
                    last = ts
                ev = _parse(kind2, program, h[4], line, paniclog)
                if ev is UNPARSED:
                    unparsed += 1
                    if on_unparsed is not None:
                        on_unparsed(line)
                    continue
                parsed += 1
                if kind2 not in mtas:
                    mtas.add(kind2)
                if ev is None:
                    continue
                if type(ev) is list:
                    for e in ev:
                        feed(e, ts, line)
                else:
                    feed(ev, ts, line)
                if on_event is not None:
                    on_event(ev, line)
    finally:
        for edge in (first_fast, last_fast, first_edge, last_edge):
            t = clock.minute(edge[:12]) if edge[13:15].isdecimal() else None
            if t is not None:
                t += int(edge[13:15])
                if last is None or t > last:
                    last = t
                if first is None or t < first:
                    first = t
        s.lines += lines
        s.parsed += parsed
        s.unparsed += unparsed
        s.out_of_range += out_of_range
        s.overlong += overlong
        s.first = first
        s.last = last
