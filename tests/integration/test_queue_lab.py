"""busy.test, the lab's "overloaded" scenario: the real queue of the postfix-busy instance
(600 deferred messages, 540 from newsletter@busy.test, deferred by the 421 of 127.0.10.22),
read with `postqueue -c DIR -j` through the request probe, and the 421 greeting seen by
`maildoctor check` as smtp.busy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from maildoctor.checks import all_checks
from maildoctor.cli import run
from maildoctor.engine import run_checks
from maildoctor.probes import all_probes
from maildoctor.probes.queue import QueueRequest, queue_probes
from maildoctor.report import Finding, Report, Severity
from maildoctor.settings import Resolver, Settings

from .conftest import Lab

pytestmark = pytest.mark.lab


def config_dir(lab: Lab) -> str:
    busy = lab.state.get("busy_queue")
    if not isinstance(busy, dict) or not Path(str(busy["postfix_config_dir"])).is_dir():
        pytest.skip("lab has no busy.test queue (up.json busy_queue): run lab/up")
    return str(busy["postfix_config_dir"])


def real_queue(conf: str) -> list[dict[str, object]]:
    """What Postfix itself says is queued, independently of maildoctor's parser."""
    out = subprocess.run(
        ["postqueue", "-c", conf, "-j"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def diagnose_queue(lab: Lab, req: QueueRequest) -> Report:
    settings = Settings(
        resolvers=(Resolver(lab.resolver, lab.resolver_port),),
        allow_private=True,
        ca_file=Path(lab.ca_file),
    )
    checks = [c for c in all_checks() if c.area == "queue"]
    return asyncio.run(
        run_checks("busy.test", settings, checks, specs={**all_probes(), **queue_probes(req)})
    )


def by_code(report: Report, code: str) -> Finding:
    (f,) = [f for f in report.findings if f.code == code]
    return f


def test_busy_queue_is_a_backlog_flooded_by_one_sender(lab: Lab) -> None:
    conf = config_dir(lab)
    queued = real_queue(conf)
    senders = Counter(str(m["sender"]) for m in queued)
    flood, flood_n = senders.most_common(1)[0]
    assert len(queued) >= 550 and flood == "newsletter@busy.test"  # the lab plants 600 / 540
    report = diagnose_queue(lab, QueueRequest(config_dir=conf))
    assert report.not_checked == ()
    codes = {f.code for f in report.findings}
    expected = {"queue.backlog", "queue.one_sender_floods", "queue.deferred_reason"}
    oldest = min(float(str(m["arrival_time"])) for m in queued)
    if time.time() - oldest > 86400:  # a lab up for more than a day: the backlog is old too
        expected.add("queue.old_messages")
    assert codes == expected
    backlog = by_code(report, "queue.backlog")
    assert backlog.severity is Severity.WARNING  # 600 > 500, below 10 x 500
    assert backlog.title == f"{len(queued)} messages wait in the mail queue"
    assert f"-c {conf} -j" in backlog.evidence
    flood_f = by_code(report, "queue.one_sender_floods")
    assert flood_f.severity is Severity.CRITICAL
    assert f"{flood_n} of the {len(queued)} queued messages" in flood_f.cause
    assert f"{flood_n / len(queued):.0%}" in flood_f.title
    reason = by_code(report, "queue.deferred_reason")
    assert "421 4.7.0 mx.busy.test Error: too many connections from 127.0.0.1" in reason.cause
    assert "overloaded" in flood_f.symptoms and "overloaded" in backlog.symptoms
    ev = report.evidence["queue.local"]
    assert ev.total == len(queued) and ev.in_queue("deferred") == sum(
        1 for m in queued if m["queue_name"] == "deferred"
    )


def test_a_higher_threshold_sees_no_backlog_but_still_the_flood(lab: Lab) -> None:
    conf = config_dir(lab)
    report = diagnose_queue(lab, QueueRequest(config_dir=conf, backlog_threshold=10_000))
    codes = {f.code for f in report.findings}
    assert "queue.backlog" not in codes and "queue.ok" not in codes
    assert by_code(report, "queue.one_sender_floods").severity is Severity.ERROR


def test_the_good_instance_queue_is_ok(lab: Lab) -> None:
    conf = str(lab.run / "postfix-good" / "etc")
    report = diagnose_queue(lab, QueueRequest(config_dir=conf))
    problems = [f.code for f in report.findings if f.severity.is_problem]
    assert problems == [] and "queue.ok" in {f.code for f in report.findings}


def test_check_busy_test_says_the_server_is_busy(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run(
        [
            "check",
            "busy.test",
            "--resolver",
            lab.resolver,
            "--allow-private",
            "--ca-file",
            str(lab.ca_file),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    busy = [f for f in data["findings"] if f["code"] == "smtp.busy"]
    assert sorted(f["subject"] for f in busy) == [
        "mail.busy.test (127.0.10.22:587)",
        "mx.busy.test (127.0.10.22:25)",
    ]
    for f in busy:
        assert f["severity"] == "warning"
        assert "421 4.7.0 mx.busy.test Error: too many connections from 127.0.0.1" in f["cause"]
    problems = {f["code"] for f in data["findings"] if f["severity"] not in ("ok", "info")}
    assert problems == {"smtp.busy"} and rc == 0
    # The session checks that needed the conversation say why they could not run.
    assert any("421" in n["reason"] for n in data["not_checked"])
    # `check` never reads a local queue.
    assert not [f for f in data["findings"] if f["code"].startswith("queue.")]
