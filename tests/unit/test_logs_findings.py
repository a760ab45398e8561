"""Log findings: each code from a log that shows it, through the catalogue, and the registered
check's place in the engine (the domain `check` never plans it)."""

from __future__ import annotations

from pathlib import Path

from maildoctor import catalogue
from maildoctor.checks import REGISTRY, CheckContext, all_checks, apply
from maildoctor.checks.logs import CODES, log_findings
from maildoctor.logs.analyze import analyze
from maildoctor.logs.command import find
from maildoctor.logs.model import LogSummary
from maildoctor.probes import all_probes, closure
from maildoctor.report import Finding, Severity
from maildoctor.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "logs"


def _log(tmp_path: Path, lines: list[str], name: str = "mail.log") -> LogSummary:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return analyze([str(path)])


def _codes(s: LogSummary) -> dict[str, Finding]:
    return {f.code: f for f in find(s)}


def _pf(ts: str, daemon: str, msg: str) -> str:
    return f"Nov 28 {ts} mx postfix/{daemon}[100]: {msg}"


def _message(
    qid: str, ts: str, ip: str, user: str | None, rcpts: list[str], status: str, reason: str = ""
) -> list[str]:
    sasl = f", sasl_method=PLAIN, sasl_username={user}" if user else ""
    out = [
        _pf(ts, "smtpd", f"{qid}: client=c[{ip}]{sasl}"),
        _pf(
            ts,
            "qmgr",
            f"{qid}: from=<{user or 'x@ext.example'}>, size=900, nrcpt={len(rcpts)} (queue active)",
        ),
    ]
    for r in rcpts:
        dsn = {"sent": "2.0.0", "deferred": "4.4.1", "bounced": "5.1.1"}[status]
        out.append(
            _pf(
                ts,
                "smtp",
                f"{qid}: to=<{r}>, relay=mx[198.51.100.1]:25, delay=1.2, "
                f"delays=0/0/0/1.2, dsn={dsn}, status={status} ({reason or '250 ok'})",
            )
        )
    if status != "deferred":
        out.append(_pf(ts, "qmgr", f"{qid}: removed"))
    return out


def test_clean_log_is_ok(tmp_path: Path) -> None:
    s = _log(
        tmp_path,
        _message(
            "AAAAA00001", "10:00:00", "192.0.2.10", "alice@ex.org", ["bob@partner.example"], "sent"
        ),
    )
    found = _codes(s)
    assert list(found) == ["log.ok"]
    assert found["log.ok"].severity is Severity.OK


def test_brute_force_with_block_commands(tmp_path: Path) -> None:
    lines = [
        _pf(
            f"10:00:{i:02d}",
            "smtpd",
            f"warning: unknown[203.0.113.66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, "
            f"sasl_username=user{i % 3}@ex.org",
        )
        for i in range(12)
    ]
    found = _codes(_log(tmp_path, lines))
    f = found["log.brute_force"]
    assert f.subject == "203.0.113.66" and f.severity is Severity.WARNING
    assert "nft add element inet maildoctor blocked '{ 203.0.113.66 timeout 7d }'" in f.fix
    assert "[postfix-sasl]" in f.fix and "maxretry = 10" in f.fix and "findtime = 600" in f.fix
    assert "logpath  = " + str(tmp_path / "mail.log") in f.fix
    assert "2026-11-28T10:00:00Z" in f.cause or "-11-28T10:00:00Z" in f.cause
    assert "log.auth_failures" not in found  # the attacker's failures are not a user's


def test_brute_force_slow_attack_by_count(tmp_path: Path) -> None:
    # 50 failures an hour apart: never 10 in 10 minutes, but 5x the threshold in all.
    lines = [
        f"Nov {1 + i // 24:2d} {i % 24:02d}:00:00 mx postfix/smtpd[1]: warning: "
        f"unknown[203.0.113.7]: SASL LOGIN authentication failed: authentication failure"
        for i in range(50)
    ]
    s = _log(tmp_path, lines)
    assert s.brute_force[0].ip == "203.0.113.7" and s.brute_force[0].max_in_window == 1


def test_successful_login_after_brute_force_is_an_error(tmp_path: Path) -> None:
    lines = [
        f"Nov 28 10:00:{i:02d} imap-login: Info: Disconnected: Aborted login (auth failed, 1 "
        f"attempts in 2 secs): user=<alice@ex.org>, method=PLAIN, rip=203.0.113.5, lip=192.0.2.1"
        for i in range(10)
    ] + [
        "Nov 28 10:01:00 imap-login: Info: Login: user=<alice@ex.org>, method=PLAIN, "
        "rip=203.0.113.5, lip=192.0.2.1, mpid=1, TLS"
    ]
    f = _codes(_log(tmp_path, lines))["log.brute_force"]
    assert f.severity is Severity.ERROR and "SUCCEEDED" in f.cause


def test_saved_wrong_password(tmp_path: Path) -> None:
    lines = [
        f"Nov 28 1{i}:00:00 imap-login: Info: Disconnected: Aborted login (auth failed, 1 attempts "
        f"in 2 secs): user=<carol@ex.org>, method=PLAIN, rip=192.0.2.44, lip=192.0.2.1"
        for i in range(4)
    ]
    f = _codes(_log(tmp_path, lines))["log.auth_failures"]
    assert f.subject == "carol@ex.org" and "192.0.2.44" in f.title
    assert "password-rejected" in f.symptoms


def test_relay_plaintext_tls_size_rate(tmp_path: Path) -> None:
    lines = [
        _pf(
            "10:00:00",
            "smtpd",
            "NOQUEUE: reject: RCPT from x[198.51.100.3]: 554 5.7.1 "
            "<a@elsewhere.example>: Relay access denied; from=<s@x> to=<a@elsewhere.example> "
            "proto=ESMTP helo=<x>",
        ),
        "Nov 28 10:00:01 imap-login: Info: Login failed: Plaintext authentication disabled: "
        "user=<>, rip=192.0.2.8, lip=192.0.2.1, session=<x>",
        _pf("10:00:02", "smtpd", "SSL_accept error from x[192.0.2.9]: -1"),
        _pf(
            "10:00:03",
            "smtpd",
            "NOQUEUE: reject: MAIL from x[192.0.2.10]: 552 5.3.4 Message "
            "size exceeds fixed limit; from=<a@b> proto=ESMTP helo=<x>",
        ),
        _pf(
            "10:00:04",
            "smtpd",
            "warning: Connection concurrency limit exceeded: 51 from "
            "x[192.0.2.11] for service smtp",
        ),
    ]
    found = _codes(_log(tmp_path, lines))
    assert {
        "log.relay_denied",
        "log.plaintext_refused",
        "log.tls_failures",
        "log.size_rejected",
        "log.rate_limited",
    } <= set(found)
    assert "198.51.100.3 (1)" in found["log.relay_denied"].cause
    assert "large-attachments" in found["log.size_rejected"].symptoms
    assert "connection concurrency" in found["log.rate_limited"].cause
    assert "log.ok" not in found


def test_blocked_by_dnsbl_and_backlog_and_mailbox_full(tmp_path: Path) -> None:
    lines: list[str] = []
    for i in range(10):
        lines += _message(
            f"BBBBB{i:05d}",
            f"10:{i:02d}:00",
            "192.0.2.10",
            None,
            [f"u{i}@slow.example"],
            "deferred",
            "connect to mx[1.2.3.4]:25: Connection timed out",
        )
    lines += _message(
        "CCCCC00001",
        "11:00:00",
        "192.0.2.10",
        None,
        ["x@big.example"],
        "bounced",
        "host mx[1.2.3.4] said: 554 5.7.1 Service unavailable; Client host "
        "[192.0.2.1] blocked using zen.spamhaus.org",
    )
    lines += _message(
        "CCCCC00002",
        "11:00:01",
        "192.0.2.10",
        None,
        ["y@ex.org"],
        "bounced",
        "host mx[1.2.3.4] said: 552 5.2.2 Mailbox full",
    )
    s = _log(tmp_path, lines)
    assert s.deferred_pending == 10
    found = _codes(s)
    assert found["log.blocked_by_dnsbl"].severity is Severity.ERROR
    assert found["log.blocked_by_dnsbl"].subject == "zen.spamhaus.org"
    assert "10 messages stuck" in found["log.deferred_backlog"].title
    assert "connection timed out (10)" in found["log.deferred_backlog"].cause
    assert "y@ex.org (1)" in found["log.mailbox_full"].title


def test_software_fault(tmp_path: Path) -> None:
    lines = [
        _pf(
            "10:00:00",
            "smtpd",
            "fatal: in parameter smtpd_relay_restrictions or "
            "smtpd_recipient_restrictions, specify at least one working instance of",
        )
    ]
    f = _codes(_log(tmp_path, lines))["log.software_fault"]
    assert f.severity is Severity.ERROR and "fatal (1)" in f.cause
    # Dovecot "Error:" lines are counted but are no software fault by themselves.
    s = _log(tmp_path, ["Nov 28 10:00:00 imap(a@b)<1><x>: Error: read() failed: Connection reset"])
    assert s.faults.by_key == {"error": 1}
    assert "log.software_fault" not in _codes(s)


def test_compromised_account(tmp_path: Path) -> None:
    lines: list[str] = []
    for n, user in enumerate(("a@ex.org", "b@ex.org", "c@ex.org")):
        lines += _message(
            f"DDDDD{n:05d}", "09:00:00", "192.0.2.20", user, ["r@partner.example"], "sent"
        )
    for i in range(30):
        rcpts = [f"victim{i}-{k}@spam{k}.example" for k in range(10)]
        lines += _message(
            f"EEEEE{i:05d}", f"10:{i:02d}:00", "203.0.113.200", "d@ex.org", rcpts, "sent"
        )
    found = _codes(_log(tmp_path, lines))
    f = found["log.compromised_account"]
    assert f.severity is Severity.CRITICAL and f.subject == "d@ex.org"
    assert "300 recipients in 10 domains" in f.cause and "median of 1" in f.cause
    assert "doveadm kick d@ex.org" in f.fix
    # One account alone has nobody to be compared with: no suspicion.
    alone = _log(tmp_path, lines[12:], "alone.log")
    assert "log.compromised_account" not in _codes(alone)


def test_unparsed_and_input_error(tmp_path: Path) -> None:
    s = _log(tmp_path, ["Nov 28 10:00:00 mx kernel: [1.0] eth0 up", "junk"])
    found = _codes(s)
    assert found["log.unparsed"].severity is Severity.INFO
    assert "2 of 2 lines" in found["log.unparsed"].evidence
    assert "--show-unparsed" in found["log.unparsed"].fix
    broken = tmp_path / "x.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6)
    found = _codes(analyze([str(broken)]))
    assert "log.input_error" in found


def test_the_check_is_registered_with_every_code_and_never_planned_for_a_domain() -> None:
    all_checks()
    chk = REGISTRY["logs.log_findings"]
    assert chk.needs == ("log.summary",)
    assert chk.codes == frozenset(CODES) == {c for c in catalogue.load() if c.startswith("log.")}
    # No probe produces the summary: the domain plan never contains it, and apply() skips the
    # check when its evidence was not gathered.
    assert "log.summary" not in all_probes()
    needs = [n for c in all_checks() for n in c.needs]
    assert "log.summary" not in closure(needs, all_probes())
    ctx = CheckContext(Settings(), catalogue.load())
    findings, not_checked = apply([chk], {"dns.mx": object()}, ctx)
    assert findings == [] and not_checked == []


def test_log_findings_direct_call_yields_only_findings() -> None:
    s = analyze([str(DATA / "exim-mainlog")])
    ctx = CheckContext(Settings(), catalogue.load())
    items = list(log_findings(ctx, s))
    assert all(isinstance(i, Finding) for i in items)
    assert {i.code for i in items} >= {
        "log.brute_force",
        "log.blocked_by_dnsbl",
        "log.relay_denied",
        "log.size_rejected",
        "log.tls_failures",
        "log.rate_limited",
    }


def test_relay_denied_and_tls_are_info_from_strangers_warning_from_users(tmp_path: Path) -> None:
    reject = _pf(
        "10:00:00",
        "smtpd",
        "NOQUEUE: reject: RCPT from x[{ip}]: 554 5.7.1 "
        "<a@elsewhere.example>: Relay access denied; from=<s@x> to=<a@elsewhere.example> "
        "proto=ESMTP helo=<x>",
    )
    tls = _pf("10:00:01", "smtpd", "SSL_accept error from x[{ip}]: -1")
    stranger = _codes(
        _log(tmp_path, [reject.format(ip="198.51.100.3"), tls.format(ip="198.51.100.3")])
    )
    assert stranger["log.relay_denied"].severity is Severity.INFO
    assert stranger["log.tls_failures"].severity is Severity.INFO
    user = _message("FFFFF00001", "09:00:00", "192.0.2.10", "alice@ex.org", ["b@ex.org"], "sent")
    mine = _codes(
        _log(
            tmp_path,
            [*user, reject.format(ip="192.0.2.10"), tls.format(ip="192.0.2.10")],
            "user.log",
        )
    )
    assert mine["log.relay_denied"].severity is Severity.WARNING
    assert "192.0.2.10" in mine["log.relay_denied"].evidence
    assert mine["log.tls_failures"].severity is Severity.WARNING


def test_fail2ban_jails_point_at_each_daemons_own_log() -> None:
    from maildoctor.checks.logs import _logpath

    files = ("/var/log/mail.log.2.gz", "/var/log/mail.log", "/var/log/dovecot.log")
    assert _logpath(files) == "/var/log/mail.log"
    assert _logpath(files, dovecot=True) == "/var/log/dovecot.log"
    assert _logpath(("/var/log/mail.log",), dovecot=True) == "/var/log/mail.log"
    assert _logpath(("-",)) == "/var/log/mail.log"
