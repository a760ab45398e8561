#!/usr/bin/env python3
"""The lab's mail side: render, start, check and stop Postfix, Dovecot and the lab fakes.

    mailctl.py up       (what lab/mail/up runs)   idempotent; fast when already running
    mailctl.py down     (what lab/mail/down runs) stops only what up started, by PID
    mailctl.py status   prints what runs and which expected ports answer

Instances (all state under $LAB_RUN, default /run/maildoctor-lab):
  postfix-good    127.0.10.1 25/587/465, the control, delivers good.test to Dovecot over LMTP
  postfix-faults  every other 127.0.10.x SMTP listener, one planted fault per address
                  (lab/mail/postfix/faults.services)
  dovecot-good    127.0.10.1 143/993/110/995, LMTP and the SASL socket of every Postfix
  dovecot-faults  127.0.10.5/.6/.7 (bad certificates), .14 (POP3 only), .15 (plaintext login)
  fakes           lab/mail/fakes.py: 127.0.10.12 accepts on 25/587/465 and never greets
  postfix-busy    no listener: the mail queue of busy.test, a backlog of BUSY_QUEUE messages
                  (most from one sender) deferred by the 421 of 127.0.10.22, for
                  `postqueue -c $LAB_RUN/postfix-busy/etc -j`
Servers run inside `unshare --mount` with $LAB_RUN/resolv.conf bind-mounted over
/etc/resolv.conf, so every DNS lookup they make goes to the lab resolver.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAB_DIR = HERE.parent
RUN = Path(os.environ.get("MAILDOCTOR_LAB_RUN", "/run/maildoctor-lab"))
CERTS = RUN / "certs"
LOG = RUN / "log"
PIDS = RUN / "pids"

GOOD_IP = "127.0.10.1"
# Accepted by Postfix good (listed in its mailbox table) but unknown to Dovecot: LMTP refuses
# it, so mail to it is accepted at RCPT and then bounced (a real "accepted-then-bounced").
GHOST = "ghost@good.test"
FAKES = [
    ("silent", "127.0.10.12", 25),
    ("silent", "127.0.10.12", 587),
    ("silent", "127.0.10.12", 465),
]
# The faults Dovecot serves IMAP and POP3 on every fault host, so that each scenario plants only
# its own fault: a clean Dovecot with the host's own certificate, except where the fault is
# Dovecot's (.5/.6/.7 bad certificates, .14 no IMAP, .15 plaintext login). .13 serves nothing.
# ip -> (ports, certificate stem)
DOVECOT_FAULTS = {
    "127.0.10.2": ((143, 993, 110, 995), "mx.open-relay.test"),
    "127.0.10.3": ((143, 993, 110, 995), "mx.sub-plain.test"),
    "127.0.10.4": ((143, 993, 110, 995), "mx.sub-noauth.test"),
    "127.0.10.5": ((143, 993, 110, 995), "expired"),
    "127.0.10.6": ((143, 993, 110, 995), "wronghost"),
    "127.0.10.7": ((143, 993, 110, 995), "selfsigned"),
    "127.0.10.8": ((143, 993, 110, 995), "mx.plain465.test"),
    "127.0.10.9": ((143, 993, 110, 995), "mx.tls10.test"),
    "127.0.10.10": ((143, 993, 110, 995), "mx.size-1mb.test"),
    "127.0.10.11": ((143, 993, 110, 995), "mx.dnsbl.test"),
    "127.0.10.12": ((143, 993, 110, 995), "mx.no-greet.test"),
    "127.0.10.14": ((110, 995), "mx.imap-down.test"),
    "127.0.10.15": ((143, 993, 110, 995), "mx.imap-plain.test"),
    "127.0.10.16": ((143, 993, 110, 995), "mx.slow-greet.test"),
    "127.0.10.17": ((143, 993, 110, 995), "mx.greet-554.test"),
    "127.0.10.18": ((143, 993, 110, 995), "mx.ptr-missing.test"),
    "127.0.10.19": ((143, 993, 110, 995), "mx.ptr-mismatch.test"),
    "127.0.10.20": ((143, 993, 110, 995), "mx.helo-mismatch.test"),
    "127.0.10.21": ((143, 993, 110, 995), "mx.sub-mismatch.test"),
    "127.0.10.22": ((143, 993, 110, 995), "mx.busy.test"),
}
# Clients the fakes process runs (mode "hold", see fakes.py): one session held open to each
# busy.test service, whose connection limit is 1, so that every other client gets Postfix's
# own "421 4.7.0 mx.busy.test Error: too many connections from 127.0.0.1".
HOLDERS = [("hold", "127.0.10.22", 25), ("hold", "127.0.10.22", 587)]
PLAINTEXT_LOGIN_IPS = ("127.0.10.15",)


def dovecot_fault_macros() -> dict[str, str]:
    """Listener addresses and per-address blocks of the faults Dovecot, from DOVECOT_FAULTS."""

    def on(port: int) -> str:
        return ", ".join(ip for ip, (ports, _) in DOVECOT_FAULTS.items() if port in ports)

    blocks = []
    for ip, (_, stem) in DOVECOT_FAULTS.items():
        lines = [f"local {ip} {{", f"  ssl_cert = <{CERTS}/{stem}.crt", f"  ssl_key = <{CERTS}/{stem}.key"]
        if ip in PLAINTEXT_LOGIN_IPS:
            lines.append("  # The fault: LOGIN / USER+PASS accepted in clear on 143 and 110.")
            lines.append("  disable_plaintext_auth = no")
        blocks.append("\n".join([*lines, "}"]))
    return {
        "LISTEN": ", ".join(DOVECOT_FAULTS),
        "IMAP": on(143),
        "IMAPS": on(993),
        "POP3": on(110),
        "POP3S": on(995),
        "LOCALS": "\n".join(blocks),
    }


MACROS = {
    # TLS 1.0 accepted: protocols down to TLSv1 and OpenSSL security level 0 (OpenSSL 3 refuses
    # TLS 1.0/1.1 at level 1 and above).
    "@TLS10@": "-o smtpd_tls_protocols=>=TLSv1 -o smtpd_tls_mandatory_protocols=>=TLSv1"
    " -o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0"
    " -o tls_high_cipherlist=DEFAULT:@SECLEVEL=0",
    # Greeting after 8 s: client restrictions run before the banner when delay_reject is off.
    "@SLOW@": "-o smtpd_delay_reject=no -o smtpd_client_restrictions=sleep,8",
    # 554 greeting: Postfix answers the connection with its 554 client reject instead of 220.
    "@REJECT554@": "-o smtpd_delay_reject=no -o smtpd_client_restrictions=reject",
    # Password out of sync between protocols: SMTP AUTH asks the faults Dovecot, whose SMTP
    # password file holds an old password for alice (see render_dovecot).
    "@SASL_FAULTS@": f"-o smtpd_sasl_path={RUN}/dovecot-faults/run/auth-postfix",
    # An overloaded server: Postfix's own per-client connection limit at 1, with one session
    # held open by the fakes process (HOLDERS): every other connection from the lab's source
    # address 127.0.0.1 gets "421 4.7.0 mx.busy.test Error: too many connections from
    # 127.0.0.1" before any greeting, and the log says "warning: Connection concurrency limit
    # exceeded". The held session must not time out: long smtpd_timeout, NOOPs not counted.
    "@BUSY421@": "-o smtpd_client_connection_count_limit=1 -o smtpd_timeout=3600s"
    " -o smtpd_junk_command_limit=1000000",
}
# The busy.test queue (postfix-busy): how many messages, and from whom. The rest of the senders
# are ordinary users; one address holding most of the queue is what a compromised account or
# a runaway script looks like.
BUSY_QUEUE = 600
BUSY_FLOOD = ("newsletter@busy.test", 540)
BUSY_OTHERS = (("alice@busy.test", 30), ("bob@busy.test", 20), ("billing@busy.test", 10))
BUSY_RCPT_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
# alice's password as the SMTP side of 127.0.10.21 still has it (the protocol-mismatch fault).
STALE_SMTP_PASSWORDS = {"alice@good.test": "alice-Old-2025"}
KIND_OPTS = {
    "smtp": [],
    "submission": [
        "smtpd_tls_security_level=encrypt",
        "smtpd_sasl_auth_enable=yes",
        "smtpd_tls_auth_only=yes",
        "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
    ],
    "smtps": [
        "smtpd_tls_wrappermode=yes",
        "smtpd_sasl_auth_enable=yes",
        "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
    ],
    "plain": [],
}
PORT_LABEL = {25: "smtp", 587: "submission", 465: "smtps"}


def die(msg: str) -> None:
    sys.exit(f"lab/mail: {msg}")


def say(msg: str) -> None:
    print(f"lab/mail: {msg}", flush=True)


def hosts() -> list[tuple[str, str]]:
    out = []
    for line in (LAB_DIR / "hosts.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            ip, name = line.split("\t")[:2]
            out.append((ip, name))
    return out


def name_of(ip: str) -> str:
    return dict(hosts())[ip]


def users() -> list[tuple[str, str]]:
    out = []
    for line in (HERE / "users.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            user, password = line.split("\t")[:2]
            out.append((user, password))
    return out


def fault_services() -> list[tuple[str, int, str, str, list[str]]]:
    rows = []
    for line in (HERE / "postfix" / "faults.services").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        ip, port, kind, cert, extra = line.split("\t")
        for macro, text in MACROS.items():
            extra = extra.replace(macro, text)
        opts = [] if extra.strip() == "-" else extra.split()
        rows.append((ip, int(port), kind, cert, opts))
    return rows


# --------------------------------------------------------------------------- rendering


def service_line(ip: str, port: int, kind: str, opts: list[str], syslog: str) -> str:
    all_opts = [f"syslog_name={syslog}/{PORT_LABEL.get(port, str(port))}"] + KIND_OPTS[kind]
    all_opts += [o for o in opts if o != "-o"]
    lines = [f"{ip}:{port} inet  n       -       n       -       -       smtpd"]
    lines += [f"    -o {o}" for o in all_opts]
    return "\n".join(lines)


def render(template: str, values: dict[str, str]) -> str:
    text = (HERE / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        die(f"{template}: unrendered placeholders {sorted(set(left))}")
    return text


CHANGED: set[str] = set()  # instances ("postfix-good", ...) whose rendered files changed


def write(path: Path, text: str, mode: int = 0o644) -> None:
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    with contextlib.suppress(ValueError):
        CHANGED.add(path.relative_to(RUN).parts[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.rename(path)


def render_postfix() -> None:
    base = {"RUN": str(RUN), "CERTS": str(CERTS)}
    # good
    d = RUN / "postfix-good" / "etc"
    v = dict(base, INSTANCE="good")
    services = "\n".join(
        [
            f"{GOOD_IP}:25 inet  n       -       n       -       -       smtpd",
            service_line(GOOD_IP, 587, "submission", [], "postfix"),
            service_line(GOOD_IP, 465, "smtps", [], "postfix"),
        ]
    )
    write(
        d / "main.cf", render("postfix/main.cf.common.in", v) + render("postfix/main.cf.good.in", v)
    )
    write(d / "master.cf", render("postfix/master.cf.in", dict(v, SERVICES=services)))
    mailboxes = [u for u, _ in users()] + [GHOST]
    write(d / "vmailbox", "".join(f"{u}\tlab\n" for u in mailboxes))
    write(
        d / "transport",
        f"good.test\tlmtp:unix:{RUN}/dovecot-good/run/lmtp\ntest\tsmtp:\n.test\tsmtp:\n",
    )
    write(d / "valias", "postmaster@good.test\talice@good.test\nabuse@good.test\talice@good.test\n")
    # faults
    d = RUN / "postfix-faults" / "etc"
    v = dict(base, INSTANCE="faults")
    rows = fault_services()
    ips = sorted({r[0] for r in rows}, key=lambda ip: int(ip.rsplit(".", 1)[1]))
    domains = [name_of(ip).split(".", 1)[1] for ip in ips]
    svc = []
    for ip, port, kind, cert, opts in rows:
        stem = name_of(ip) if cert == "-" else cert
        extra = [f"smtpd_tls_chain_files={CERTS}/{stem}.pem", f"myhostname={name_of(ip)}"]
        extra += [o for o in opts if o != "-o"]
        svc.append(service_line(ip, port, kind, extra, "postfix-faults"))
    v.update(FAULT_IPS=", ".join(ips), FAULT_DOMAINS=", ".join(domains))
    write(
        d / "main.cf",
        render("postfix/main.cf.common.in", v) + render("postfix/main.cf.faults.in", v),
    )
    write(d / "master.cf", render("postfix/master.cf.in", dict(v, SERVICES="\n".join(svc))))
    write(d / "vmailbox", "".join(f"postmaster@{dom}\tlab\nalice@{dom}\tlab\n" for dom in domains))
    # busy: no listener, only a queue (see main.cf.busy.in)
    d = RUN / "postfix-busy" / "etc"
    v = dict(base, INSTANCE="busy")
    write(
        d / "main.cf", render("postfix/main.cf.common.in", v) + render("postfix/main.cf.busy.in", v)
    )
    write(d / "master.cf", render("postfix/master.cf.in", dict(v, SERVICES="# (no listener)")))
    # Everything is relayed to mx.busy.test itself, which answers 421 (too many connections):
    # the deferral reason of an overloaded destination. slow.example: nothing listens (refused).
    write(d / "transport", "slow.example\trelay:[127.0.10.13]:25\n*\trelay:[127.0.10.22]:25\n")
    for inst in ("good", "faults", "busy"):
        for sub in ("queue", "data"):
            (RUN / f"postfix-{inst}" / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(RUN / f"postfix-{inst}" / "data", "postfix", "postfix")


def render_dovecot() -> None:
    passwd = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users())
    for inst, cert in (("good", "mx.good.test"), ("faults", "mx.imap-plain.test")):
        d = RUN / f"dovecot-{inst}"
        v = {"RUN": str(RUN), "CERTS": str(CERTS), "INSTANCE": inst, "CERT": cert}
        # The faults instance reads one password file per service (%s: imap, pop3, smtp), so
        # that SMTP AUTH through it can hold a stale password while IMAP and POP3 do not.
        v["PASSDB"] = str(d / ("users-%s" if inst == "faults" else "users"))
        if inst == "faults":
            v.update(dovecot_fault_macros())
            stale = "".join(
                f"{u}:{{PLAIN}}{STALE_SMTP_PASSWORDS.get(u, p)}::::::\n" for u, p in users()
            )
            for service, text in (("imap", passwd), ("pop3", passwd), ("smtp", stale)):
                write(d / f"users-{service}", text, 0o640)
                shutil.chown(d / f"users-{service}", "root", "dovecot")
        write(
            d / "dovecot.conf",
            render("dovecot/common.conf.in", v) + render(f"dovecot/{inst}.conf.in", v),
        )
        write(d / "users", passwd, 0o640)
        shutil.chown(d / "users", "root", "dovecot")
        for sub in ("run", "state"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "mail").mkdir(exist_ok=True)
        shutil.chown(d / "mail", "mail", "mail")


# --------------------------------------------------------------------------- processes


def pid_alive(pidfile: Path, must_contain: str) -> int | None:
    try:
        pid = int(pidfile.read_text().split()[0])
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError, IndexError):
        return None
    return pid if must_contain in cmd else None


COMPONENTS = {
    # name: (pid file, text the process's command line contains). Pid files hold
    # "PID TEXT", the format of lab/lib.sh (its pid_alive never signals a reused PID).
    "dovecot-good": (PIDS / "dovecot-good.pid", str(RUN / "dovecot-good" / "dovecot.conf")),
    "dovecot-faults": (PIDS / "dovecot-faults.pid", str(RUN / "dovecot-faults" / "dovecot.conf")),
    "postfix-good": (PIDS / "postfix-good.pid", "postfix/sbin/master"),
    "postfix-faults": (PIDS / "postfix-faults.pid", "postfix/sbin/master"),
    "postfix-busy": (PIDS / "postfix-busy.pid", "postfix/sbin/master"),
    "fakes": (PIDS / "fakes.pid", "fakes.py"),
}


NATIVE_PIDFILES = {
    "dovecot-good": RUN / "dovecot-good" / "run" / "master.pid",
    "dovecot-faults": RUN / "dovecot-faults" / "run" / "master.pid",
    "postfix-good": RUN / "postfix-good" / "queue" / "pid" / "master.pid",
    "postfix-faults": RUN / "postfix-faults" / "queue" / "pid" / "master.pid",
    "postfix-busy": RUN / "postfix-busy" / "queue" / "pid" / "master.pid",
}


def alive(name: str) -> int | None:
    pidfile, text = COMPONENTS[name]
    pid = pid_alive(pidfile, text)
    if pid is None and name in NATIVE_PIDFILES:
        # Started by an earlier up that was interrupted before it wrote our pid file: adopt it.
        pid = pid_alive(NATIVE_PIDFILES[name], text)
        if pid is not None:
            write(pidfile, f"{pid} {text}\n")
    return pid


_warned = []


def resolv_conf() -> Path:
    lab = RUN / "resolv.conf"
    if lab.exists():
        return lab
    # DNS side not up (yet): same resolver, short timeouts, so nothing hangs meanwhile.
    fallback = RUN / "mail-resolv.conf"
    write(fallback, "nameserver 127.0.53.53\noptions timeout:1 attempts:1\n")
    if not _warned:
        say(f"warning: {lab} missing, servers use {fallback}")
        _warned.append(1)
    return fallback


def in_lab_ns(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    wrapper = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        str(resolv_conf()),
    ]
    # Daemons keep inherited descriptors: give them a file, never a pipe we would wait on.
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(
            wrapper + cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            **kw,
        )
        out.seek(0)
        proc.stdout, proc.stderr = out.read(), ""
    return proc


def copy_pid(src: Path, dst: Path, match: str, wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            pid = int(src.read_text().split()[0])
            write(dst, f"{pid} {match}\n")
            return
        except (OSError, ValueError, IndexError):
            time.sleep(0.05)
    die(f"{src} did not appear")


def start_dovecot(inst: str) -> None:
    conf = RUN / f"dovecot-{inst}" / "dovecot.conf"
    proc = in_lab_ns(["dovecot", "-c", str(conf)])
    if proc.returncode != 0:
        fail(f"dovecot-{inst} did not start: {proc.stdout.strip()}", [f"dovecot-{inst}.log"])
    copy_pid(
        RUN / f"dovecot-{inst}" / "run" / "master.pid",
        PIDS / f"dovecot-{inst}.pid",
        COMPONENTS[f"dovecot-{inst}"][1],
    )


def start_postfix(inst: str) -> None:
    d = RUN / f"postfix-{inst}" / "etc"
    master_pid = d.parent / "queue" / "pid" / "master.pid"
    with contextlib.suppress(OSError):
        master_pid.unlink()
    proc = in_lab_ns(["postfix", "-c", str(d), "start"])
    if proc.returncode != 0:
        fail(f"postfix-{inst} did not start: {proc.stdout}{proc.stderr}", [f"postfix-{inst}.log"])
    copy_pid(master_pid, PIDS / f"postfix-{inst}.pid", COMPONENTS[f"postfix-{inst}"][1])


def fakes_current(pid: int) -> bool:
    """Whether the running fakes process serves every spec of FAKES and HOLDERS."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    want = {f"{mode}@{ip}:{port}".encode() for mode, ip, port in FAKES + HOLDERS}
    return want <= set(cmd) and b"--hold-log" in cmd


def start_fakes() -> None:
    specs = [f"{mode}@{ip}:{port}" for mode, ip, port in FAKES + HOLDERS]
    pidfile = PIDS / "fakes.pid"
    logfile = LOG / "fakes.log"
    offset = logfile.stat().st_size if logfile.exists() else 0
    with open(LOG / "fakes.log", "a") as logf:
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "fakes.py"),
                "--pidfile",
                str(pidfile),
                "--log",
                str(LOG / "fakes.log"),
                "--hold-log",
                str(LOG / "postfix-faults.log"),
                *specs,
            ],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not alive("fakes"):
        time.sleep(0.05)
    if not alive("fakes"):
        fail("fakes did not start", ["fakes.log"])
    # The holders connect in the background: wait until each holds its session, so that
    # busy.test answers 421 as soon as up returns. (Postfix may still be starting: the
    # holders retry every second.)
    want = {f"hold {ip}:{port}: 220" for _, ip, port in HOLDERS}
    deadline = time.monotonic() + 15
    while want and time.monotonic() < deadline:
        with open(logfile, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        want = {w for w in want if w not in text}
        if want:
            time.sleep(0.05)
    if want:
        say("warning: busy.test holders not connected: " + ", ".join(sorted(want)))


def expected_ports() -> list[tuple[str, int, str]]:
    out = [(GOOD_IP, p, "postfix-good") for p in (25, 587, 465)]
    out += [(GOOD_IP, p, "dovecot-good") for p in (143, 993, 110, 995)]
    out += [(ip, port, "postfix-faults") for ip, port, *_ in fault_services()]
    out += [(ip, p, "dovecot-faults") for ip, (ports, _) in DOVECOT_FAULTS.items() for p in ports]
    out += [(ip, port, "fakes") for _, ip, port in FAKES]
    return out


def port_open(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def listening() -> set[tuple[str, int]]:
    """TCP sockets in LISTEN state (from ss): checking them spawns no server process and
    writes no log line, unlike connecting to each port."""
    out = subprocess.run(["ss", "-Hltn4"], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            ip, _, port = fields[3].rpartition(":")
            if port.isdigit():
                found.add((ip, int(port)))
    return found


def closed_ports(ports: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    if shutil.which("ss"):
        have = listening()
        return [p for p in ports if (p[0], p[1]) not in have]
    return [p for p in ports if not port_open(p[0], p[1])]


def fail(msg: str, logs: list[str]) -> None:
    print(f"lab/mail: FAILED: {msg}", file=sys.stderr)
    for name in logs:
        path = LOG / name
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-25:]
            print(f"---- last lines of {path} ----", file=sys.stderr)
            print("\n".join(tail), file=sys.stderr)
    sys.exit(1)


def ensure_addresses() -> None:
    """Every hosts.tsv address on lo with a 127.0.0.1 source route (as lab/up does)."""
    have = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True
    ).stdout
    routes = subprocess.run(
        ["ip", "-4", "route", "show", "table", "local", "type", "local"],
        capture_output=True,
        text=True,
    ).stdout
    for ip, _ in hosts():
        if f"inet {ip}/32 " not in have:
            subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], capture_output=True)
        if not re.search(rf"^local {re.escape(ip)} dev lo .*src 127\.0\.0\.1", routes, re.M):
            subprocess.run(
                [
                    "ip",
                    "route",
                    "replace",
                    "local",
                    ip,
                    "dev",
                    "lo",
                    "table",
                    "local",
                    "proto",
                    "kernel",
                    "scope",
                    "host",
                    "src",
                    "127.0.0.1",
                ],
                capture_output=True,
            )


def ensure_certs() -> None:
    need = [
        RUN / "ca" / "ca.crt",
        CERTS / "mx.good.test.pem",
        CERTS / "expired.pem",
        CERTS / "wronghost.pem",
        CERTS / "selfsigned.pem",
    ]
    if not all(p.exists() for p in need):
        say("certificates missing: running lab/ca/issue-all")
        proc = subprocess.run([str(LAB_DIR / "ca" / "issue-all")])
        if proc.returncode != 0:
            die("lab/ca/issue-all failed")


def up() -> None:
    t0 = time.monotonic()
    if os.geteuid() != 0:
        die("run as root")
    for d in (RUN, LOG, PIDS):
        d.mkdir(parents=True, exist_ok=True)
    ensure_addresses()
    ensure_certs()
    running = {name: alive(name) for name in COMPONENTS}
    if running["fakes"] and not fakes_current(running["fakes"]):
        say("fakes started without the current specs: restarting them")
        os.kill(running["fakes"], signal.SIGTERM)
        wait_gone(running["fakes"], 5)
        running["fakes"] = None
    ports = expected_ports()
    render_postfix()
    render_dovecot()
    # Running instances whose configuration changed, or whose certificates were re-issued
    # since they started (lab/up runs lab/ca/issue-all first), reload in place.
    newest_cert = max(
        (f.stat().st_mtime for d in (CERTS, RUN / "ca") for f in d.iterdir()), default=0
    )
    reloaded = []
    for name, pid in running.items():
        if not pid or name == "fakes":
            continue
        pidfile = COMPONENTS[name][0]
        if name in CHANGED or newest_cert > pidfile.stat().st_mtime:
            if name.startswith("postfix-"):
                subprocess.run(
                    ["postfix", "-c", str(RUN / name / "etc"), "reload"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            else:
                os.kill(pid, signal.SIGHUP)  # what `dovecot reload` sends
            os.utime(pidfile)
            reloaded.append(name)
    if reloaded:
        say("reloaded " + ", ".join(reloaded))
    if "postfix-faults" in reloaded and running["fakes"]:
        # A reload restarts anvil, which forgets the sessions the busy.test holders keep
        # open: connect them again so that 127.0.10.22 stays over its connection limit.
        say("restarting fakes (their busy.test sessions predate the reload)")
        os.kill(running["fakes"], signal.SIGTERM)
        wait_gone(running["fakes"], 5)
        running["fakes"] = None
    if all(running.values()) and not closed_ports(ports):
        fill_busy_queue()
        say(f"already up ({len(ports)} ports answer) in {time.monotonic() - t0:.1f}s")
        return
    order = [
        "dovecot-good",
        "dovecot-faults",
        "postfix-good",
        "postfix-faults",
        "postfix-busy",
        "fakes",
    ]
    for name in order:
        if running[name]:
            continue
        say(f"starting {name}")
        if name.startswith("dovecot-"):
            start_dovecot(name.split("-", 1)[1])
        elif name.startswith("postfix-"):
            start_postfix(name.split("-", 1)[1])
        else:
            start_fakes()
    deadline = time.monotonic() + 30
    missing = closed_ports(ports)
    while missing and time.monotonic() < deadline:
        time.sleep(0.2)
        missing = closed_ports(missing)
    if missing:
        comps = sorted({c for *_, c in missing})
        fail(
            "not answering: " + ", ".join(f"{ip}:{port} ({c})" for ip, port, c in missing),
            [f"{c}.log" for c in comps],
        )
    fill_busy_queue()
    say(f"up: {len(ports)} ports answer, in {time.monotonic() - t0:.1f}s")


def queued(queue_dir: Path) -> int:
    """Messages in a Postfix queue, counted from its queue files (no process, no log line)."""
    n = 0
    for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
        for _root, _dirs, files in os.walk(queue_dir / sub):
            n += len(files)
    return n


def busy_senders() -> list[str]:
    flood, count = BUSY_FLOOD
    out = [flood] * count
    for sender, k in BUSY_OTHERS:
        out += [sender] * k
    return out[:BUSY_QUEUE]


def fill_busy_queue() -> None:
    """Bring the busy.test queue up to BUSY_QUEUE messages (idempotent: only what is missing).

    Each message goes in through the instance's own sendmail (postdrop), a few at once; the
    queue manager then tries them, meets the 421 of 127.0.10.22 and defers them all.
    """
    etc, queue = RUN / "postfix-busy" / "etc", RUN / "postfix-busy" / "queue"
    have = queued(queue)
    senders = busy_senders()
    if have >= len(senders):
        return
    t0 = time.monotonic()
    todo = list(enumerate(senders))[have:]
    running: list[subprocess.Popen[bytes]] = []
    for i, sender in todo:
        user = sender.split("@")[0]
        if sender == BUSY_FLOOD[0]:
            rcpt = f"reader{i}@{BUSY_RCPT_DOMAINS[i % len(BUSY_RCPT_DOMAINS)]}"
            subject = f"Our November offers ({i})"
        else:
            rcpt = f"{user}.contact{i % 7}@" + ("slow.example" if i % 2 else "example.org")
            subject = f"Re: order {1000 + i}"
        msg = (
            f"From: <{sender}>\nTo: <{rcpt}>\nSubject: {subject}\n"
            f"Message-ID: <busy-{i}@busy.test>\n\nlab/mail busy.test queue message {i}\n"
        )
        proc = subprocess.Popen(
            ["sendmail", "-C", str(etc), "-f", sender, "-i", "--", rcpt],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None
        proc.stdin.write(msg.encode())
        proc.stdin.close()
        running.append(proc)
        if len(running) >= 16:
            for p in running:
                p.wait()
            running = []
    for p in running:
        p.wait()
    say(f"busy.test queue: {have} -> {queued(queue)} messages in {time.monotonic() - t0:.1f}s")


def wait_gone(pid: int, secs: float) -> bool:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie child of ours counts as gone.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def down() -> None:
    if os.geteuid() != 0:
        die("run as root")
    pids = {}
    for name in [
        "fakes",
        "postfix-busy",
        "postfix-faults",
        "postfix-good",
        "dovecot-faults",
        "dovecot-good",
    ]:
        pid = alive(name)
        if not pid:
            continue
        pids[name] = pid
        quiet = {
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
        }
        if name.startswith("postfix-"):
            subprocess.run(["postfix", "-c", str(RUN / name / "etc"), "stop"], **quiet)
        else:  # Dovecot and the fakes: SIGTERM to the master (what `dovecot stop` sends,
            # without waiting for one instance before stopping the next)
            os.kill(pid, signal.SIGTERM)
    for name, pid in pids.items():
        if not wait_gone(pid, 10):
            say(f"{name} (pid {pid}) did not stop: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 3)
    for name in COMPONENTS:
        with contextlib.suppress(OSError):
            COMPONENTS[name][0].unlink()
    say("stopped " + (", ".join(pids) if pids else "nothing (already down)"))


def status() -> int:
    rc = 0
    for name in COMPONENTS:
        pid = alive(name)
        print(f"{name:16} {'pid ' + str(pid) if pid else 'not running'}")
        rc |= 0 if pid else 1
    missing = closed_ports(expected_ports())
    for ip, port, comp in missing:
        print(f"closed: {ip}:{port} ({comp})")
    return 1 if (rc or missing) else 0


def lock() -> None:
    """One up/down at a time (lab/up and a person may run them concurrently)."""
    import fcntl

    RUN.mkdir(parents=True, exist_ok=True)
    fd = os.open(RUN / "mail.lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + 120
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                die(f"{RUN / 'mail.lock'} held for 120 s by another lab/mail up/down")
            time.sleep(0.1)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd in ("up", "down"):
        lock()
    if cmd == "up":
        up()
    elif cmd == "down":
        down()
    elif cmd == "status":
        sys.exit(status())
    else:
        die("usage: mailctl.py up|down|status")
