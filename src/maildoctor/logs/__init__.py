"""Mail log analysis: line parsers per MTA -> typed events -> streaming summaries -> findings.

    reader.py    files, rotated and compressed ones (.gz .bz2 .xz), stdin, --follow; bounded lines
    clock.py     timestamps: classic syslog (no year, New Year crossing), RFC 3339, journalctl
    header.py    the line prefix: timestamp, host, program, pid -> which MTA wrote it
    postfix.py, dovecot.py, exim.py, sendmail.py   message text -> events (no I/O)
    reasons.py   bounce / deferral / reject replies -> normalised causes
    summary.py   the streaming summariser (bounded state) and its LogSummary result
    analyze.py   files -> LogSummary, on one or both cores
    command.py   `maildoctor logs`

Everything except reader.py and analyze.py is pure: text in, data out.
"""
