#!/usr/bin/env python3
"""Write docs/symptoms.md: one real `maildoctor diagnose` session per symptom, on the lab.

Run as root with the lab up (make symptoms-doc). Each session runs the installed CLI against
the scenario built for its symptom and pastes the terminal output as it came.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB_FLAGS = "--resolver 127.0.53.53 --allow-private --ca-file /run/maildoctor-lab/ca/ca.crt"
ACCOUNT = "--user alice@good.test --password-env MAIL_PW"

# symptom, scenario (what the lab plants), the arguments after `maildoctor diagnose`
SESSIONS = [
    (
        "password-rejected",
        "sub-mismatch.test: SMTP AUTH on the submission ports checks an old password of "
        "alice@good.test, IMAP and POP3 the current one (127.0.10.21).",
        f"sub-mismatch.test --symptom password-rejected {ACCOUNT}",
    ),
    (
        "cannot-receive",
        "closed.test: the MX address exists but nothing listens on any mail port (127.0.10.13).",
        "closed.test --symptom cannot-receive",
    ),
    (
        "webmail-login",
        "webmail-down.test: nginx serves the webmail host, but the webmail application behind "
        "it is down (502 Bad Gateway).",
        "webmail-down.test --symptom webmail-login --webmail https://webmail.webmail-down.test/",
    ),
    (
        "client-ssl-error",
        "cert-expired.test: every TLS port serves an expired certificate (127.0.10.5).",
        "cert-expired.test --symptom client-ssl-error",
    ),
    (
        "cannot-send",
        "sub-noauth.test: port 587 offers STARTTLS but no AUTH at all (127.0.10.4).",
        f"sub-noauth.test --symptom cannot-send {ACCOUNT}",
    ),
    (
        "spam-folder",
        "dnsbl.test: SPF, DKIM and DMARC are right, but the server's address is on the lab's "
        "blacklists (127.0.10.11).",
        "dnsbl.test --symptom spam-folder",
    ),
    (
        "overloaded",
        "busy.test: the MX answers 421 (too many connections) and its queue holds a backlog, "
        "most of it from one sender.",
        "busy.test --symptom overloaded --postfix-config /run/maildoctor-lab/postfix-busy/etc "
        "--log /run/maildoctor-lab/log/postfix-busy.log",
    ),
    (
        "large-attachments",
        "size-1mb.test: Postfix message_size_limit = 1048576 (127.0.10.10).",
        f"size-1mb.test --symptom large-attachments {ACCOUNT} --to postmaster@size-1mb.test",
    ),
]

INTRO = """# Symptoms: one `maildoctor diagnose` session each

People report what they see, not finding codes. `maildoctor diagnose DOMAIN --symptom NAME`
runs only the checks whose findings can explain that symptom (the catalogue names, for every
finding, the symptoms it explains), adds what you give it (an account, a mail log, the webmail
address, a message that landed in spam, the local queue), and ends with the most likely cause
first, its evidence, the fix step by step, the other possible causes and what was ruled out.
Without `--symptom`, on a terminal, a menu asks; without a terminal it exits 2 and asks for
`--symptom`.

| symptom | what the person says | what diagnose uses besides DNS and the servers |
|---|---|---|
{table}

Ranking: the worse finding first; between findings of the same severity, the area where a cause
of this symptom usually sits (for cannot-receive: DNS, then MX, then port 25...). A finding
about a server counts for the symptoms of its role: port 25 refused explains "cannot receive",
port 587 refused "cannot send". `--json` prints the report contract with the causes first and a
`diagnosis` object (docs/report.schema.json).

The sessions below ran on the lab (`make lab-up`; `make symptoms-doc` writes this page), with
`{flags}` and the lab account's password in `MAIL_PW`. Each scenario
plants one fault; the cause diagnose names first is that fault
(tests/integration/test_diagnose_lab.py checks the same).
"""

USES = {
    "account": "an account (--user)",
    "send": "one test message (--user, --to)",
    "log": "mail logs (--log)",
    "webmail": "the webmail URL (--webmail)",
    "message": "a message that landed in spam (--eml)",
    "queue": "on the server: the mail queue (--postfix-config), load, memory and disks",
}


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from maildoctor.symptoms import BY_NAME

    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", MAIL_PW="alice-Lab-2026")
    exe = ROOT / ".venv/bin/maildoctor"
    rows = "\n".join(
        f"| `{s.name}` | {s.menu} | {', '.join(USES[u] for u in s.uses)} |"
        for s in BY_NAME.values()
    )
    parts = [INTRO.format(table=rows, flags=LAB_FLAGS)]
    for name, scenario, args in SESSIONS:
        shown = f"maildoctor diagnose {args}"
        cmd = [str(exe), "diagnose", *args.split(), *LAB_FLAGS.split()]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
        if done.returncode not in (0, 1):
            print(f"{name}: exit {done.returncode}: {done.stderr.strip()}", file=sys.stderr)
            return 1
        out = "\n".join(line.rstrip() for line in done.stdout.splitlines())
        parts.append(
            f"## {name}: {BY_NAME[name].menu}\n\nScenario: {scenario}\n\n"
            f"```\n$ {shown}\n{out}\n```\n\nExit status {done.returncode}.\n"
        )
    (ROOT / "docs/symptoms.md").write_text("\n".join(parts))
    print("wrote docs/symptoms.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
