"""Log line parsing: prefixes, timestamps (New Year), MTA detection, per-MTA events, causes."""

from __future__ import annotations

import calendar
import time

import pytest

from maildoctor.logs import dovecot, exim, postfix, sendmail
from maildoctor.logs import model as m
from maildoctor.logs.clock import Clock, iso_utc, parse_time_arg
from maildoctor.logs.header import software, split
from maildoctor.logs.reader import rotation_order
from maildoctor.logs.reasons import dnsbl_zone, normalise


def test_header_formats() -> None:
    h = split("Nov 28 05:44:45 mx postfix/submission/smtpd[20112]: connect from a[1.2.3.4]")
    assert h is not None
    assert (h.fmt, h.ts, h.host, h.program, h.msg) == (
        "syslog",
        "Nov 28 05:44:45",
        "mx",
        "postfix/submission/smtpd",
        "connect from a[1.2.3.4]",
    )
    h = split("Nov  1 05:44:46 imap-login: Info: Login: user=<a@b>, rip=1.2.3.4")
    assert h is not None and (h.fmt, h.ts, h.host, h.program) == (
        "dovecot",
        "Nov  1 05:44:46",
        "",
        "imap-login",
    )
    h = split("2026-11-28T05:44:45.123456+01:00 mx postfix/qmgr[9]: ABC123DEF: removed")
    assert h is not None and (h.fmt, h.program, h.msg) == (
        "iso",
        "postfix/qmgr",
        "ABC123DEF: removed",
    )
    h = split("2026-11-28T05:44:45+0000 mx dovecot[77]: imap-login: Login: user=<a>")
    assert h is not None and (h.ts, h.program, h.msg) == (
        "2026-11-28T05:44:45+0000",
        "dovecot",
        "imap-login: Login: user=<a>",
    )
    h = split("2026-11-28 05:44:45.123 +0100 [4242] 1tGdKr-000B1x-2Q Completed")
    assert h is not None and (h.fmt, h.ts, h.msg) == (
        "exim",
        "2026-11-28 05:44:45.123 +0100",
        "1tGdKr-000B1x-2Q Completed",
    )
    assert split("garbage without a prefix") is None
    assert split("") is None


@pytest.mark.parametrize(
    ("program", "kind"),
    [
        ("postfix/smtpd", "postfix"),
        ("postfix-faults/smtp/smtpd", "postfix"),
        ("imap-login", "dovecot"),
        ("imap(alice@good.test)<1><s>", "dovecot"),
        ("dovecot", "dovecot"),
        ("sm-mta", "sendmail"),
        ("sendmail", "sendmail"),
        ("exim4", "exim"),
        ("opendkim", "other"),
        ("kernel", None),
        ("CRON", None),
    ],
)
def test_software_detection(program: str, kind: str | None) -> None:
    assert software(program) == kind


def test_syslog_year_and_new_year_crossing() -> None:
    # The file was last written on 2 Jan 2027: its December lines are from 2026.
    ref = time.mktime((2027, 1, 2, 12, 0, 0, 0, 0, -1))
    clock = Clock(ref)
    dec = clock.syslog("Dec 31 23:59:58")
    jan = clock.syslog("Jan  1 00:00:03")
    assert dec is not None and jan is not None
    assert time.localtime(dec)[:6] == (2026, 12, 31, 23, 59, 58)
    assert time.localtime(jan)[:6] == (2027, 1, 1, 0, 0, 3)
    assert jan - dec == 5
    # A log that does not cross: same year as the reference.
    clock = Clock(time.mktime((2026, 11, 28, 12, 0, 0, 0, 0, -1)))
    t = clock.syslog("Nov 28 05:44:45")
    assert t is not None and time.localtime(t)[:3] == (2026, 11, 28)
    assert Clock(ref).syslog("Xyz 28 05:44:45") is None
    assert Clock(ref).syslog("Nov 28 25:44:45") is None


def test_iso_timestamps_agree() -> None:
    clock = Clock()
    want = calendar.timegm((2026, 11, 28, 5, 44, 45))
    assert clock.iso("2026-11-28T05:44:45Z") == want
    assert clock.iso("2026-11-28T06:44:45+01:00") == want
    assert clock.iso("2026-11-28T06:44:45+0100") == want  # journalctl -o short-iso
    assert clock.iso("2026-11-28T05:44:45.250000+00:00") == want + 0.25
    assert clock.iso("2026-11-28 06:44:45 +0100") == want  # Exim with +tod_log zone
    assert clock.iso("2026-13-28T05:44:45Z") is None
    assert iso_utc(want) == "2026-11-28T05:44:45Z"


def test_parse_time_arg() -> None:
    now = calendar.timegm((2026, 11, 28, 12, 0, 0))
    assert parse_time_arg("2h", now) == now - 7200
    assert parse_time_arg("30 min ago", now) == now - 1800
    assert parse_time_arg("2026-11-28T05:00:00+00:00", now) == calendar.timegm(
        (2026, 11, 28, 5, 0, 0)
    )
    with pytest.raises(ValueError, match="not a time"):
        parse_time_arg("last tuesday", now)


def test_rotation_order() -> None:
    given = ["/v/mail.log", "/v/mail.log.1", "/v/mail.log.10.gz", "/v/mail.log.2.gz"]
    assert rotation_order(given) == [
        "/v/mail.log.10.gz",
        "/v/mail.log.2.gz",
        "/v/mail.log.1",
        "/v/mail.log",
    ]
    assert rotation_order(["/v/maillog", "/v/maillog-20261120.gz", "/v/maillog-20261113"]) == [
        "/v/maillog-20261113",
        "/v/maillog-20261120.gz",
        "/v/maillog",
    ]


# -- Postfix --------------------------------------------------------------------------------


def test_postfix_lifecycle_lines() -> None:
    ev = postfix.parse(
        "smtpd",
        "F22B11640DC: client=client1.lab.test[127.0.20.1], sasl_method=PLAIN, "
        "sasl_username=alice@good.test",
        "",
    )
    assert ev == m.Client("F22B11640DC", "127.0.20.1", "alice@good.test")
    ev = postfix.parse(
        "qmgr", "F22B11640DC: from=<alice@good.test>, size=542, nrcpt=3 (queue active)", ""
    )
    assert ev == m.Sender("F22B11640DC", "alice@good.test", 542, 3)
    ev = postfix.parse(
        "smtp",
        "064E4164320: to=<someone@closed.test>, relay=none, delay=0.03, delays=0.01/0.01/0/0, "
        "dsn=4.4.1, status=deferred "
        "(connect to mx.closed.test[127.0.10.13]:25: Connection refused)",
        "",
    )
    assert ev == m.Delivery(
        "064E4164320",
        "someone@closed.test",
        "deferred",
        "4.4.1",
        "connect to mx.closed.test[127.0.10.13]:25: Connection refused",
        0.03,
    )
    assert postfix.parse("qmgr", "F22B11640DC: removed", "") == m.Removed("F22B11640DC")
    assert postfix.parse(
        "qmgr", "3T4Xyz0Jqnz1fQ4: from=<a@b.example>, status=expired, returned to sender", ""
    ) == m.Expired("3T4Xyz0Jqnz1fQ4")
    assert postfix.parse("pickup", "ABCDEF12345: uid=0 from=<root>", "") == m.Client(
        "ABCDEF12345", "local", None
    )
    assert postfix.parse(
        "bounce", "0395616431E: sender non-delivery notification: 0B80C16428D", ""
    ) == m.Dsn("0395616431E", "0B80C16428D")


def test_postfix_rejects_and_warnings() -> None:
    ev = postfix.parse(
        "smtpd",
        "NOQUEUE: reject: RCPT from client2.lab.test[127.0.20.2]: 554 5.7.1 <x@example.com>: "
        "Relay access denied; from=<partner@lab.test> to=<x@example.com> proto=ESMTP helo=<c>",
        "",
    )
    assert isinstance(ev, m.Reject)
    assert (ev.ip, ev.stage, ev.code, ev.sender, ev.rcpt) == (
        "127.0.20.2",
        "RCPT",
        "554 5.7.1",
        "partner@lab.test",
        "x@example.com",
    )
    ev = postfix.parse(
        "postscreen",
        "NOQUEUE: reject: RCPT from [203.0.113.9]:4711: 550 5.7.1 Service unavailable; client "
        "[203.0.113.9] blocked using zen.spamhaus.org; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>",
        "",
    )
    assert isinstance(ev, m.Reject) and ev.ip == "203.0.113.9"
    ev = postfix.parse(
        "smtpd",
        "warning: attacker.lab.test[127.0.20.66]: SASL PLAIN authentication failed: "
        "(reason unavailable), sasl_username=alice@good.test",
        "",
    )
    assert ev == m.AuthFailure("127.0.20.66", "alice@good.test", "smtp", 1)
    ev = postfix.parse(
        "smtpd", "warning: unknown[192.0.2.8]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", ""
    )
    assert ev == m.AuthFailure("192.0.2.8", "", "smtp", 1)
    ev = postfix.parse("smtpd", "warning: 2061A16435F: queue file size limit exceeded", "")
    assert ev == m.SizeRejected(
        "", "2061A16435F", "warning: 2061A16435F: queue file size limit exceeded"
    )
    ev = postfix.parse(
        "smtpd",
        "warning: Connection rate limit exceeded: 61 from unknown[192.0.2.5] for service smtp",
        "",
    )
    assert isinstance(ev, m.RateLimited) and (ev.ip, ev.kind) == ("192.0.2.5", "connection rate")
    ev = postfix.parse("smtpd", "fatal: open /etc/postfix/main.cf: Permission denied", "")
    assert isinstance(ev, m.Fault) and ev.level == "fatal"
    ev = postfix.parse(
        "master", "warning: process /usr/lib/postfix/sbin/smtpd pid 9 killed by signal 11", ""
    )
    assert isinstance(ev, m.Fault) and ev.level == "crash"
    ev = postfix.parse("smtps/smtpd", "SSL_accept error from client2.lab.test[127.0.20.2]: -1", "")
    assert ev == m.TlsFailure(
        "127.0.20.2", "in", "SSL_accept error from client2.lab.test[127.0.20.2]: -1"
    )
    assert postfix.parse("smtpd", "connect from client1.lab.test[127.0.20.1]", "") is None
    assert postfix.parse("cleanup", "F22B11640DC: message-id=<x@y>", "") is None
    assert postfix.parse("smtpd", "something postfix never wrote", "") is postfix.UNPARSED


# -- Dovecot -------------------------------------------------------------------------------


def test_dovecot_file_and_syslog_forms() -> None:
    login = "Login: user=<alice@good.test>, method=PLAIN, rip=127.0.20.1, lip=127.0.10.1, TLS"
    assert dovecot.parse("imap-login", "Info: " + login, "") == m.LoginOk(
        "127.0.20.1", "alice@good.test", "imap"
    )
    assert dovecot.parse("dovecot", "imap-login: " + login, "") == m.LoginOk(
        "127.0.20.1", "alice@good.test", "imap"
    )
    failed = (
        "Disconnected: Aborted login by logging out (auth failed, 3 attempts in 9 secs): "
        "user=<carol@good.test>, method=PLAIN, rip=127.0.20.66, lip=127.0.10.1, TLS"
    )
    assert dovecot.parse("pop3-login", "Info: " + failed, "") == m.AuthFailure(
        "127.0.20.66", "carol@good.test", "pop3", 3
    )
    # Dovecot 2.2 wording
    old = (
        "Aborted login (auth failed, 1 attempts in 2 secs): user=<bob>, method=PLAIN, rip=192.0.2.4"
    )
    assert dovecot.parse("dovecot", "imap-login: " + old, "") == m.AuthFailure(
        "192.0.2.4", "bob", "imap", 1
    )
    ev = dovecot.parse(
        "auth", "Info: passwd-file(alice@good.test,127.0.20.66,<MBz>): Password mismatch", ""
    )
    assert ev == m.AuthBackendFailure("127.0.20.66", "alice@good.test")
    ev = dovecot.parse(
        "lmtp(bob@good.test)<1><s>",
        "Error: msgid=<x@y>: save failed to INBOX: Quota exceeded (mailbox for user is full)",
        "L",
    )
    assert ev == m.MailboxFull("bob@good.test", "L")
    ev = dovecot.parse(
        "master",
        "Warning: service(imap-login): process_limit (100) reached, "
        "client connections are being dropped",
        "L",
    )
    assert ev == m.RateLimited("", "process limit", "L")
    ev = dovecot.parse("master", "Fatal: Dovecot is already running with PID 1234", "L")
    assert ev == m.Fault("fatal", "dovecot/master", "L")
    tls = (
        "Info: Disconnected: Connection closed: SSL_accept() failed: error:0A000102:SSL "
        "routines::unsupported protocol (no auth attempts in 0 secs): user=<>, rip=127.0.20.66"
    )
    assert dovecot.parse("imap-login", tls, "L") == m.TlsFailure("127.0.20.66", "in", "L")


# -- Exim and Sendmail ---------------------------------------------------------------------


def test_exim_lines() -> None:
    new_id = "1tGdKr-0000000B1xQ-2QaB"  # Exim 4.97+ id form
    assert exim.parse(f"{new_id} Completed", "") == m.Removed(new_id)
    ev = exim.parse(
        "1tGdKr-000B1x-2Q <= alice@example.org H=(laptop) [192.0.2.10]:52814 P=esmtpsa "
        "A=dovecot_plain:alice@example.org S=2345 id=x@y",
        "",
    )
    assert ev == [
        m.Client("1tGdKr-000B1x-2Q", "192.0.2.10", "alice@example.org"),
        m.Sender("1tGdKr-000B1x-2Q", "alice@example.org", 2345, 0),
    ]
    ev = exim.parse("1tGcQz-000AzZ-4D ** grace@down.example: retry timeout exceeded", "")
    assert isinstance(ev, m.Delivery) and (ev.rcpt, ev.status) == ("grace@down.example", "expired")
    assert exim.parse("a line exim never wrote", "") is postfix.UNPARSED
    assert exim.parse("anything at all", "L", paniclog=True) == m.Fault("panic", "exim", "L")
    assert exim.continuation("Envelope-from: <a@b>")
    assert exim.continuation("P Received: from x")
    assert exim.continuation("\tby mx.example.org")
    assert not exim.continuation("random words here")


def test_sendmail_lines() -> None:
    ev = sendmail.parse(
        "4AR81A1x002201: to=<bob@partner.example>,<carol@partner.example>, delay=00:00:02, "
        "mailer=esmtp, relay=mx.partner.example. [198.51.100.25], dsn=2.0.0, stat=Sent (Ok)",
        "",
    )
    assert isinstance(ev, list) and [d.rcpt for d in ev] == [
        "bob@partner.example",
        "carol@partner.example",
    ]
    assert all(d.status == "sent" for d in ev)
    ev = sendmail.parse(
        "AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: "
        "checkpass failed, user=admin, relay=[192.0.2.77]",
        "",
    )
    assert ev == m.AuthFailure("192.0.2.77", "admin", "smtp", 1)
    ev = sendmail.parse(
        "4AR900Ax002300: ruleset=check_rcpt, arg1=<a@elsewhere.net>, relay=bad.example "
        "[198.51.100.23], reject=550 5.7.1 <a@elsewhere.net>... Relaying denied",
        "",
    )
    assert isinstance(ev, m.Reject) and (ev.ip, ev.rcpt) == ("198.51.100.23", "a@elsewhere.net")


# -- causes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dsn", "cause"),
    [
        (
            "host mx[1.2.3.4] said: 550 5.1.1 <a@b>: Recipient address rejected: User unknown",
            "5.1.1",
            "user unknown",
        ),
        (
            "550 5.1.1 The email account that you tried to reach does not exist.",
            "5.1.1",
            "user unknown",
        ),
        (
            "452 4.2.2 The email account that you tried to reach is over quota.",
            "4.2.2",
            "mailbox full",
        ),
        ("552 5.2.2 Mailbox full", "", "mailbox full"),
        (
            "554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org",
            "",
            "blocked by DNSBL zen.spamhaus.org",
        ),
        (
            "550 5.7.1 Rejected: 1.2.3.4 listed at b.barracudacentral.org",
            "",
            "blocked by DNSBL b.barracudacentral.org",
        ),
        (
            "550 5.7.1 Mail from 1.2.3.4 refused, see https://www.spamcop.net/bl.shtml?1.2.3.4",
            "",
            "blocked by DNSBL spamcop",
        ),
        (
            "450 4.2.0 <a@b>: Recipient address rejected: Greylisted, see http://postgrey",
            "",
            "greylisted",
        ),
        (
            "550 5.7.26 Unauthenticated email from x.example is not accepted due to "
            "domain's DMARC policy",
            "",
            "DMARC rejection",
        ),
        ("connect to mx.x[1.2.3.4]:25: Connection timed out", "4.4.1", "connection timed out"),
        ("connect to mx.x[1.2.3.4]:25: Connection refused", "4.4.1", "connection refused"),
        (
            "Host or domain name not found. Name service error for name=x type=MX",
            "5.4.4",
            "host or domain not found",
        ),
        ("TLS is required, but was not offered by host mx.x[1.2.3.4]", "4.7.4", "TLS failure"),
        ("552 5.3.4 Message size exceeds fixed limit", "", "message too large"),
        (
            "421 4.7.28 Our system has detected an unusual rate of unsolicited mail",
            "",
            "rate limited",
        ),
        (
            "554 5.7.1 The message was rejected because it contains prohibited virus or "
            "spam content",
            "",
            "spam / content rejected",
        ),
        ("451 4.3.0 Temporary lookup failure", "4.3.0", "other (4.3.0)"),
        ("mail for good.test loops back to myself", "5.4.6", "mail loop"),
        ("Too many hops", "", "mail loop"),
    ],
)
def test_normalised_causes(text: str, dsn: str, cause: str) -> None:
    assert normalise(text, dsn) == cause


def test_dnsbl_zone_none() -> None:
    assert dnsbl_zone("550 5.1.1 user unknown") is None
