"""`python -m maildoctor`."""

from maildoctor.cli import main

main()
