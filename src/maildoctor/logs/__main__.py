"""`python -m maildoctor.logs FILE...`: the logs command without the typer CLI."""

import sys

from maildoctor.logs.command import main

sys.exit(main())
