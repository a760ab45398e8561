"""The no-I/O protocol layers: SMTP replies and EHLO, IMAP and POP3 responses, redaction."""

import pytest

from maildoctor.evidence.smtp import Reply
from maildoctor.net.stream import Transcript, printable, redact
from maildoctor.protocols import imap, pop3
from maildoctor.protocols.smtp import (
    SmtpSyntaxError,
    greeting_hostname,
    is_last_line,
    parse_ehlo,
    parse_reply,
)

EHLO = [
    b"250-mx.example.com Hello [192.0.2.1]",
    b"250-PIPELINING",
    b"250-SIZE 52428800",
    b"250-VRFY",
    b"250-ETRN",
    b"250-STARTTLS",
    b"250-AUTH PLAIN LOGIN",
    b"250-AUTH=PLAIN LOGIN CRAM-MD5",
    b"250-ENHANCEDSTATUSCODES",
    b"250-8BITMIME",
    b"250-SMTPUTF8",
    b"250 CHUNKING",
]


def test_multiline_reply_and_ehlo_keywords() -> None:
    assert [is_last_line(x) for x in EHLO] == [False] * 11 + [True]
    reply = parse_reply(EHLO)
    assert reply.code == 250 and len(reply.lines) == 12
    ehlo = parse_ehlo(reply)
    assert ehlo.hostname == "mx.example.com"
    assert ehlo.size == 52428800
    assert ehlo.auth == ("PLAIN", "LOGIN", "CRAM-MD5")  # AUTH= form merged, no duplicates
    for kw in ("STARTTLS", "PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "VRFY"):
        assert ehlo.has(kw)
    assert ehlo.starttls and not ehlo.has("DSN")


def test_size_without_value_means_no_declared_limit() -> None:
    # RFC 1870 4: "SIZE" alone (or SIZE 0) declares no fixed limit.
    assert parse_ehlo(parse_reply([b"250-a.example", b"250 SIZE"])).size == 0
    assert parse_ehlo(parse_reply([b"250 a.example"])).size is None


def test_greeting_and_single_line() -> None:
    reply = parse_reply([b"220 mx.example.com ESMTP Postfix"])
    assert reply == Reply(220, ("mx.example.com ESMTP Postfix",))
    assert greeting_hostname(reply) == "mx.example.com"
    assert parse_reply([b"554"]).code == 554  # RFC 5321 4.2: text is optional


@pytest.mark.parametrize(
    "lines",
    [
        [b"\x00\x01\xff garbage"],
        [b"HTTP/1.1 400 Bad Request"],
        [b"220-first", b"250 second"],  # RFC 5321 4.2.1: one code per reply
        [b"220 last", b"220 again"],
        [],
    ],
)
def test_garbage_is_a_syntax_error(lines: list[bytes]) -> None:
    with pytest.raises(SmtpSyntaxError):
        parse_reply(lines)


def test_garbage_line_ends_the_read_at_once() -> None:
    assert is_last_line(b"\xff\xfe binary")
    assert not is_last_line(b"220-more")


def test_imap_greeting_capabilities_and_tagged_replies() -> None:
    g = imap.parse_greeting(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready")
    assert g.ok and g.capabilities == ("IMAP4REV1", "STARTTLS", "LOGINDISABLED")
    assert imap.parse_greeting(b"* BYE too many connections").status == "BYE"
    assert not imap.parse_greeting(b"220 smtp here").ok
    end = imap.tagged_end(b"md1")
    lines = [b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN", b"md1 OK done"]
    assert [end(x) for x in lines] == [False, True]
    assert imap.tagged_status(lines, b"md1") == "OK"
    caps = imap.capabilities(lines)
    assert caps == ("IMAP4REV1", "STARTTLS", "AUTH=PLAIN")
    # RFC 3501 6.2.3: no LOGINDISABLED means LOGIN works in clear.
    assert imap.login_allowed_in_clear(caps)
    assert not imap.login_allowed_in_clear(("IMAP4REV1", "STARTTLS", "LOGINDISABLED"))


def test_pop3_status_and_capa() -> None:
    assert pop3.status(b"+OK Dovecot ready.") == "+OK"
    assert pop3.status(b"-ERR no") == "-ERR"
    assert pop3.status(b"* OK imap") == ""
    end = pop3.multiline_end()
    lines = [b"+OK", b"CAPA", b"TOP", b"UIDL", b"STLS", b"SASL PLAIN LOGIN", b"."]
    assert [end(x) for x in lines] == [False] * 6 + [True]
    caps = pop3.capabilities(lines)
    assert "STLS" in caps and "SASL PLAIN LOGIN" in caps
    assert pop3.login_allowed_in_clear(caps)
    assert not pop3.login_allowed_in_clear(("TOP", "UIDL", "STLS"))
    assert pop3.multiline_end()(b"-ERR not supported")  # an error ends at once


def test_credentials_never_reach_the_transcript() -> None:
    assert redact(b"AUTH PLAIN AHVzZXIAc2VjcmV0") == b"AUTH PLAIN [redacted]"
    assert redact(b"a1 LOGIN alice s3cret") == b"a1 LOGIN [redacted]"
    assert redact(b"PASS s3cret") == b"PASS [redacted]"
    assert redact(b"EHLO example.com") == b"EHLO example.com"
    t = Transcript()
    t.client(b"AUTH LOGIN")
    t.server(b"334 VXNlcm5hbWU6")
    t.client(b"YWxpY2U=")  # the user name, base64
    t.server(b"334 UGFzc3dvcmQ6")
    t.client(b"czNjcmV0")  # the password, base64
    t.server(b"235 2.7.0 Authentication successful")
    t.client(b"MAIL FROM:<a@example.com>")
    text = "\n".join(t.lines)
    assert "YWxpY2U=" not in text and "czNjcmV0" not in text
    assert text.count("C: [redacted]") == 2 and "C: MAIL FROM:<a@example.com>" in text


def test_transcript_is_bounded_and_printable() -> None:
    t = Transcript()
    for i in range(1000):
        t.server(f"220-line {i}".encode())
    assert len(t.lines) == 201 and t.lines[-1] == "... (transcript cut)"
    assert printable(b"\x00\x1b[31mred") == "\\x00\\x1b[31mred"
    assert len(printable(b"x" * 100_000)) < 400
