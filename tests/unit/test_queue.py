"""The mail queue: parsers of postqueue -j / postqueue -p / exim -bp / mailq on recorded output,
the command runner against hostile commands (garbage, endless output, a hang, missing), and
the queue checks on hand-built evidence. No network; commands are scripts in tmp_path."""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from maildoctor import catalogue
from maildoctor.checks import CheckContext
from maildoctor.checks.queue import queue_local
from maildoctor.evidence.queue import (
    DENIED,
    DOWN,
    ERROR,
    NOT_FOUND,
    READ,
    TIMEOUT,
    Count,
    QueueEvidence,
)
from maildoctor.probes.queue import (
    KEY,
    QueueRequest,
    normalise_reason,
    parse_exim_bp,
    parse_exim_bpc,
    parse_mailq_text,
    parse_postqueue_json,
    queue_probes,
    read_queue,
    run_command,
)
from maildoctor.report import Finding, NotChecked, Severity
from maildoctor.settings import Settings

# 2026-11-28 08:00:00 local time: the clock of every recorded sample.
NOW = datetime(2026, 11, 28, 8, 0, 0).timestamp()
SUSPENDED = (
    "delivery temporarily suspended: host 127.0.10.22[127.0.10.22] refused to talk to me: "
    "421 4.7.0 mx.busy.test Error: too many connections from 127.0.0.1"
)
REFUSED = "connect to 127.0.10.13[127.0.10.13]:25: Connection refused"
GMAIL = (
    "host gmail-smtp-in.l.google.com[142.250.27.27] said: 421-4.7.28 Gmail has detected an "
    "unusual rate of unsolicited mail originating from your IP address. (in reply to end of "
    "DATA command)"
)


def pq_line(
    qid: str,
    sender: str,
    rcpts: list[tuple[str, str]],
    queue: str = "deferred",
    age_s: float = 120.0,
    size: int = 322,
) -> str:
    """One line of `postqueue -j`, as Postfix 3.7 writes it (recorded from the lab)."""
    return json.dumps(
        {
            "queue_name": queue,
            "queue_id": qid,
            "arrival_time": int(NOW - age_s),
            "message_size": size,
            "forced_expire": False,
            "sender": sender,
            "recipients": [{"address": a, "delay_reason": r} for a, r in rcpts],
        }
    )


POSTQUEUE_J = "\n".join(
    [
        pq_line("39E7E164E1B", "newsletter@busy.test", [("reader368@example.com", SUSPENDED)]),
        pq_line("31FEA164FDF", "billing@busy.test", [("billing.contact1@example.org", SUSPENDED)]),
        pq_line("3F93A164E24", "newsletter@busy.test", [("reader372@example.net", SUSPENDED)]),
        pq_line(
            "4A1B2C3D4E5",
            "alice@busy.test",
            [("x@slow.example", REFUSED), ("y@slow.example", REFUSED)],
            age_s=3 * 86400,
        ),
        pq_line("5B2C3D4E5F6", "", [("alice@busy.test", "")], queue="active", size=2207),
        pq_line("6C3D4E5F6A7", "bob@busy.test", [("z@example.com", "")], queue="hold"),
    ]
).encode()

# `postqueue -p` of the same kind of queue (recorded from the lab, Postfix 3.7; "*" active,
# "!" on hold, MAILER-DAEMON for the null sender).
POSTQUEUE_P = b"""-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
39E7E164E1B     322 Sat Nov 28 07:30:59  newsletter@busy.test
(@SUSPENDED@)
                                         reader368@example.com

31FEA164FDF     315 Sat Nov 28 07:31:00  billing@busy.test
(connect to 127.0.10.13[127.0.10.13]:25: Connection refused)
                                         billing.contact1@slow.example
                                         billing.contact2@slow.example

5B2C3D4E5F6*   2207 Sat Nov 28 07:59:00  MAILER-DAEMON
                                         alice@busy.test

6C3D4E5F6A7!    400 Wed Nov 25 07:00:00  bob@busy.test
                                         z@example.com

-- 3 Kbytes in 4 Requests.
""".replace(b"@SUSPENDED@", SUSPENDED.encode())

# `exim -bp` (Exim spec, "-bp"): age, size, ID (6-6-2 and the 6-11-4 IDs of Exim >= 4.97),
# sender; "D" before delivered recipients; "*** frozen ***"; "(user)" before a sender set by
# a local user.
EXIM_BP = b""" 4d  2.1K 1rKvHf-00000000Hxm-0ABC <> *** frozen ***
          bounce.victim@example.net

25m  2.9K 0t5C6f-0000c8-00 <alice@example.com>
        D bob@example.org
          carol@example.net

 3h   12M 1rKvZz-000000001Ab-0Q8T (www-data) <contact@shop.example>
          buyer@example.com
"""

# Sendmail `mailq` (8.15): Q-Time without seconds, "(reason)" lines, tab-indented recipients.
SENDMAIL_MAILQ = b"""\t\t/var/spool/mqueue (2 requests)
-----Q-ID----- --Size-- -----Q-Time----- ------------Sender/Recipient-----------
0AR7TqXp012345     1523 Fri Nov 27 07:29 <promo@shop.example>
                 (Deferred: Connection refused by mx.example.net.)
\t\t\t\t\t <user1@example.net>
0AR7TqXq012346*    2048 Sat Nov 28 07:00 <alice@example.com>
\t\t\t\t\t <bob@example.org>
\t\tTotal requests: 2
"""


# ------------------------------------------------------------------ parsers


def test_postqueue_json_counts_queues_senders_domains_reasons() -> None:
    tally, any_json = parse_postqueue_json(POSTQUEUE_J, NOW)
    assert any_json and tally.skipped == 0
    ev = tally.evidence("postfix", "json", _out())
    assert ev.total == 6
    assert {c.value: c.count for c in ev.queues} == {"deferred": 4, "active": 1, "hold": 1}
    assert ev.in_queue("deferred") == 4 and ev.waiting == 5  # active + deferred
    assert ev.oldest_id == "4A1B2C3D4E5" and ev.oldest_s == pytest.approx(3 * 86400, abs=1)
    senders = {c.value: c.count for c in ev.senders}
    assert senders == {"newsletter@busy.test": 2, "billing@busy.test": 1, "alice@busy.test": 1,
                       "<>": 1, "bob@busy.test": 1}  # fmt: skip
    # Two recipients in one domain count once for their message.
    assert {c.value: c.count for c in ev.domains}["slow.example"] == 1
    top = ev.reasons[0]
    assert top.count == 3 and top.example == SUSPENDED
    assert top.value == (
        "host HOST refused to talk to me: 421 4.7.0 HOST Error: too many connections from IP"
    )
    assert ev.reasons[1] == Count("connect to HOST: Connection refused", 1, REFUSED)


def test_postqueue_text_matches_the_json_reading() -> None:
    tally = parse_mailq_text(POSTQUEUE_P, NOW, "postfix")
    ev = tally.evidence("postfix", "text", _out())
    assert ev.total == 4 and tally.skipped == 0
    assert {c.value: c.count for c in ev.queues} == {"deferred": 2, "active": 1, "hold": 1}
    assert {c.value for c in ev.senders} == {
        "newsletter@busy.test",
        "billing@busy.test",
        "<>",
        "bob@busy.test",
    }
    assert ev.oldest_id == "6C3D4E5F6A7"
    assert ev.oldest_s == pytest.approx(3 * 86400 + 3600, abs=1)
    assert ev.reasons[0].count == 1 and {c.value for c in ev.domains} >= {"slow.example"}
    assert ev.size_bytes == 322 + 315 + 2207 + 400


def test_text_dates_without_a_year_fall_in_the_past() -> None:
    # A message queued on Dec 31 read on Jan 1: last year's date, not next December.
    new_year = datetime(2027, 1, 1, 0, 10).timestamp()
    text = b"ABCDEF12345     100 Thu Dec 31 23:50:00  a@example.com\n    b@example.org\n"
    ev = parse_mailq_text(text, new_year, "postfix").evidence("postfix", "text", _out())
    assert ev.oldest_s == pytest.approx(20 * 60, abs=1)


def test_exim_bp_ages_sizes_frozen_and_delivered() -> None:
    ev = parse_exim_bp(EXIM_BP, NOW).evidence("exim", "text", _out())
    assert ev.total == 3 and ev.frozen == 1
    assert ev.oldest_id == "1rKvHf-00000000Hxm-0ABC" and ev.oldest_s == 4 * 86400
    assert {c.value for c in ev.senders} == {"<>", "alice@example.com", "contact@shop.example"}
    # bob@example.org was delivered already ("D"): not waiting.
    assert "example.org" not in {c.value for c in ev.domains}
    assert ev.size_bytes == int(2.1 * 1024) + int(2.9 * 1024) + 12 * 1024 * 1024
    assert parse_exim_bpc(b"3\n") == 3 and parse_exim_bpc(b"garbage") is None


def test_sendmail_mailq() -> None:
    ev = parse_mailq_text(SENDMAIL_MAILQ, NOW, "sendmail").evidence("sendmail", "text", _out())
    assert ev.total == 2 and ev.queues == (Count("queue", 2),)
    assert ev.oldest_id == "0AR7TqXp012345"
    assert ev.reasons[0].value == "Deferred: Connection refused by HOST"
    assert {c.value for c in ev.domains} == {"example.net", "example.org"}


def test_normalise_reason_strips_what_varies() -> None:
    a = normalise_reason(GMAIL)
    b = normalise_reason(GMAIL.replace("142.250.27.27", "64.233.184.26"))
    assert a == b and "421-4.7.28" in a and "142.250" not in a
    assert normalise_reason("host x[192.0.2.1] said: 550 5.1.1 <bob@example.com>: unknown") == (
        "host HOST said: 550 5.1.1 ADDRESS: unknown"
    )
    assert normalise_reason("lost connection with h.example[2001:db8::25] while sending 12345") == (
        "lost connection with HOST while sending N"
    )
    assert len(normalise_reason("x" * 100_000)) <= 300


def test_garbage_and_hostile_json_lines_are_skipped_never_raised() -> None:
    junk = b"\n".join(
        [
            b"not json at all",
            b"[1, 2, 3]",
            b'{"queue_name": 5, "queue_id": null}',
            b"{" * 5000,
            b'{"queue_name": "deferred", "queue_id": "A1", "arrival_time": "yesterday", '
            b'"message_size": true, "sender": ["x"], "recipients": "none"}',
            b"\xff\xfe\x00binary",
            POSTQUEUE_J.splitlines()[0],
        ]
    )
    tally, any_json = parse_postqueue_json(junk, NOW)
    assert any_json and tally.messages == 2 and tally.skipped == 5
    ev = tally.evidence("postfix", "json", _out())
    assert ev.oldest_id == "39E7E164E1B"  # the message without a usable arrival has no age
    assert parse_mailq_text(b"\x00\xff garbage\n" * 100, NOW).messages == 0
    assert parse_exim_bp(b"25m garbage\n  x@y\n", NOW).messages == 0


def test_distinct_keys_are_bounded() -> None:
    from maildoctor.probes import queue as q

    tally = q._Tally(NOW)
    old = q.MAX_KEYS
    q.MAX_KEYS = 10
    try:
        for i in range(50):
            tally.add(queue="deferred", qid=f"Q{i}", arrival=NOW, size=1,
                      sender=f"s{i}@example.com", recipients=[(f"r@d{i}.example", "")])  # fmt: skip
    finally:
        q.MAX_KEYS = old
    assert len(tally.senders) == 11 and tally.senders["(other)"] == 40
    assert tally.messages == 50


# ------------------------------------------------------------------ commands


def _out() -> object:
    from maildoctor.probes.queue import Output

    return Output(("postqueue", "-j"), READ, rc=0)


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def data_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "out.txt"
    path.write_bytes(data)
    return path


async def test_postqueue_with_config_dir(tmp_path: Path) -> None:
    out = data_file(tmp_path, POSTQUEUE_J)
    args = tmp_path / "args"
    cmd = script(tmp_path, "postqueue", f'echo "$@" > {args}; cat {out}')
    ev = await read_queue(
        QueueRequest(config_dir="/etc/postfix-out", commands={"postqueue": cmd}, now=NOW), 10
    )
    assert args.read_text().split() == ["-c", "/etc/postfix-out", "-j"]
    assert ev.status == READ and ev.mta == "postfix" and ev.fmt == "json" and ev.total == 6


async def test_old_postqueue_without_j_falls_back_to_p(tmp_path: Path) -> None:
    out = data_file(tmp_path, POSTQUEUE_P)
    cmd = script(
        tmp_path,
        "postqueue",
        f'if [ "$1" = -j ]; then echo "postqueue: invalid option -- \'j\'" >&2; exit 64; fi\n'
        f"cat {out}",
    )
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": cmd}, now=NOW), 10)
    assert ev.status == READ and ev.fmt == "text" and ev.total == 4
    assert ev.command.endswith("-p") and "Postfix < 3.1" in ev.detail


async def test_empty_postfix_queue(tmp_path: Path) -> None:
    cmd = script(tmp_path, "postqueue", "exit 0")
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": cmd}, now=NOW), 10)
    assert ev.status == READ and ev.total == 0 and ev.oldest_s is None
    found = judge(ev)
    assert [f.code for f in found if isinstance(f, Finding)] == ["queue.ok"]


async def test_exim_reads_count_then_list(tmp_path: Path) -> None:
    out = data_file(tmp_path, EXIM_BP)
    cmd = script(tmp_path, "exim", f'if [ "$1" = -bpc ]; then echo 7; else cat {out}; fi')
    ev = await read_queue(QueueRequest(mta="exim", commands={"exim": cmd}, now=NOW), 10)
    # -bpc is the count (7: mail arrived between the two commands); -bp gave the details.
    assert ev.status == READ and ev.mta == "exim" and ev.total == 7 and ev.parsed == 3
    assert ev.frozen == 1


async def test_sendmail_mailq_command(tmp_path: Path) -> None:
    out = data_file(tmp_path, SENDMAIL_MAILQ)
    cmd = script(tmp_path, "mailq", f"cat {out}")
    ev = await read_queue(QueueRequest(mta="sendmail", commands={"mailq": cmd}, now=NOW), 10)
    assert ev.status == READ and ev.mta == "sendmail" and ev.total == 2


async def test_missing_command_says_run_it_on_the_server() -> None:
    ev = await read_queue(
        QueueRequest(mta="postfix", commands={"postqueue": "/nonexistent/postqueue"}), 10
    )
    assert ev.status == NOT_FOUND and ev.mta == "postfix"
    (nc,) = judge(ev)
    assert isinstance(nc, NotChecked)
    assert "not found" in nc.reason and "run diagnose on the mail server itself" in nc.reason


async def test_postfix_installed_but_not_configured_here(tmp_path: Path) -> None:
    cmd = script(
        tmp_path,
        "postqueue",
        "echo 'postqueue: fatal: open /etc/postfix/main.cf: No such file or directory' >&2; "
        "exit 75",
    )
    ev = await read_queue(QueueRequest(commands={"postqueue": cmd}), 10)
    assert ev.status == NOT_FOUND and ev.mta == "postfix"
    (nc,) = judge(ev)
    assert isinstance(nc, NotChecked) and "main.cf: No such file" in nc.reason
    assert "postqueue -c DIR" in nc.reason and "run diagnose on the mail server" in nc.reason


async def test_permission_denied_and_mail_system_down(tmp_path: Path) -> None:
    denied = script(
        tmp_path,
        "pq-denied",
        "echo 'postqueue: fatal: open /etc/postfix/main.cf: Permission denied' >&2; exit 75",
    )
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": denied}), 10)
    assert ev.status == DENIED and "Permission denied" in ev.detail
    (nc,) = judge(ev)
    assert isinstance(nc, NotChecked) and "as root" in nc.reason
    down = script(
        tmp_path,
        "pq-down",
        "echo 'postqueue: fatal: Queue report unavailable - mail system is down' >&2; exit 69",
    )
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": down}), 10)
    assert ev.status == DOWN
    (nc,) = judge(ev)
    assert isinstance(nc, NotChecked) and "not running" in nc.reason
    # A file that is not executable.
    plain = tmp_path / "not-executable"
    plain.write_text("x")
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": str(plain)}), 10)
    assert ev.status == DENIED


async def test_a_hanging_command_is_killed_at_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    # A wrapper whose child holds the pipes: the whole process group is killed.
    cmd = script(tmp_path, "postqueue", f"sleep 60 & echo $! > {pidfile}; wait")
    t0 = time.monotonic()
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": cmd}), 0.5)
    assert time.monotonic() - t0 < 5
    assert ev.status == TIMEOUT and "did not finish in 0.5 s" in ev.detail
    pid = int(pidfile.read_text())
    await _gone(pid)
    (nc,) = judge(ev)
    assert isinstance(nc, NotChecked) and "sign of a large backlog" in nc.reason


async def test_endless_output_is_bounded_and_counted(tmp_path: Path) -> None:
    line = POSTQUEUE_J.splitlines()[0].decode()
    pidfile = tmp_path / "pid"
    cmd = script(tmp_path, "postqueue", f"echo $$ > {pidfile}; exec yes '{line}'")
    t0 = time.monotonic()
    req = QueueRequest(mta="postfix", commands={"postqueue": cmd}, max_bytes=1 << 20, now=NOW)
    ev = await read_queue(req, 10)
    assert time.monotonic() - t0 < 8
    assert ev.status == READ and ev.truncated and ev.total > 2000
    assert ev.senders[0] == Count("newsletter@busy.test", ev.total)
    await _gone(int(pidfile.read_text()))
    found = judge(ev)
    assert {f.code for f in found if isinstance(f, Finding)} >= {
        "queue.backlog",
        "queue.one_sender_floods",
    }
    assert any(isinstance(x, NotChecked) and "output bound" in x.reason for x in found)


async def test_output_that_is_not_a_queue_listing(tmp_path: Path) -> None:
    cmd = script(tmp_path, "postqueue", "echo 'Segmentation fault'; exit 0")
    ev = await read_queue(QueueRequest(mta="postfix", commands={"postqueue": cmd}), 10)
    assert ev.status == ERROR and "not understood" in ev.detail
    (nc,) = judge(ev)
    assert isinstance(nc, NotChecked) and "Segmentation fault" in nc.reason


async def test_run_command_reports_exit_status_and_stderr(tmp_path: Path) -> None:
    cmd = script(tmp_path, "c", "echo out; echo err >&2; exit 3")
    out = await run_command([cmd], 5)
    assert out.status == READ and out.rc == 3 and out.stdout == b"out\n" and out.stderr == "err"


def test_queue_probes_is_a_request_probe() -> None:
    from maildoctor.probes import all_probes

    specs = queue_probes(QueueRequest())
    assert list(specs) == [KEY] == ["queue.local"] and specs[KEY].after == ()
    assert KEY not in all_probes()  # `check` never plans it


async def _gone(pid: int) -> None:
    import asyncio

    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        stat_text = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}").exists() else ""
        if ") Z" in stat_text:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


# ------------------------------------------------------------------ checks


def ctx() -> CheckContext:
    return CheckContext(Settings(), catalogue.load())


def judge(ev: QueueEvidence) -> list[Finding | NotChecked]:
    return list(queue_local(ctx(), ev))


def codes(items: list[Finding | NotChecked]) -> list[str]:
    return sorted(i.code for i in items if isinstance(i, Finding))


def queue_ev(**kw: object) -> QueueEvidence:
    base = QueueEvidence(
        status=READ,
        mta="postfix",
        command="postqueue -j",
        fmt="json",
        total=40,
        queues=(Count("active", 2), Count("deferred", 38)),
        oldest_s=3600.0,
        oldest_id="39E7E164E1B",
        senders=(Count("alice@example.com", 12), Count("bob@example.com", 10)),
        domains=(Count("example.net", 20),),
        reasons=(Count("connect to HOST: Connection refused", 8, REFUSED),),
        parsed=40,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_small_queue_is_ok() -> None:
    found = judge(queue_ev())
    assert codes(found) == ["queue.ok"]
    (ok,) = found
    assert isinstance(ok, Finding) and "40 messages" in ok.title and "2 active" in ok.cause


def test_backlog_warning_then_error_at_ten_times() -> None:
    found = judge(queue_ev(total=600, queues=(Count("active", 100), Count("deferred", 500))))
    (b,) = [f for f in found if isinstance(f, Finding) and f.code == "queue.backlog"]
    assert b.severity is Severity.WARNING and b.title.startswith("600 messages")
    assert "postsuper -d ALL deferred" in b.fix and "postqueue -f" in b.fix
    assert "smtpd_client_message_rate_limit" in b.fix and "ratelimit" in b.fix
    assert "overloaded" in b.symptoms
    # The top reason comes with the backlog, whatever its count.
    assert "queue.deferred_reason" in codes(found) and "queue.ok" not in codes(found)
    big = judge(queue_ev(total=5600, queues=(Count("deferred", 5600),)))
    (b,) = [f for f in big if isinstance(f, Finding) and f.code == "queue.backlog"]
    assert b.severity is Severity.ERROR
    # Hold and incoming do not count as waiting for delivery.
    held = judge(queue_ev(total=900, queues=(Count("hold", 890), Count("deferred", 10))))
    assert "queue.backlog" not in codes(held)
    # A custom threshold (the request's) is what counts.
    assert "queue.backlog" in codes(judge(queue_ev(backlog_threshold=20)))


def test_exim_backlog_counts_the_whole_queue() -> None:
    ev = queue_ev(mta="exim", total=800, queues=(Count("queue", 800),), reasons=())
    assert "queue.backlog" in codes(judge(ev))


def test_one_sender_floods() -> None:
    senders = (Count("newsletter@busy.test", 540), Count("alice@busy.test", 30))
    ev = queue_ev(total=600, parsed=600, queues=(Count("deferred", 600),), senders=senders)
    found = judge(ev)
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "queue.one_sender_floods"]
    # With a backlog it is critical: the flood is what overloads the server.
    assert f.severity is Severity.CRITICAL and "90%" in f.title
    assert "newsletter@busy.test" in f.title and "540 of the 600" in f.cause
    assert "postsuper -h -" in f.fix and "postsuper -d -" in f.fix and "exim -Mrm" in f.fix
    assert "change its password" in f.fix and "maildoctor check busy.test" in f.fix
    assert set(f.symptoms) >= {"overloaded", "cannot-send"}
    small = judge(replace(ev, total=150, parsed=150, queues=(Count("deferred", 150),),
                          senders=(Count("newsletter@busy.test", 120),)))  # fmt: skip
    (f,) = [x for x in small if isinstance(x, Finding) and x.code == "queue.one_sender_floods"]
    assert f.severity is Severity.ERROR
    # Below flood_min messages, or at half or less, no verdict on senders.
    assert "queue.one_sender_floods" not in codes(
        judge(replace(ev, total=99, parsed=99, senders=(Count("a@b.example", 99),)))
    )
    assert "queue.one_sender_floods" not in codes(
        judge(replace(ev, senders=(Count("a@b.example", 300), Count("c@d.example", 300))))
    )


def test_a_flood_of_bounces_is_named_backscatter() -> None:
    ev = queue_ev(total=200, parsed=200, senders=(Count("<>", 180),))
    (f,) = [x for x in judge(ev) if isinstance(x, Finding) and x.code == "queue.one_sender_floods"]
    assert "backscatter" in f.cause and "smtpd_reject_unlisted_recipient" in f.cause


def test_old_messages() -> None:
    found = judge(queue_ev(oldest_s=3.5 * 86400, oldest_id="4A1B2C3D4E5"))
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "queue.old_messages"]
    assert f.severity is Severity.WARNING and "3.5 days" in f.title
    assert "postcat -q 4A1B2C3D4E5" in f.fix and "example.net" in f.cause
    assert "queue.old_messages" not in codes(judge(queue_ev(oldest_s=23 * 3600)))


def test_frozen_exim_messages() -> None:
    ev = queue_ev(mta="exim", total=3, queues=(Count("queue", 3),), frozen=2, reasons=())
    found = judge(ev)
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "queue.frozen"]
    assert "2 frozen" in f.title and "exim -Mt" in f.fix and "timeout_frozen_after" in f.fix


def test_deferred_reason_uses_the_explain_knowledge() -> None:
    reasons = (Count(normalise_reason(SUSPENDED), 570, SUSPENDED),)
    found = judge(queue_ev(total=600, queues=(Count("deferred", 600),), reasons=reasons))
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "queue.deferred_reason"]
    assert "Too many connections" in f.title and "570 of the 600" in f.cause
    assert "smtp_destination_concurrency_limit" in f.fix
    assert "maildoctor explain 'delivery temporarily suspended" in f.fix
    # An unknown reason still gets the generic reading, and quotes in it stay shell-safe.
    odd = "frobnicator x.example[192.0.2.9] it's zorked"
    found = judge(queue_ev(total=100, reasons=(Count(normalise_reason(odd), 60, odd),)))
    (f,) = [x for x in found if isinstance(x, Finding) and x.code == "queue.deferred_reason"]
    assert "it'\\''s zorked'" in f.fix and "RFC 5321 4.5.4.1" in f.cause
    assert "60 of the 100" in f.cause
    # A few deferrals in a healthy queue are not a finding.
    assert codes(judge(queue_ev())) == ["queue.ok"]


def test_every_status_that_is_not_read_is_not_checked() -> None:
    for status in (NOT_FOUND, DENIED, DOWN, TIMEOUT, ERROR):
        found = judge(QueueEvidence(status=status, mta="postfix", command="postqueue -j",
                                    detail="something"))  # fmt: skip
        assert len(found) == 1 and isinstance(found[0], NotChecked), status
        assert found[0].what == "mail queue"
