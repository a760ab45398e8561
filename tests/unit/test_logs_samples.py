"""Whole logs against their true counts: hand-counted Exim and Sendmail samples, and segments
the real lab Postfix and Dovecot wrote during a lab/logdriver run (with the driver's counts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maildoctor.logs.analyze import Options, analyze
from maildoctor.logs.model import Thresholds

DATA = Path(__file__).resolve().parents[1] / "data" / "logs"
COUNTS = json.loads((DATA / "counts.json").read_text())


def _summary(*names: str, **opts: Any) -> tuple[dict[str, Any], list[str]]:
    unparsed: list[str] = []
    s = analyze([str(DATA / n) for n in names], Options(on_unparsed=unparsed.append, **opts))
    return s.to_json(), unparsed


@pytest.mark.parametrize("name", [n for n in COUNTS if not n.startswith("_")])
def test_hand_counted_sample(name: str) -> None:
    want = COUNTS[name]
    got, unparsed = _summary(name)
    assert got["lines"] == want["lines"]
    assert got["parsed"] + got["unparsed"] == got["lines"]
    assert got["unparsed"] == want["unparsed"] == len(unparsed)
    for key in ("messages", "relay_denied", "brute_force_ips"):
        if key in want:
            assert got[key] == want[key], key
    for key, value in want.get("deliveries", {}).items():
        assert got["deliveries"][key] == value, key
    if "by_client" in want:
        assert got["deliveries"]["by_client"] == want["by_client"]
    for key in ("bounce_reasons", "deferral_reasons", "reject_reasons"):
        if key in want:
            assert {r["reason"]: r["count"] for r in got[key]} == want[key], key
            assert all(r["example"] for r in got[key])
    if "auth_failures" in want:
        for key, value in want["auth_failures"].items():
            assert got["auth_failures"][key] == value, key
    for key, sub in (
        ("dnsbl_rejections", "by_zone"),
        ("size_rejected", "by_ip"),
        ("tls_failures", "by_ip"),
        ("mailbox_full", "by_user"),
    ):
        if key in want:
            assert got[key][sub] == want[key], key
    for key in ("rate_limited", "faults"):
        if key in want:
            assert got[key]["total"] == want[key], key
    if "top_senders" in want:
        assert {d["sender"]: d["messages"] for d in got["top_senders"]} == want["top_senders"]
    if "accounts" in want:
        assert {d["user"]: [d["messages"], d["recipients"]] for d in got["accounts"]} == want[
            "accounts"
        ]


def test_sendmail_brute_force_with_a_lower_threshold() -> None:
    got, _ = _summary(
        "sendmail-maillog", thresholds=Thresholds(brute_force_count=3, brute_force_window=60)
    )
    assert got["brute_force_ips"] == ["192.0.2.77"]
    (b,) = got["brute_force"]
    assert (b["failures"], b["users"]) == (3, ["admin", "root"])
    assert b["first_seen"].endswith("09:20:01Z") and b["last_seen"].endswith("09:20:05Z")
    # The same three failures spread over more than the window are no attack.
    got, _ = _summary(
        "sendmail-maillog", thresholds=Thresholds(brute_force_count=3, brute_force_window=2)
    )
    assert got["brute_force_ips"] == []


def test_exim_logs_together_detect_exim_only() -> None:
    got, unparsed = _summary("exim-mainlog", "exim-rejectlog", "exim-paniclog")
    assert got["mtas"] == ["exim"]
    assert unparsed == []
    assert got["lines"] == 48 + 16 + 3
    assert got["faults"]["by_level"] == {"panic": 3}


# -- the real lab's logs ---------------------------------------------------------------------

LAB = json.loads((DATA / "lab-counts.json").read_text())
DRIVER_IPS = set(LAB["clients"].values())


def _by_ip(counts: dict[str, Any], kind: str) -> dict[str, int]:
    return {ip: n for ip, n in counts[kind]["by_ip"].items() if ip in DRIVER_IPS or ip == "local"}


def test_lab_recorded_segment_matches_the_driver() -> None:
    got, unparsed = _summary(
        "lab-postfix-good.log", "lab-postfix-faults.log", "lab-dovecot-good.log"
    )
    c = LAB["counts"]
    assert unparsed == []
    assert got["mtas"] == ["dovecot", "postfix"]
    by_client = got["deliveries"]["by_client"]
    for kind, status in (("delivered", "sent"), ("bounced", "bounced"), ("deferred", "deferred")):
        assert {ip: row[status] for ip, row in by_client.items() if row[status]} == _by_ip(c, kind)
        assert got["deliveries"][status] == c[kind]["total"]
    failures = {k: c[k] for k in ("smtp_auth_failed", "imap_login_failed", "pop3_login_failed")}
    want_ip: dict[str, int] = {}
    want_user: dict[str, int] = {}
    for counts in failures.values():
        for ip, n in counts["by_ip"].items():
            want_ip[ip] = want_ip.get(ip, 0) + n
        for user, n in counts["by_user"].items():
            want_user[user] = want_user.get(user, 0) + n
    assert {ip: n for ip, n in got["auth_failures"]["by_ip"].items() if ip in DRIVER_IPS} == want_ip
    assert got["auth_failures"]["by_user"] == want_user
    assert got["auth_failures"]["by_service"] == {
        "smtp": c["smtp_auth_failed"]["total"],
        "imap": c["imap_login_failed"]["total"],
        "pop3": c["pop3_login_failed"]["total"],
    }
    assert got["brute_force_ips"] == [LAB["clients"]["attacker"]]
    assert {ip: n for ip, n in got["relay_denied_by_ip"].items() if ip in DRIVER_IPS} == _by_ip(
        c, "relay_denied"
    )
    assert {ip: n for ip, n in got["tls_failures"]["by_ip"].items() if ip in DRIVER_IPS} == _by_ip(
        c, "tls_failed"
    )
    assert got["size_rejected"]["by_ip"] == _by_ip(c, "size_rejected")
    assert got["plaintext_refused"]["by_ip"] == _by_ip(c, "plaintext_refused")
    assert got["logins_ok"] == {
        "imap": c["imap_login_ok"]["total"],
        "pop3": c["pop3_login_ok"]["total"],
    }
    rejected_unknown = [r for r in got["reject_reasons"] if r["reason"] == "user unknown"]
    assert rejected_unknown and rejected_unknown[0]["count"] == c["rejected_unknown_user"]["total"]
    assert {r["reason"] for r in got["bounce_reasons"]} == {"user unknown"}
    assert {r["reason"] for r in got["deferral_reasons"]} == {"connection refused"}


def test_a_log_across_new_year_is_dated_right(tmp_path: Path) -> None:
    import os
    import time

    path = tmp_path / "mail.log"
    path.write_text(
        "Dec 31 23:59:58 mx postfix/smtpd[1]: connect from a[192.0.2.1]\n"
        "Dec 31 23:59:59 mx postfix/smtpd[1]: warning: a[192.0.2.1]: SASL LOGIN authentication "
        "failed: authentication failure\n"
        "Jan  1 00:00:01 mx postfix/smtpd[1]: warning: a[192.0.2.1]: SASL LOGIN authentication "
        "failed: authentication failure\n"
        "Jan  1 00:00:02 mx postfix/smtpd[1]: disconnect from a[192.0.2.1]\n"
    )
    written = time.mktime((2027, 1, 1, 0, 5, 0, 0, 0, -1))
    os.utime(path, (written, written))
    s = analyze([str(path)])
    assert s.first_seen is not None and s.last_seen is not None
    assert time.localtime(s.first_seen)[:6] == (2026, 12, 31, 23, 59, 58)
    assert time.localtime(s.last_seen)[:6] == (2027, 1, 1, 0, 0, 2)
    assert s.last_seen - s.first_seen == 4
    got = s.to_json()
    assert got["auth_failures"]["total"] == 2 and got["lines"] == got["parsed"] == 4
