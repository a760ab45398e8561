"""`maildoctor explain "TEXT"`: what a pasted mail error means, why, and how to fix it (offline).

The knowledge lives as data in data/*.toml (one file per family); knowledge.py loads and
validates it, codes.py finds the status codes in the text, matcher.py picks the entries (most
specific first), render.py shows them.
"""

from __future__ import annotations

import sys

from maildoctor.explain.codes import MAX_CHARS
from maildoctor.explain.matcher import Explanation, explain
from maildoctor.report import EXIT_OK, EXIT_USAGE

__all__ = ["Explanation", "explain", "explain_command", "read_stdin"]


def read_stdin(limit: int = MAX_CHARS) -> str:
    """Read at most `limit` characters' worth of stdin (bytes beyond are not read at all)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read(limit + 1)
    # A UTF-8 character is at most 4 bytes; one more so that truncation is noticed.
    data: bytes = stream.read(4 * limit + 1)
    return data.decode("utf-8", errors="replace")


def explain_command(text: str, json: bool) -> int:
    """Explain `text` ("-": read it from stdin); print the answer; return the exit code."""
    if text == "-":
        text = read_stdin()
    if not text.strip("\x00 \t\r\n"):
        print(
            "maildoctor: error: the text to explain is empty: paste the error message in "
            "quotes, or give '-' and pipe it in",
            file=sys.stderr,
        )
        return EXIT_USAGE
    exp = explain(text)
    if json:
        from maildoctor.explain.render import dumps

        print(dumps(exp))
    else:
        from maildoctor.explain.render import render
        from maildoctor.render.terminal import make_console

        render(exp, make_console())
    return EXIT_OK
