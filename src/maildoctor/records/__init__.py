"""No-I/O parsers and evaluators of published policy: SPF, DMARC, DKIM, MTA-STS, TLS-RPT."""
