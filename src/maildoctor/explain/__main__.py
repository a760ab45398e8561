"""`python -m maildoctor.explain --markdown` prints docs/explain.md from the knowledge data."""

from __future__ import annotations

import sys

from maildoctor.explain.knowledge import load
from maildoctor.explain.render import render_markdown


def main(argv: list[str]) -> int:
    if argv != ["--markdown"]:
        print("usage: python -m maildoctor.explain --markdown > docs/explain.md", file=sys.stderr)
        return 2
    sys.stdout.write(render_markdown(load()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
