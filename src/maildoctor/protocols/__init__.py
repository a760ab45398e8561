"""Mail protocols without I/O: bytes in, typed replies out (SMTP, IMAP, POP3)."""
