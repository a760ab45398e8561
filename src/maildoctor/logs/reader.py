"""Reading logs: plain, .gz, .bz2, .xz (by content, not by name), stdin, rotated series in
time order, and following a growing file across rotation. Lines are bounded.

Blocks of BLOCK bytes are read and split into lines; a line longer than MAX_LINE keeps its
first MAX_LINE bytes and the rest is skipped as it streams past, so a 10 MB line costs at
most one block and one head in memory. Decompression is done with the incremental
decompressors, so a truncated or corrupt archive yields every line before the damage and
then an InputError naming it.
"""

from __future__ import annotations

import bz2
import lzma
import os
import re
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

BLOCK = 1 << 20
MAX_LINE = 16 * 1024


class InputError(Exception):
    """A file could not be read to its end (truncated or corrupt archive, I/O error)."""


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def _magic(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return "plain"


def _new(kind: str) -> _Decompressor:
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


class Decompressing:
    """read(n) over a compressed stream, multi-member aware; raises InputError at the end of a
    truncated or corrupt stream only after everything decodable has been returned."""

    def __init__(self, raw: BinaryIO, kind: str, name: str) -> None:
        self.raw = raw
        self.kind = kind
        self.name = name
        self.d = _new(kind)
        self.done = False
        self.pending = b""
        self.error: str | None = None

    def close(self) -> None:
        self.raw.close()

    def read(self, size: int) -> bytes:
        out: list[bytes] = []
        got = 0
        while got < size and not self.done:
            data = self.pending or self.raw.read(256 * 1024)
            self.pending = b""
            if not data:
                self.done = True
                if not self.d.eof:
                    self.error = f"{self.kind} data ends early (truncated file)"
                break
            try:
                chunk = self.d.decompress(data)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
                self.done = True
                self.error = f"corrupt {self.kind} data ({exc})"
                break
            if chunk:
                out.append(chunk)
                got += len(chunk)
            if self.d.eof:
                rest = self.d.unused_data
                if rest.strip(b"\x00"):
                    self.d = _new(self.kind)  # another member (concatenated archives)
                    self.pending = rest
                elif not self.pending:
                    more = self.raw.read(256 * 1024)
                    if more.strip(b"\x00"):
                        self.d = _new(self.kind)
                        self.pending = more
                    else:
                        self.done = True
        if not out and self.error:
            error, self.error = self.error, None
            raise InputError(f"{self.name}: {error}; every line before the damage was read")
        return b"".join(out)


def open_log(path: str) -> tuple[BinaryIO | Decompressing, float | None]:
    """Open a log by name ("-" is stdin); returns the stream and the file's mtime."""
    if path == "-":
        raw: BinaryIO = sys.stdin.buffer
        mtime = None
    else:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
        mtime = os.fstat(raw.fileno()).st_mtime
    head = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    kind = _magic(head)
    if kind == "plain":
        return raw, mtime
    return Decompressing(raw, kind, path), mtime


def blocks(stream: Readable) -> Iterator[tuple[bytes | str | list[str], bool]]:
    """Yield (lines, overlong): complete lines, as bytes or one text (see _split) or a list; an
    overlong line comes alone, cut to MAX_LINE bytes, with overlong=True."""
    buf = b""
    skipping = False  # inside an overlong line, discarding until its newline
    while True:
        try:
            block = stream.read(BLOCK)
        except InputError:
            if buf or skipping:  # the partial last line before the damage, then the error
                yield [buf.decode("utf-8", "replace")], skipping
            raise
        if not block:
            break
        if skipping:
            nl = block.find(b"\n")
            if nl < 0:
                continue
            skipping = False
            yield [buf.decode("utf-8", "replace")], True
            buf = b""
            block = block[nl + 1 :]
        data = buf + block if buf else block
        last = data.rfind(b"\n")
        if last < 0:
            if len(data) > MAX_LINE:
                buf = data[:MAX_LINE]
                skipping = True
            else:
                buf = data
            continue
        chunk = data[:last]
        buf = data[last + 1 :]
        if len(buf) > MAX_LINE:
            buf = buf[:MAX_LINE]
            skipping = True
        yield from _split(chunk)
    if buf or skipping:
        yield [buf.decode("utf-8", "replace")], skipping


# A line over MAX_LINE // 4 characters (the bound _split checks exactly) has more than that
# many bytes, so at least 2 * _WINDOW - 1 bytes without a newline: it covers one of the
# _WINDOW-sized windows that start at multiples of _WINDOW. If every such window holds a
# newline, no line is long.
_WINDOW = MAX_LINE // 8


def _maybe_long(data: bytes) -> bool:
    """False when no line of `data` can be over MAX_LINE // 4 characters; True when one may be.
    A find() per window, each stopping at the first newline: no copy, no list of lines."""
    find = data.find
    return any(find(b"\n", k, k + _WINDOW) < 0 for k in range(0, len(data) - _WINDOW + 1, _WINDOW))


def _split(chunk: bytes) -> Iterator[tuple[bytes | str | list[str], bool]]:
    """Complete lines (without the final newline) as the bytes read, CRLF made LF: the
    analyser runs its prefilter on them and decodes only the lines it keeps. When a line may be
    long: as one decoded text, or lists of lines with a line over MAX_LINE cut and alone."""
    data = chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk
    if len(chunk) <= MAX_LINE or not _maybe_long(data):
        yield data, False
        return
    # The bytes decode line by line as the whole does: a newline never belongs to a
    # replaced (invalid) sequence.
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if max(map(len, lines)) <= MAX_LINE // 4:  # 4 bytes per character at most
        yield text, False
        return
    # Rare: some line in this block may be longer than MAX_LINE. Cut it, keep the order.
    run: list[str] = []
    for line in lines:
        raw = line.encode("utf-8", "replace")
        if len(raw) > MAX_LINE:
            if run:
                yield run, False
                run = []
            yield [raw[:MAX_LINE].decode("utf-8", "ignore")], True
        else:
            run.append(line)
    if run:
        yield run, False


_ROTATED = re.compile(r"^(?P<base>.*?)(?:\.(?P<n>\d+)|-(?P<date>\d{8,10}))?(?:\.(?:gz|bz2|xz))?$")


def rotation_order(paths: list[str]) -> list[str]:
    """mail.log.2.gz, mail.log.1, mail.log (and mail.log-20261120.gz before mail.log): oldest
    first, so queue ids join and timestamps run forward. Other names keep their order."""

    def key(item: tuple[int, str]) -> tuple[str, int, str, int]:
        idx, p = item
        if p == "-":
            return ("~stdin", 0, "", idx)
        m = _ROTATED.match(Path(p).name)
        assert m is not None
        base = str(Path(p).parent / m.group("base"))
        if m.group("n"):
            return (base, 0, f"{-int(m.group('n')):012d}", idx)
        if m.group("date"):
            return (base, 1, m.group("date"), idx)
        return (base, 2, "", idx)

    # -N sorts wrong as text; use a numeric key for the rotation number.
    def numeric(item: tuple[int, str]) -> tuple[str, int, float, str, int]:
        base, rank, tag, idx = key(item)
        if rank == 0 and tag:
            return (base, rank, float(tag), "", idx)
        return (base, rank, 0.0, tag, idx)

    return [p for _, p in sorted(enumerate(paths), key=numeric)]


def follow(
    path: str,
    start: int,
    inode: int,
    stop: Callable[[], bool],
    interval: float = 0.5,
) -> Iterator[tuple[bytes | str | list[str], bool]]:
    """Keep reading `path` from byte `start` as it grows; when it is rotated (a new inode at the
    name, or truncated), finish the old file and continue with the new one from its start."""
    f = open(path, "rb")  # noqa: SIM115
    try:
        f.seek(start)
        buf = b""
        while True:
            data = f.read(BLOCK)
            if data:
                buf += data
                last = buf.rfind(b"\n")
                if last >= 0:
                    yield from _split(buf[:last])
                    buf = buf[last + 1 :]
                if len(buf) > MAX_LINE:
                    yield [buf[:MAX_LINE].decode("utf-8", "replace")], True
                    buf = b""
                continue
            if stop():
                break
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and (st.st_ino != inode or st.st_size < f.tell()):
                # Rotated or truncated: the old file is complete; start the new one.
                buf += f.read()
                if buf:
                    yield from _split(buf[:-1] if buf.endswith(b"\n") else buf)
                    buf = b""
                f.close()
                f = open(path, "rb")  # noqa: SIM115
                inode = os.fstat(f.fileno()).st_ino
                continue
            time.sleep(interval)
        if buf:
            yield from _split(buf)
    finally:
        f.close()
