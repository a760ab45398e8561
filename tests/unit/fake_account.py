"""Scripted fake mail servers with logins, for the auth and send-test unit tests.

`smtp_auth(...)`, `imap_auth(...)`, `pop3_auth(...)` return handlers for fake_smtp.serve: they
check a password, optionally offer STARTTLS with a self-signed certificate, and answer the
mail transaction with replies a test chooses. Everything the client sends is recorded in
`log` so a test can assert what went over the wire.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from . import fake_smtp as fake


@dataclass
class Script:
    """What a fake SMTP server does; defaults are a well-behaved submission server."""

    password: str = "right"
    mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    plain_ok: bool = True  # False: PLAIN is refused even with the right password
    starttls: bool = False
    size: int | None = None
    mail: Callable[[bytes], bytes] = lambda line: b"250 2.1.0 Ok"
    rcpt: Callable[[bytes], bytes] = lambda line: b"250 2.1.5 Ok"
    data_end: Callable[[int], bytes] = lambda n: b"250 2.0.0 Ok: queued as FAKE1"
    log: list[bytes] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)


async def _send(w: asyncio.StreamWriter, data: bytes) -> None:
    w.write(data)
    await w.drain()


def _plain_ok(blob: bytes, password: str) -> bool:
    try:
        parts = base64.b64decode(blob).split(b"\0")
    except ValueError:
        return False
    return len(parts) == 3 and parts[2] == password.encode()


def smtp_auth(script: Script) -> fake.Handler:
    tls: ssl.SSLContext | None = fake.self_signed("mail.fake.example") if script.starttls else None

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _send(w, b"220 mail.fake.example ESMTP\r\n")
        secure = False
        while True:
            line = (await r.readline()).rstrip(b"\r\n")
            if not line:
                return
            script.log.append(line)
            verb = line.split(b" ")[0].upper()
            if verb == b"EHLO":
                ext = [b"PIPELINING"]
                if script.size is not None:
                    ext.append(b"SIZE %d" % script.size)
                if tls is not None and not secure:
                    ext.append(b"STARTTLS")
                if script.mechanisms and (secure or tls is None):
                    ext.append(b"AUTH " + " ".join(script.mechanisms).encode())
                out = [b"250-mail.fake.example"] + [b"250-" + e for e in ext[:-1]]
                out.append(b"250 " + ext[-1])
                await _send(w, b"\r\n".join(out) + b"\r\n")
            elif verb == b"STARTTLS" and tls is not None:
                await _send(w, b"220 2.0.0 Ready to start TLS\r\n")
                await w.start_tls(tls)
                secure = True
            elif verb == b"AUTH":
                await _auth(r, w, line, script, secure or tls is None)
            elif verb == b"MAIL":
                await _send(w, script.mail(line) + b"\r\n")
            elif verb == b"RCPT":
                await _send(w, script.rcpt(line) + b"\r\n")
            elif verb == b"RSET":
                await _send(w, b"250 2.0.0 Ok\r\n")
            elif verb == b"DATA":
                await _send(w, b"354 End data with <CR><LF>.<CR><LF>\r\n")
                body = b""
                while True:
                    chunk = await r.readline()
                    if chunk in (b".\r\n", b""):
                        break
                    body += chunk
                script.messages.append(body)
                await _send(w, script.data_end(len(body)) + b"\r\n")
            elif verb == b"QUIT":
                await _send(w, b"221 2.0.0 Bye\r\n")
                return
            else:
                await _send(w, b"502 5.5.2 Error: command not recognized\r\n")

    return handle


async def _auth(
    r: asyncio.StreamReader, w: asyncio.StreamWriter, line: bytes, s: Script, allowed: bool
) -> None:
    parts = line.split(b" ")
    mech = parts[1].upper().decode() if len(parts) > 1 else ""
    if not allowed:
        await _send(w, b"530 5.7.0 Must issue a STARTTLS command first\r\n")
        return
    if not s.mechanisms:
        await _send(w, b"503 5.5.1 Error: authentication not enabled\r\n")
        return
    if mech not in s.mechanisms:
        await _send(w, b"504 5.5.4 Unrecognized authentication type\r\n")
        return
    if mech == "PLAIN":
        blob = parts[2] if len(parts) > 2 else b""
        if not blob:
            await _send(w, b"334 \r\n")
            blob = (await r.readline()).rstrip(b"\r\n")
            s.log.append(blob)
            if blob == b"*":
                await _send(w, b"501 5.7.0 Authentication aborted\r\n")
                return
        ok = s.plain_ok and _plain_ok(blob, s.password)
    elif mech == "CRAM-MD5":  # RFC 2195 2
        challenge = b"<12345.1@fake.example>"
        await _send(w, b"334 " + base64.b64encode(challenge) + b"\r\n")
        answer = (await r.readline()).rstrip(b"\r\n")
        s.log.append(answer)
        want = hmac.new(s.password.encode(), challenge, hashlib.md5).hexdigest().encode()
        ok = base64.b64decode(answer).split(b" ")[-1] == want
    else:  # LOGIN
        await _send(w, b"334 VXNlcm5hbWU6\r\n")
        user = (await r.readline()).rstrip(b"\r\n")
        s.log.append(user)
        await _send(w, b"334 UGFzc3dvcmQ6\r\n")
        pw = (await r.readline()).rstrip(b"\r\n")
        s.log.append(pw)
        ok = base64.b64decode(pw) == s.password.encode()
    if ok:
        await _send(w, b"235 2.7.0 Authentication successful\r\n")
    else:
        await _send(w, b"535 5.7.8 Error: authentication failed: authentication failure\r\n")


def imap_auth(password: str, *, log: list[bytes] | None = None, junk: str = "") -> fake.Handler:
    """IMAP without TLS (tests run with --insecure): CAPABILITY, LOGIN, LIST, EXAMINE, SEARCH.

    `junk`: a message with the token is found in that folder (flagged \\Junk) instead of INBOX.
    """
    seen = log if log is not None else []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _send(w, b"* OK [CAPABILITY IMAP4rev1] fake ready\r\n")
        selected = ""
        while True:
            line = (await r.readline()).rstrip(b"\r\n")
            if not line:
                return
            seen.append(line)
            tag, _, rest = line.partition(b" ")
            cmd = rest.split(b" ")[0].upper()
            if cmd == b"CAPABILITY":
                await _send(w, b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
            elif cmd == b"LOGIN":
                words = rest.split(b" ")
                pw = words[2].strip(b'"') if len(words) > 2 else b""
                if pw == password.encode():
                    await _send(w, tag + b" OK Logged in\r\n")
                else:
                    await _send(w, tag + b" NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
            elif cmd == b"LIST":
                await _send(
                    w,
                    b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
                    b'* LIST (\\HasNoChildren \\Junk) "/" "Junk"\r\n' + tag + b" OK\r\n",
                )
            elif cmd == b"EXAMINE":
                selected = rest.split(b" ", 1)[1].strip(b'"').decode()
                await _send(w, b"* 1 EXISTS\r\n" + tag + b" OK [READ-ONLY] done\r\n")
            elif cmd == b"UID" and b"SEARCH" in rest.upper():
                hit = selected == (junk or "INBOX")
                await _send(w, (b"* SEARCH 7\r\n" if hit else b"* SEARCH\r\n") + tag + b" OK\r\n")
            elif cmd == b"UID" and b"FETCH" in rest.upper():
                header = (
                    b"Authentication-Results: fake.example;\r\n spf=pass smtp.mailfrom=x\r\n\r\n"
                )
                await _send(
                    w,
                    b"* 1 FETCH (UID 7 BODY[HEADER.FIELDS (AUTHENTICATION-RESULTS)] {%d}\r\n"
                    % len(header)
                    + header
                    + b")\r\n"
                    + tag
                    + b" OK\r\n",
                )
            elif cmd == b"LOGOUT":
                await _send(w, b"* BYE\r\n" + tag + b" OK\r\n")
                return
            else:
                await _send(w, tag + b" BAD unknown\r\n")

    return handle


def pop3_auth(password: str) -> fake.Handler:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _send(w, b"+OK fake POP3\r\n")
        while True:
            line = (await r.readline()).rstrip(b"\r\n")
            if not line:
                return
            cmd = line.split(b" ")[0].upper()
            if cmd == b"CAPA":
                await _send(w, b"+OK\r\nUSER\r\n.\r\n")
            elif cmd == b"USER":
                await _send(w, b"+OK\r\n")
            elif cmd == b"PASS":
                ok = line[5:] == password.encode()
                await _send(
                    w, b"+OK Logged in.\r\n" if ok else b"-ERR [AUTH] Authentication failed.\r\n"
                )
            elif cmd == b"QUIT":
                await _send(w, b"+OK bye\r\n")
                return
            else:
                await _send(w, b"-ERR unknown\r\n")

    return handle
