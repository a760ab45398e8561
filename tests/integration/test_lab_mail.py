"""The lab's mail servers behave as lab/hosts.tsv and lab/scenarios.tsv say.

Plain protocol tools (smtplib, imaplib, poplib, ssl, socket) against the real Postfix, Dovecot
and lab fakes, independent of maildoctor's own code: if one of these fails, the lab is wrong,
not the product. The slow checks (8 s greeting, silent server, log driver run) start in the
background when the module starts, so the whole file takes about as long as the slowest one.
"""

from __future__ import annotations

import base64
import concurrent.futures
import imaplib
import json
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

LAB_DIR = Path(__file__).resolve().parents[2] / "lab"
GOOD = "127.0.10.1"
GOOD_NAME = "mx.good.test"
CLIENT_IPS = {"127.0.20.1", "127.0.20.2", "127.0.20.66"}


def lab_users() -> dict[str, str]:
    users = {}
    for line in (LAB_DIR / "mail" / "users.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            user, password = line.split("\t")[:2]
            users[user] = password
    return users


USERS = lab_users()
ALICE = "alice@good.test"


# --------------------------------------------------------------------------- helpers


class SMTP(smtplib.SMTP):
    """Connect to an IP, verify certificates for a host name."""

    def __init__(self, ip: str, port: int, name: str, timeout: float = 15):
        super().__init__(timeout=timeout)
        self.greeting = self.connect(ip, port)
        self._host = name


class SMTPS(smtplib.SMTP_SSL):
    def __init__(self, ip: str, port: int, name: str, context: ssl.SSLContext, timeout: float = 15):
        self._name = name
        super().__init__(timeout=timeout, context=context)
        self.greeting = self.connect(ip, port)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self._name)


def ctx(lab) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(lab.ca_file))


def tls10_context() -> ssl.SSLContext:
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    c.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        c.minimum_version = ssl.TLSVersion.TLSv1
        c.maximum_version = ssl.TLSVersion.TLSv1
    return c


def ehlo(ip: str, port: int, name: str) -> tuple[SMTP, dict[str, str]]:
    s = SMTP(ip, port, name)
    code, _ = s.ehlo("tester.lab.test")
    assert code == 250
    return s, dict(s.esmtp_features)


def first_line(ip: str, port: int, timeout: float) -> tuple[bytes, float]:
    t = time.monotonic()
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.settimeout(timeout)
        try:
            data = s.recv(512)
        except TimeoutError:
            data = b""
    return data, time.monotonic() - t


def tls_handshake(lab, ip: str, port: int, name: str, kind: str) -> ssl.SSLSocket:
    """Handshake with the lab CA; kind: wrapped, smtp (STARTTLS), imap, pop3."""
    c = ctx(lab)
    sock = socket.create_connection((ip, port), timeout=10)
    f = sock.makefile("rb")
    if kind == "smtp":
        f.readline()
        sock.sendall(b"EHLO tester.lab.test\r\n")
        while f.readline()[3:4] != b" ":
            pass
        sock.sendall(b"STARTTLS\r\n")
        assert f.readline().startswith(b"220")
    elif kind == "imap":
        f.readline()
        sock.sendall(b"a1 STARTTLS\r\n")
        assert f.readline().startswith(b"a1 OK")
    elif kind == "pop3":
        f.readline()
        sock.sendall(b"STLS\r\n")
        assert f.readline().startswith(b"+OK")
    return c.wrap_socket(sock, server_hostname=name)


# --------------------------------------------------------------------------- background


@pytest.fixture(scope="module", autouse=True)
def background(lab, tmp_path_factory):
    """Start the slow probes and one log driver run when the module starts (autouse), so they
    overlap with everything else; the tests that need them collect the results."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=6)
    out = tmp_path_factory.mktemp("logdriver")
    futures = {
        "slow25": pool.submit(first_line, "127.0.10.16", 25, 20),
        "slow587": pool.submit(first_line, "127.0.10.16", 587, 20),
        "silent25": pool.submit(first_line, "127.0.10.12", 25, 3),
        "silent587": pool.submit(first_line, "127.0.10.12", 587, 3),
        "silent465": pool.submit(first_line, "127.0.10.12", 465, 3),
        "logdriver": pool.submit(
            subprocess.run,
            [sys.executable, str(LAB_DIR / "logdriver"), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=240,
        ),
    }
    yield futures, out
    pool.shutdown(wait=True)


# --------------------------------------------------------------------------- control


def test_control_port25_greets_offers_starttls_size_and_verifies(lab):
    s, feats = ehlo(GOOD, 25, GOOD_NAME)
    assert s.greeting[0] == 220 and s.greeting[1].startswith(b"mx.good.test ESMTP")
    assert feats["size"] == "52428800"
    assert "starttls" in feats and "auth" not in feats
    s.starttls(context=ctx(lab))  # verifies mx.good.test against the lab CA
    s.ehlo("tester.lab.test")
    assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
    s.quit()


def test_control_587_requires_starttls_before_auth(lab):
    s, feats = ehlo(GOOD, 587, GOOD_NAME)
    assert "starttls" in feats and "auth" not in feats
    s.starttls(context=ctx(lab))
    s.ehlo("tester.lab.test")
    assert set(s.esmtp_features["auth"].split()) >= {"PLAIN", "LOGIN"}
    assert s.login(ALICE, USERS[ALICE])[0] == 235
    s.quit()


def test_control_587_rejects_wrong_password(lab):
    s, _ = ehlo(GOOD, 587, GOOD_NAME)
    s.starttls(context=ctx(lab))
    s.ehlo("tester.lab.test")
    token = base64.b64encode(f"\0{ALICE}\0wrong".encode()).decode()
    code, _ = s.docmd("AUTH", f"PLAIN {token}")
    assert code == 535
    s.quit()


def test_control_465_implicit_tls_with_auth(lab):
    s = SMTPS(GOOD, 465, GOOD_NAME, ctx(lab))
    assert s.greeting[0] == 220
    s.ehlo("tester.lab.test")
    assert "PLAIN" in s.esmtp_features["auth"]
    assert s.login("bob@good.test", USERS["bob@good.test"])[0] == 235
    s.quit()
    s = SMTPS(GOOD, 465, GOOD_NAME, ctx(lab))
    s.ehlo("tester.lab.test")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login("bob@good.test", "wrong-password")
    s.quit()


def test_control_rejects_relay_and_unknown_users(lab):
    s, _ = ehlo(GOOD, 25, GOOD_NAME)
    s.mail("stranger@lab.test")
    code, msg = s.rcpt("someone@example.com")
    assert code == 554 and b"Relay access denied" in msg
    s.rset()
    s.mail("stranger@lab.test")
    code, msg = s.rcpt("nobody@good.test")
    assert code == 550 and msg.startswith(b"5.1.1")
    s.rset()
    s.mail("stranger@lab.test")
    assert s.rcpt("carol@good.test")[0] == 250
    s.rset()
    s.quit()


@pytest.mark.parametrize(
    "port,kind", [(993, "wrapped"), (995, "wrapped"), (143, "imap"), (110, "pop3")]
)
def test_control_mailbox_tls_verifies(lab, port, kind):
    with tls_handshake(lab, GOOD, port, GOOD_NAME, kind) as t:
        assert t.version() in ("TLSv1.2", "TLSv1.3")


def test_control_imap_and_pop3_logins(lab):
    # imaplib verifies against the host it connects to: connect by name via a socket override.
    c = ctx(lab)

    class IMAPS(imaplib.IMAP4_SSL):
        def _create_socket(self, timeout):
            sock = socket.create_connection((GOOD, 993), timeout)
            return self.ssl_context.wrap_socket(sock, server_hostname=GOOD_NAME)

    m = IMAPS(GOOD, 993, ssl_context=c, timeout=15)
    assert m.login(ALICE, USERS[ALICE])[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    m = IMAPS(GOOD, 993, ssl_context=c, timeout=15)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(ALICE, "wrong-password")
    m.logout()

    class POP3S(poplib.POP3_SSL):
        def _create_socket(self, timeout):
            sock = socket.create_connection((GOOD, 995), timeout)
            return self.context.wrap_socket(sock, server_hostname=GOOD_NAME)

    p = POP3S(GOOD, 995, context=c, timeout=15)
    p.user("carol@good.test")
    assert p.pass_(USERS["carol@good.test"]).startswith(b"+OK")
    p.quit()
    p = POP3S(GOOD, 995, context=c, timeout=15)
    p.user("carol@good.test")
    with pytest.raises(poplib.error_proto):
        p.pass_("wrong-password")
    p.quit()


def test_control_refuses_plaintext_login_before_tls(lab):
    """lab-facts: a same-machine client must not count as secured."""
    m = imaplib.IMAP4(GOOD, 143, timeout=15)
    assert "LOGINDISABLED" in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match=r"(?i)plaintext"):
        m.login(ALICE, USERS[ALICE])
    m.logout()
    p = poplib.POP3(GOOD, 110, timeout=15)
    with pytest.raises(poplib.error_proto, match=r"(?i)plaintext"):  # refused at USER already
        p.user(ALICE)
        p.pass_(USERS[ALICE])
    p.quit()


# --------------------------------------------------------------------------- SMTP faults


def test_open_relay_accepts_outside_recipient(lab):
    s, _ = ehlo("127.0.10.2", 25, "mx.open-relay.test")
    assert s.mail("stranger@example.org")[0] == 250
    code, _ = s.rcpt("someone@example.com")
    assert code == 250  # never DATA: nothing is sent
    s.rset()
    s.quit()


def test_submission_plaintext_offers_auth_without_starttls(lab):
    s, feats = ehlo("127.0.10.3", 587, "mx.sub-plain.test")
    assert "starttls" not in feats
    assert {"PLAIN", "LOGIN"} <= set(feats["auth"].split())
    assert s.login(ALICE, USERS[ALICE])[0] == 235  # in clear
    s.quit()


def test_submission_without_auth(lab):
    s, feats = ehlo("127.0.10.4", 587, "mx.sub-noauth.test")
    assert "starttls" in feats
    s.starttls(context=ctx(lab))
    s.ehlo("tester.lab.test")
    assert "auth" not in s.esmtp_features
    s.quit()


BAD_CERTS = [
    ("127.0.10.5", "mx.cert-expired.test", "certificate has expired"),
    ("127.0.10.6", "mx.cert-wronghost.test", "Hostname mismatch"),
    ("127.0.10.7", "mx.cert-selfsigned.test", "self-signed certificate"),
]
BAD_PORTS = [
    (25, "smtp"),
    (587, "smtp"),
    (465, "wrapped"),
    (993, "wrapped"),
    (995, "wrapped"),
    (143, "imap"),
    (110, "pop3"),
]


@pytest.mark.parametrize("ip,name,reason", BAD_CERTS)
@pytest.mark.parametrize("port,kind", BAD_PORTS)
def test_bad_certificates_fail_verification(lab, ip, name, reason, port, kind):
    with pytest.raises(ssl.SSLCertVerificationError) as err:
        tls_handshake(lab, ip, port, name, kind)
    assert reason in err.value.verify_message


def test_465_plaintext(lab):
    data, _ = first_line("127.0.10.8", 465, 10)
    assert data.startswith(b"220 mx.plain465.test ESMTP")


@pytest.mark.parametrize("port,kind", [(25, "smtp"), (587, "smtp"), (465, "wrapped")])
def test_tls10_accepted_while_control_refuses(lab, port, kind):
    c = tls10_context()

    def handshake(ip):
        sock = socket.create_connection((ip, port), timeout=10)
        if kind == "smtp":
            f = sock.makefile("rb")
            f.readline()
            sock.sendall(b"EHLO tester.lab.test\r\n")
            while f.readline()[3:4] != b" ":
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert f.readline().startswith(b"220")
        return c.wrap_socket(sock, server_hostname="x")

    with handshake("127.0.10.9") as t:
        assert t.version() == "TLSv1"
    with pytest.raises(ssl.SSLError):
        handshake(GOOD)


def test_size_limit_1mb(lab):
    s, feats = ehlo("127.0.10.10", 25, "mx.size-1mb.test")
    assert feats["size"] == "1048576"
    s.mail("tester@lab.test")
    assert s.rcpt("postmaster@size-1mb.test")[0] == 250
    body = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 2100  # ~2 MB
    code, msg = s.data(body)
    assert code == 552 and msg.startswith(b"5.3.4")
    s.quit()


@pytest.mark.parametrize("port", [25, 587, 465])
def test_no_greeting(lab, background, port):
    futures, _ = background
    data, waited = futures[f"silent{port}"].result()
    assert data == b"" and waited >= 2.9


@pytest.mark.parametrize("port", [25, 587, 465, 143, 993, 110, 995])
def test_closed_host_refuses(lab, port):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.10.13", port), timeout=5)


def test_imap_down_pop3_up(lab):
    for port in (143, 993):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.10.14", port), timeout=5)
    data, _ = first_line("127.0.10.14", 110, 10)
    assert data.startswith(b"+OK")
    with tls_handshake(lab, "127.0.10.14", 995, "mx.imap-down.test", "wrapped") as t:
        assert t.recv(64).startswith(b"+OK")


def test_plaintext_login_allowed_on_15_only(lab):
    m = imaplib.IMAP4("127.0.10.15", 143, timeout=15)
    assert "LOGINDISABLED" not in m.capabilities
    assert m.login(ALICE, USERS[ALICE])[0] == "OK"
    m.logout()
    p = poplib.POP3("127.0.10.15", 110, timeout=15)
    p.user(ALICE)
    assert p.pass_(USERS[ALICE]).startswith(b"+OK")
    p.quit()
    m = imaplib.IMAP4(GOOD, 143, timeout=15)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(ALICE, USERS[ALICE])
    m.logout()


@pytest.mark.parametrize("port", [25, 587])
def test_slow_greeting(lab, background, port):
    futures, _ = background
    data, waited = futures[f"slow{port}"].result()
    assert data.startswith(b"220 mx.slow-greet.test")
    assert waited > 5


@pytest.mark.parametrize("port", [25, 587])
def test_554_greeting(lab, port):
    data, _ = first_line("127.0.10.17", port, 10)
    assert data.startswith(b"554 ")


def test_helo_mismatch_name(lab):
    s, _ = ehlo("127.0.10.20", 25, "mx.helo-mismatch.test")
    assert s.greeting[1].startswith(b"wrongname.helo-mismatch.test ")
    assert s.ehlo_resp.split(b"\n")[0] == b"wrongname.helo-mismatch.test"
    s.quit()


@pytest.mark.parametrize(
    "ip,name",
    [
        ("127.0.10.11", "mx.dnsbl.test"),
        ("127.0.10.14", "mx.imap-down.test"),
        ("127.0.10.15", "mx.imap-plain.test"),
        ("127.0.10.18", "mx.ptr-missing.test"),
        ("127.0.10.19", "mx.ptr-mismatch.test"),
    ],
)
def test_clean_smtp_servers(lab, ip, name):
    s, _feats = ehlo(ip, 25, name)
    assert s.greeting[1].startswith(name.encode() + b" ESMTP")
    s.starttls(context=ctx(lab))
    s.quit()
    with tls_handshake(lab, ip, 465, name, "wrapped"):
        pass


# --------------------------------------------------------------------------- log driver


@pytest.fixture(scope="module")
def driven(background):
    futures, out = background
    proc = futures["logdriver"].result()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "counts.json").read_text()), out


def matching_lines(out: Path, spec: dict) -> list[re.Match]:
    """Lines of the segments matching spec["match"] that belong to the driver's clients: by the
    named group ip, or for a line with a queue id only (group qid), by that queue id's
    'client=' line."""
    found = []
    for name in spec["log"].split("+"):
        text = (out / name).read_text()
        qids = {
            q
            for q, ip in re.findall(r" ([0-9A-F]+): client=\S+\[([\d.]+)\]", text)
            if ip in CLIENT_IPS
        }
        for line in text.splitlines():
            m = re.search(spec["match"], line)
            if not m:
                continue
            g = m.groupdict()
            ip = g.get("ip") or g.get("ip2")
            if ip is not None and ip not in CLIENT_IPS:
                continue  # another client's line (tests running at the same time)
            if g.get("qid") is not None and g["qid"] not in qids:
                continue
            found.append(m)
    return found


def test_logdriver_counts_match_log_lines(lab, driven):
    counts, out = driven
    c = counts["counts"]
    expected_kinds = {
        "delivered",
        "bounced",
        "deferred",
        "rejected_unknown_user",
        "relay_denied",
        "smtp_auth_ok",
        "smtp_auth_failed",
        "imap_login_ok",
        "pop3_login_ok",
        "imap_login_failed",
        "pop3_login_failed",
        "plaintext_refused",
        "tls_failed",
        "size_rejected",
    }
    assert expected_kinds <= set(c)
    for kind, spec in c.items():
        if kind in ("delivered", "bounced", "deferred"):
            continue  # checked by queue id below (lines carry no client IP)
        want = spec.get("match_lines", spec["total"])
        assert len(matching_lines(out, spec)) == want, kind
        assert sum(spec["by_ip"].values()) == spec["total"]
    n = counts["messages"]
    assert c["delivered"]["total"] == 2 * n + 2
    assert c["smtp_auth_failed"]["total"] == 30
    assert c["smtp_auth_failed"]["by_ip"] == {"127.0.20.66": 30}


def test_logdriver_delivery_lines_by_queue_id(lab, driven):
    counts, out = driven
    text = (out / "postfix-good.log").read_text()
    ids = counts["queue_ids"]
    mine = set(ids["delivered"]) | set(counts["dsn_queue_ids"])
    sent = re.findall(r"postfix/lmtp\[\d+\]: ([0-9A-F]+): to=<([^>]+)>.* status=sent ", text)
    sent_mine = [(q, u) for q, u in sent if q in mine]
    assert len(sent_mine) == counts["counts"]["delivered"]["total"]
    by_user: dict[str, int] = {}
    for _, u in sent_mine:
        by_user[u] = by_user.get(u, 0) + 1
    assert by_user == counts["counts"]["delivered"]["by_user"]
    bounced = re.findall(r" ([0-9A-F]+): to=<ghost@good.test>.* dsn=5\.1\.1, status=bounced ", text)
    assert bounced == ids["bounced"]
    deferred = re.findall(
        r" ([0-9A-F]+): to=<someone@closed.test>.* status=deferred "
        r"\(connect to mx\.closed\.test\[127\.0\.10\.13\]:25: Connection "
        r"refused\)",
        text,
    )
    assert deferred == ids["deferred"]
