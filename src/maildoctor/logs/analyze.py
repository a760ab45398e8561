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
from maildoctor.logs.model import LogSummary, Thresholds
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


# Postfix lines that parse to no event (see postfix._FAST_BENIGN), whole, newline included.
# RFC 3164 4.1.2 timestamp; the same ranges clock.Clock accepts.
PREFILTER = re.compile(
    r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?: [1-9]|[12]\d|3[01]) "
    r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d [^ \n]+ postfix[^ \n:\[]*\[\d+\]: "
    r"(?:connect from |disconnect from |Anonymous TLS connection |lost connection after "
    r"|[0-9A-Za-z]{6,16}: message-id=)[^\n]*\n",
    re.M,
)
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
    import multiprocessing

    mtime = os.path.getmtime(path)
    plain = Options(since=opts.since, until=opts.until, thresholds=opts.thresholds)
    jobs = [(path, a, b, mtime, (plain.since, plain.until, plain.thresholds)) for a, b in ranges]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(jobs)) as pool:
        for part in pool.imap(_work, jobs):
            s.merge(part)
    for message in s.input_errors:
        if opts.on_error:
            opts.on_error(message)


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
    source: Iterator[tuple[str | list[str], bool]],
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
    prefilter = None if ranged else PREFILTER
    on_unparsed, on_event = opts.on_unparsed, opts.on_event
    feed = s.feed
    mtas = s.mtas
    # program field as written (with [pid]) -> (software, program without pid)
    programs: dict[str, tuple[str | None, str]] = {}
    minute = clock.minute
    parse_postfix = postfix.parse
    lines = parsed = unparsed = out_of_range = overlong = 0
    first = s.first
    last = s.last
    exim_context = False
    last_key = ""
    base: float | None = None
    first_fast = last_fast = ""  # first and last fast-path lines: the stream's time span
    first_edge = last_edge = ""  # the same among the lines the prefilter sees
    try:
        for chunk, long in source:
            if long:
                overlong += 1
            if isinstance(chunk, str):
                if prefilter is not None:
                    # Edges first: their times bound the stream even if the prefilter drops them.
                    for edge in (chunk.partition("\n")[0], chunk.rpartition("\n")[2]):
                        if edge[9:10] == ":" and edge[15:16] == " " and edge[:3] in MONTHS:
                            if not first_edge:
                                first_edge = edge
                            last_edge = edge
                    kept, dropped = prefilter.subn("", chunk + "\n")
                    lines += dropped
                    parsed += dropped
                    if dropped and "postfix" not in mtas:
                        mtas.add("postfix")
                    batch = kept[:-1].split("\n") if kept else []
                else:
                    batch = chunk.split("\n")
            else:
                batch = chunk
            lines += len(batch)
            for line in batch:
                # -- fast path: "Mmm dd hh:mm:ss host program[pid]: msg" ----------------
                if line[9:10] == ":" and line[15:16] == " ":
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
                                info = programs[field] = (software(program), program)
                            kind = info[0]
                            key = line[:12]
                            if key != last_key:
                                base = minute(key)
                                last_key = key
                            if kind is not None and base is not None:
                                ts = None
                                if ranged:
                                    ts = base + int(line[13:15])
                                    if (since is not None and ts < since) or (
                                        until is not None and ts > until
                                    ):
                                        out_of_range += 1
                                        parsed += 1
                                        continue
                                if kind == "postfix":
                                    program = info[1]
                                    ev = parse_postfix(
                                        program[program.rfind("/") + 1 :], line[c + 2 :], line
                                    )
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
                                    ts = base + int(line[13:15])
                                if type(ev) is list:
                                    for e in ev:
                                        feed(e, ts, line)
                                else:
                                    feed(ev, ts, line)
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
            t = clock.minute(edge[:12]) if edge else None
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
