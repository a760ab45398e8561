"""maildoctor: finds out why a mail server does not work and says how to fix it."""

__version__ = "0.1.0"
