"""Server rules (ports, SMTP, TLS, IMAP/POP3) on hand-built evidence: no network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.mailbox import imap_server, pop3_server
from maildoctor.checks.port import mx_ports, submission_ports
from maildoctor.checks.smtp import helo_matches_ptr, smtp_mx, smtp_submission
from maildoctor.checks.tls import tls_findings, tls_imap
from maildoctor.evidence.dns import DnsResult, DnsStatus
from maildoctor.evidence.mailbox import MailboxEvidence, MailboxSession
from maildoctor.evidence.ptr import PtrEvidence, PtrLookup, PtrName, ServerIp
from maildoctor.evidence.server import StepFailure
from maildoctor.evidence.smtp import Ehlo, RelayTest, Reply, SmtpEvidence, SmtpSession
from maildoctor.evidence.tls import CertInfo, TlsResult
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

NOW = datetime(2026, 6, 1, tzinfo=UTC)
IP = "192.0.2.25"


def ctx() -> CheckContext:
    return CheckContext(Settings(), catalogue.load())


def cert(**kw: object) -> CertInfo:
    base = CertInfo(
        subject="CN=mx.example.com",
        issuer="CN=R3,O=Let's Encrypt",
        names=("mx.example.com", "mail.example.com"),
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=60),
        key_type="RSA",
        key_bits=2048,
        self_signed=False,
        sha256="ab" * 32,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def tls(host: str = "mx.example.com", **kw: object) -> TlsResult:
    base = TlsResult(
        host=host,
        ok=True,
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        chain=(cert(),),
        trusted=True,
        name_matches=True,
        checked_at=NOW,
        legacy_version="",
        legacy_detail="port 25 refused TLS 1.0/1.1",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


EHLO = Ehlo("mx.example.com", ("PIPELINING", "SIZE", "STARTTLS", "8BITMIME"), size=52428800)
EHLO_TLS = Ehlo("mx.example.com", ("PIPELINING", "SIZE", "8BITMIME"), size=52428800)
RELAY_CLOSED = RelayTest(
    "relay-test@maildoctor.example",
    Reply(250, ("2.1.0 Ok",)),
    (("relay-test@maildoctor.invalid", Reply(554, ("5.7.1 Relay access denied",))),),
)


def mx_session(**kw: object) -> SmtpSession:
    base = SmtpSession(
        host="mx.example.com",
        ip=IP,
        port=25,
        connect_s=0.01,
        greeting=Reply(220, ("mx.example.com ESMTP",)),
        greeting_s=0.05,
        greeting_wait_s=10.0,
        ehlo=EHLO,
        starttls_reply=Reply(220, ("Ready",)),
        tls=tls(),
        ehlo_tls=EHLO_TLS,
        vrfy=Reply(252, ("2.0.0 postmaster",)),
        relay=RELAY_CLOSED,
        transcript=("S: 220 mx.example.com ESMTP", "C: EHLO maildoctor.invalid"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def sub_session(port: int = 587, **kw: object) -> SmtpSession:
    auth = Ehlo("mail.example.com", ("SIZE", "AUTH"), size=52428800, auth=("PLAIN", "LOGIN"))
    base = mx_session(
        host="mail.example.com",
        port=port,
        implicit_tls=port == 465,
        ehlo=auth if port == 465 else EHLO,
        ehlo_tls=None if port == 465 else auth,
        starttls_reply=None if port == 465 else Reply(220, ("Ready",)),
        tls=tls("mail.example.com"),
        vrfy=None,
        relay=None,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def mx(*sessions: SmtpSession) -> SmtpEvidence:
    return SmtpEvidence("example.com", "mx", sessions=sessions)


def sub(*sessions: SmtpSession) -> SmtpEvidence:
    return SmtpEvidence("example.com", "submission", host="mail.example.com", sessions=sessions)


def codes(items: object) -> list[str]:
    return sorted(i.code for i in items if isinstance(i, Finding))  # type: ignore[attr-defined]


def all_mx(ev: SmtpEvidence) -> list[Finding | NotChecked]:
    c = ctx()
    return [
        *mx_ports(c, ev),
        *smtp_mx(c, ev),
        *(x for s in ev.sessions for x in tls_findings(c, s, True)),
    ]


def all_sub(ev: SmtpEvidence) -> list[Finding | NotChecked]:
    c = ctx()
    return [
        *submission_ports(c, ev),
        *smtp_submission(c, ev),
        *(x for s in ev.sessions for x in tls_findings(c, s, False)),
    ]


def test_good_mx() -> None:
    assert codes(all_mx(mx(mx_session()))) == [
        "port.ok",
        "smtp.extensions",
        "smtp.ok",
        "smtp.size_limit",
        "tls.ok",
    ]


def test_good_submission_ports() -> None:
    found = all_sub(sub(sub_session(587), sub_session(465)))
    assert "smtp.auth_not_offered" not in codes(found)
    assert codes(found).count("smtp.ok") == 2 and codes(found).count("tls.ok") == 2


def test_slow_and_missing_and_bad_greetings() -> None:
    slow = mx_session(greeting_s=8.02)
    (f,) = [x for x in all_mx(mx(slow)) if isinstance(x, Finding) and x.code == "smtp.slow_banner"]
    assert "8.0 s" in f.title
    silent = mx_session(
        greeting=None,
        greeting_s=None,
        ehlo=None,
        tls=None,
        ehlo_tls=None,
        relay=None,
        vrfy=None,
        failure=StepFailure("greeting", "read_timeout", "no complete reply within 10 s"),
    )
    assert codes(all_mx(mx(silent))) == ["port.ok", "smtp.no_banner"]
    rejected = replace(
        silent,
        greeting=Reply(554, ("5.3.2 mx.example.com service not available",)),
        greeting_s=0.01,
        failure=StepFailure("greeting", "rejected", "554 5.3.2"),
    )
    (bad,) = [x for x in all_mx(mx(rejected)) if isinstance(x, Finding) and x.code != "port.ok"]
    assert bad.code == "smtp.bad_banner" and "554 5.3.2" in bad.cause


def test_421_is_not_checked_never_a_verdict() -> None:
    busy = mx_session(
        greeting=Reply(421, ("4.7.0 Too many connections",)),
        ehlo=None,
        tls=None,
        ehlo_tls=None,
        relay=None,
        vrfy=None,
        failure=StepFailure("greeting", "rate_limited", "421 4.7.0 Too many connections"),
    )
    found = all_mx(mx(busy))
    # The 421 itself is evidence (the server is over a limit); what the session would have
    # shown (STARTTLS, relay...) stays unjudged.
    assert codes(found) == ["port.ok", "smtp.busy"]
    (b,) = [x for x in found if isinstance(x, Finding) and x.code == "smtp.busy"]
    assert b.severity is Severity.WARNING and "at the greeting" in b.title
    assert "421 4.7.0 Too many connections" in b.cause and "overloaded" in b.symptoms
    # On the MX it explains mail not coming in, not people failing to send.
    assert "cannot-receive" in b.symptoms and "cannot-send" not in b.symptoms
    (nc,) = [x for x in found if isinstance(x, NotChecked)]
    assert "inconclusive" in nc.reason and "421" in nc.reason
    ehlo_busy = mx_session(
        ehlo=None,
        tls=None,
        ehlo_tls=None,
        relay=None,
        vrfy=None,
        failure=StepFailure("ehlo", "rate_limited", "421 4.7.0 try later"),
    )
    found = all_mx(mx(ehlo_busy))
    assert "smtp.starttls_missing" not in codes(found)
    assert any(isinstance(x, NotChecked) for x in found)
    (b,) = [x for x in found if isinstance(x, Finding) and x.code == "smtp.busy"]
    assert "to EHLO" in b.title and "421 4.7.0 try later" in b.cause


def test_size_limits() -> None:
    low = Ehlo("mx.example.com", ("SIZE", "STARTTLS"), size=1048576)
    found = all_mx(mx(mx_session(ehlo=low, ehlo_tls=replace(low, keywords=("SIZE",)))))
    (f,) = [x for x in found if isinstance(x, Finding) and x.code.startswith("smtp.size")]
    assert f.code == "smtp.size_limit_low" and "1 MB" in f.title
    assert "message_size_limit" in f.fix


def test_starttls_missing_is_a_warning_on_25_and_an_error_on_587() -> None:
    plain = Ehlo("mx.example.com", ("SIZE",), size=52428800)
    on25 = all_mx(mx(mx_session(ehlo=plain, starttls_reply=None, tls=None, ehlo_tls=None)))
    (f25,) = [x for x in on25 if isinstance(x, Finding) and x.code == "smtp.starttls_missing"]
    assert f25.severity is Severity.WARNING
    clear_auth = Ehlo("mail.example.com", ("SIZE", "AUTH"), size=52428800, auth=("PLAIN",))
    s587 = sub_session(587, ehlo=clear_auth, starttls_reply=None, tls=None, ehlo_tls=None)
    found = all_sub(sub(s587))
    (f587,) = [x for x in found if isinstance(x, Finding) and x.code == "smtp.starttls_missing"]
    assert f587.severity is Severity.ERROR
    assert "smtp.auth_before_tls" in codes(found)


def test_starttls_failed_keeps_starttls_offered() -> None:
    broken = mx_session(
        tls=TlsResult(host="mx.example.com", ok=False, error="handshake failure"),
        ehlo_tls=None,
        relay=None,
        failure=StepFailure("tls", "tls", "handshake failure"),
    )
    found = codes(all_mx(mx(broken)))
    assert "smtp.starttls_failed" in found and "smtp.starttls_missing" not in found
    refused = mx_session(starttls_reply=Reply(454, ("4.7.0 TLS not available",)), tls=None)
    assert "smtp.starttls_failed" in codes(all_mx(mx(refused)))


def test_auth_not_offered_after_tls() -> None:
    no_auth = Ehlo("mail.example.com", ("SIZE",), size=52428800)
    found = all_sub(sub(sub_session(587, ehlo_tls=no_auth)))
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "smtp.auth_not_offered"]
    assert "after TLS" in f.cause and "Relay access denied" in f.cause


def test_vrfy_and_extensions() -> None:
    found = all_mx(mx(mx_session(vrfy=Reply(250, ("<postmaster@example.com>",)))))
    assert "smtp.vrfy_enabled" in codes(found)
    (ext,) = [x for x in found if isinstance(x, Finding) and x.code == "smtp.extensions"]
    assert "PIPELINING, 8BITMIME" in ext.cause and "SMTPUTF8, CHUNKING" in ext.cause


def test_open_relay_and_inconclusive_relay() -> None:
    open_relay = RelayTest(
        "relay-test@maildoctor.example",
        Reply(250, ("Ok",)),
        (
            ("relay-test@maildoctor-relay-test.example", Reply(250, ("Ok",))),
            ("relay-test@maildoctor.invalid", Reply(250, ("Ok",))),
        ),
    )
    found = all_mx(mx(mx_session(relay=open_relay)))
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "smtp.open_relay"]
    assert f.severity is Severity.CRITICAL and "smtp.ok" not in codes(found)
    deferred = replace(
        open_relay,
        rcpts=(("relay-test@maildoctor.invalid", Reply(450, ("4.1.8 try later",))),),
    )
    found = all_mx(mx(mx_session(relay=deferred)))
    assert "smtp.open_relay" not in codes(found)
    assert any(isinstance(x, NotChecked) and "450" in x.reason for x in found)


def test_port_findings_and_their_causes() -> None:
    refused = mx_session(
        connect_s=None,
        greeting=None,
        ehlo=None,
        tls=None,
        failure=StepFailure("connect", "refused", "connection refused"),
    )
    timeout = replace(refused, failure=StepFailure("connect", "timeout", "no answer in 5 s"))
    unreachable = replace(
        refused, ip="2001:db8::25", failure=StepFailure("connect", "unreachable", "no route")
    )
    found = all_mx(mx(refused, timeout, unreachable))
    assert codes(found) == ["port.refused", "port.timeout", "port.unreachable"]
    t = next(x for x in found if isinstance(x, Finding) and x.code == "port.timeout")
    assert "ISP" in t.cause and "blocked" in t.cause
    # 465 closed while 587 works on the same server: a choice, said as info.
    closed465 = sub_session(465, connect_s=None, failure=StepFailure("connect", "refused", "x"))
    found = all_sub(sub(sub_session(587), closed465))
    (p,) = [x for x in found if isinstance(x, Finding) and x.code == "port.refused"]
    assert p.severity is Severity.INFO


def test_tls_certificate_findings_are_separate() -> None:
    c = ctx()
    s = mx_session(port=587, host="mail.example.com")
    expired = tls("mail.example.com", chain=(cert(not_after=NOW - timedelta(days=3)),))
    assert codes(tls_findings(c, replace(s, tls=expired), False)) == ["tls.cert_expired"]
    soon = tls("mail.example.com", chain=(cert(not_after=NOW + timedelta(days=10)),))
    assert codes(tls_findings(c, replace(s, tls=soon), False)) == ["tls.cert_expiring"]
    wrong = tls("mail.example.com", name_matches=False, chain=(cert(names=("other.example",)),))
    (m,) = tls_findings(c, replace(s, tls=wrong), False)
    assert isinstance(m, Finding) and m.code == "tls.cert_hostname_mismatch"
    assert m.severity is Severity.ERROR and "other.example" in m.cause
    untrusted = tls("mail.example.com", trusted=False, trust_error="self-signed certificate")
    assert codes(tls_findings(c, replace(s, tls=untrusted), False)) == ["tls.cert_untrusted"]
    (u25,) = tls_findings(c, replace(s, tls=untrusted, port=25), True)
    assert isinstance(u25, Finding) and u25.severity is Severity.WARNING
    weak = tls("mail.example.com", chain=(cert(key_bits=1024),))
    assert codes(tls_findings(c, replace(s, tls=weak), False)) == ["tls.weak_key"]
    old = tls("mail.example.com", legacy_version="TLSv1", legacy_detail="port 587 accepted")
    assert codes(tls_findings(c, replace(s, tls=old), False)) == ["tls.protocol_obsolete"]


def test_implicit_tls_missing_and_handshake_failed() -> None:
    c = ctx()
    failed = TlsResult("mail.example.com", ok=False, error="wrong version number")
    plain = sub_session(
        465,
        greeting=None,
        ehlo=None,
        tls=failed,
        plaintext_greeting=Reply(220, ("mail.example.com ESMTP",)),
        failure=StepFailure("tls", "tls", "wrong version number"),
    )
    assert codes(tls_findings(c, plain, False)) == ["tls.implicit_tls_missing"]
    other = replace(plain, plaintext_greeting=None)
    assert codes(tls_findings(c, other, False)) == ["tls.handshake_failed"]


def _mailbox(protocol: str, **kw: object) -> MailboxEvidence:
    port, tls_port = (143, 993) if protocol == "imap" else (110, 995)
    plain = MailboxSession(
        protocol,
        "mail.example.com",
        IP,
        port,
        connect_s=0.01,
        greeting="Dovecot ready.",
        greeting_ok=True,
        capabilities=("IMAP4REV1", "STARTTLS", "LOGINDISABLED"),
        starttls_offered=True,
        plaintext_login=False,
        tls=tls("mail.example.com"),
    )
    implicit = replace(plain, port=tls_port, implicit_tls=True, plaintext_login=None)
    sessions = (replace(plain, **kw), implicit)  # type: ignore[arg-type]
    return MailboxEvidence("example.com", protocol, "mail.example.com", "SRV", sessions)


def test_mailbox_rules() -> None:
    c = ctx()
    assert codes(imap_server(c, _mailbox("imap"))) == ["imap.ok"]
    assert codes(pop3_server(c, _mailbox("pop3"))) == ["pop3.ok"]
    leaky = _mailbox("imap", plaintext_login=True, login_evidence="no LOGINDISABLED")
    assert codes(imap_server(c, leaky)) == ["imap.plaintext_login"]
    leaky3 = _mailbox("pop3", plaintext_login=True, login_evidence="USER before TLS")
    assert codes(pop3_server(c, leaky3)) == ["pop3.plaintext_login"]
    garbage = _mailbox("imap", greeting="SSH-2.0-OpenSSH", greeting_ok=False)
    assert codes(imap_server(c, garbage)) == ["imap.bad_greeting"]
    garbage3 = _mailbox("pop3", greeting="", greeting_ok=False)
    assert codes(pop3_server(c, garbage3)) == ["pop3.bad_greeting"]
    down = MailboxEvidence(
        "example.com",
        "imap",
        "mail.example.com",
        "SRV",
        tuple(
            MailboxSession("imap", "mail.example.com", IP, p, failure=StepFailure("connect", k, k))
            for p, k in ((143, "refused"), (993, "timeout"))
        ),
    )
    (u,) = imap_server(c, down)
    assert isinstance(u, Finding) and u.code == "imap.unreachable"
    assert "143: refused" in u.cause and "993: timeout" in u.cause
    down3 = replace(down, protocol="pop3")
    assert codes(pop3_server(c, down3)) == ["pop3.unreachable"]
    # One certificate on 143 and 993: one finding naming both ports.
    (ok,) = tls_imap(c, _mailbox("imap"))
    assert isinstance(ok, Finding) and ok.code == "tls.ok"
    assert ":143, 993)" in ok.subject


def _ptr(ip: str, *names: str) -> PtrEvidence:
    lookups = (
        PtrLookup(
            ServerIp(ip, ("MX mx.example.com",)),
            "25.2.0.192.in-addr.arpa",
            DnsResult("25.2.0.192.in-addr.arpa", "PTR", DnsStatus.NOERROR, names),
            tuple(PtrName(n, DnsResult(n, "A", DnsStatus.NOERROR, (ip,))) for n in names),
        ),
    )
    return PtrEvidence("example.com", lookups)


def test_helo_against_ptr() -> None:
    c = ctx()
    assert codes(helo_matches_ptr(c, mx(mx_session()), _ptr(IP, "mx.example.com"))) == []
    wrong = mx_session(
        greeting=Reply(220, ("wrongname.example.com ESMTP",)),
        ehlo=replace(EHLO, hostname="wrongname.example.com"),
    )
    (f,) = helo_matches_ptr(c, mx(wrong), _ptr(IP, "mx.example.com"))
    assert isinstance(f, Finding) and f.code == "smtp.helo_mismatch"
    assert "myhostname = mx.example.com" in f.fix
    # No PTR at all: the PTR checks say so; no second finding here.
    assert codes(helo_matches_ptr(c, mx(wrong), _ptr(IP))) == []


def test_no_route_from_here_and_skipped_private_addresses_are_not_checked() -> None:
    v6 = mx_session(
        ip="2001:db8::25",
        connect_s=None,
        greeting=None,
        ehlo=None,
        tls=None,
        failure=StepFailure("connect", "no_route", "no route from this machine to [2001:db8::25]"),
    )
    ev = replace(mx(mx_session(), v6), skipped=(("10.0.0.5", "a private address, skipped"),))
    found = all_mx(ev)
    assert "port.unreachable" not in codes(found)
    reasons = [x.reason for x in found if isinstance(x, NotChecked)]
    assert any("no route from this machine" in r for r in reasons)
    assert any("private" in r for r in reasons)


async def test_private_addresses_are_not_connected_to_without_allow_private() -> None:
    from types import SimpleNamespace

    from maildoctor.probes.servers import reachable

    strict = SimpleNamespace(settings=Settings())
    keep, skipped = reachable(strict, ["10.1.2.3", "93.184.215.25", "127.0.0.1"])  # type: ignore[arg-type]
    assert keep == ["93.184.215.25"] and [a for a, _ in skipped] == ["10.1.2.3", "127.0.0.1"]
    lab = SimpleNamespace(settings=Settings(allow_private=True))
    keep, skipped = reachable(lab, ["10.1.2.3", "10.1.2.3"])  # type: ignore[arg-type]
    assert keep == ["10.1.2.3"] and skipped == []


def test_certificate_findings_fold_across_ports_and_names() -> None:
    from maildoctor.checks.tls import merge_by_certificate

    def cert(code: str, subject: str, sev: Severity = Severity.ERROR) -> Finding:
        return Finding(code, sev, subject, f"t {subject}", "facts", f"cause {subject}", "fix")

    items = [
        cert("tls.cert_expired", "mx.example.com (192.0.2.1:25)"),
        cert("tls.cert_expired", "mail.example.com (192.0.2.1:587)"),
        cert("tls.cert_expired", "mail.example.com (192.0.2.1:993)"),
        cert("tls.cert_hostname_mismatch", "mx.example.com (192.0.2.1:25)", Severity.WARNING),
        cert("tls.cert_hostname_mismatch", "mail.example.com (192.0.2.1:587)"),
        cert("tls.cert_hostname_mismatch", "mail.example.com (192.0.2.1:993)"),
        NotChecked("TLS 1.0/1.1 on x", "slow"),
    ]
    out = list(merge_by_certificate(items))
    expired, mismatch_mx, mismatch_mail, nc = out
    assert isinstance(expired, Finding) and isinstance(nc, NotChecked)
    joined = "mx.example.com (192.0.2.1:25); mail.example.com (192.0.2.1:587, 993)"
    assert expired.subject == joined and expired.cause == f"cause {joined}"
    assert isinstance(mismatch_mx, Finding) and mismatch_mx.severity is Severity.WARNING
    assert isinstance(mismatch_mail, Finding)
    assert mismatch_mail.subject == "mail.example.com (192.0.2.1:587, 993)"


def test_evidence_without_transcript_lines_is_the_text_alone() -> None:
    from maildoctor.checks.servers import evidence

    s = replace(_mailbox("imap").sessions[0], transcript=("S: * OK", "C: a CAPABILITY"))
    assert evidence(s, "summary", 0) == "summary"
    assert evidence(s, "summary", 1) == "summary\n...\nC: a CAPABILITY"
