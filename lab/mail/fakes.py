#!/usr/bin/env python3
"""Lab fake servers: behaviour no real mail server shows on demand (python3 stdlib, asyncio).

Run by lab/mail/up in the background:

    fakes.py --pidfile FILE --log FILE [--hold-log FILE] MODE@IP:PORT [MODE@IP:PORT ...]

Modes:
  silent   accept the TCP connection and never send a byte; close after 120 s (no greeting)
  slow     greet "220 <name> ESMTP" after 8 s, then answer like a minimal SMTP server
  554      greet "554 5.3.2 <name> service not available" and close
  hold     a CLIENT, not a server: connect to IP:PORT, EHLO, then NOOP every HOLD_NOOP_S
           seconds and stay connected (reconnect when dropped). With the server's per-client
           connection limit at 1 (busy.test: smtpd_client_connection_count_limit=1), every
           other client from the same address meets Postfix's real overload reply,
           "421 4.7.0 <name> Error: too many connections from <ip>". With --hold-log (the
           server's log), the holders reconnect after each "postfix reload", whose new anvil
           forgets the sessions already open.

Every connection is logged to --log with a timestamp, the peer and what was done.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time

SILENT_LIMIT = 120.0
SLOW_DELAY = 8.0
HOLD_NOOP_S = 60.0
HOLD_RETRY_S = 1.0

LOG = sys.stderr


def log(msg: str) -> None:
    LOG.write(time.strftime("%b %d %H:%M:%S ") + f"labfake[{os.getpid()}]: {msg}\n")
    LOG.flush()


def name_for(ip: str) -> str:
    hosts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hosts.tsv")
    try:
        with open(hosts) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2 and parts[0] == ip:
                    return parts[1]
    except OSError:
        pass
    return "lab-fake.lab.test"


async def minimal_smtp(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str
) -> None:
    while True:
        line = await asyncio.wait_for(reader.readline(), 60)
        if not line:
            return
        verb = line.strip().split(b" ", 1)[0].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(f"250 {name}\r\n".encode())
        elif verb == b"QUIT":
            writer.write(b"221 2.0.0 Bye\r\n")
            await writer.drain()
            return
        elif verb in (b"NOOP", b"RSET"):
            writer.write(b"250 2.0.0 Ok\r\n")
        else:
            writer.write(b"502 5.5.2 Error: command not recognized\r\n")
        await writer.drain()


def handler(mode: str, ip: str, port: int):
    name = name_for(ip)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        started = time.monotonic()
        log(f"connect from {peer[0]}:{peer[1]} to {ip}:{port} mode={mode}")
        try:
            if mode == "silent":
                # Read and discard whatever the client says; never answer.
                deadline = started + SILENT_LIMIT
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        data = await asyncio.wait_for(reader.read(4096), left)
                    except TimeoutError:
                        break
                    if not data:
                        break
            elif mode == "slow":
                await asyncio.sleep(SLOW_DELAY)
                writer.write(f"220 {name} ESMTP\r\n".encode())
                await writer.drain()
                await minimal_smtp(reader, writer, name)
            elif mode == "554":
                writer.write(f"554 5.3.2 {name} service not available\r\n".encode())
                await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            log(
                f"disconnect from {peer[0]}:{peer[1]} to {ip}:{port} after "
                f"{time.monotonic() - started:.1f}s"
            )
            try:
                writer.close()
                await writer.wait_closed()
            except OSError:
                pass

    return handle


RELOADS: list[asyncio.Event] = []  # one per holder: set when the server's master reloads


async def watch_reloads(logfile: str) -> None:
    """Postfix restarts anvil on `postfix reload`, and the new anvil does not count the sessions
    already open: after a reload a held session no longer keeps others out. Watch the server's
    log for "master[...]: reload" and tell the holders to connect again."""
    try:
        offset = os.path.getsize(logfile)
    except OSError:
        offset = 0
    while True:
        await asyncio.sleep(1.0)
        try:
            size = os.path.getsize(logfile)
            if size < offset:
                offset = 0  # rotated / truncated
            with open(logfile, "rb") as f:
                f.seek(offset)
                data = f.read(size - offset)
            offset = size
        except OSError:
            continue
        if b"/master[" in data and b"]: reload" in data:
            log(f"server reloaded ({logfile}): holders reconnect")
            for event in RELOADS:
                event.set()


async def hold(ip: str, port: int) -> None:
    """Keep one SMTP session open to ip:port for ever (see the module docstring)."""
    reloaded = asyncio.Event()
    RELOADS.append(reloaded)
    while True:
        reloaded.clear()
        started = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 10)
        except (OSError, TimeoutError) as exc:
            log(f"hold {ip}:{port}: connect failed: {exc}")
            await asyncio.sleep(HOLD_RETRY_S)
            continue
        try:
            greeting = await asyncio.wait_for(reader.readline(), 30)
            log(f"hold {ip}:{port}: {greeting.decode(errors='replace').strip()}")
            if greeting.startswith(b"220"):
                writer.write(b"EHLO holder.lab.test\r\n")
                while True:
                    await writer.drain()
                    while True:  # the rest of a reply
                        line = await asyncio.wait_for(reader.readline(), 30)
                        if not line or line[3:4] != b"-":
                            break
                    if not line:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reloaded.wait(), HOLD_NOOP_S)
                    if reloaded.is_set():
                        # Let the new anvil start; our old session ends with the fakes'
                        # QUIT-less close below.
                        await asyncio.sleep(HOLD_RETRY_S)
                        break
                    writer.write(b"NOOP\r\n")
        except (TimeoutError, OSError) as exc:
            log(f"hold {ip}:{port}: {exc!r}")
        finally:
            with contextlib.suppress(OSError):
                writer.close()
        log(f"hold {ip}:{port}: dropped after {time.monotonic() - started:.1f}s, reconnecting")
        await asyncio.sleep(HOLD_RETRY_S)


async def main(specs: list[tuple[str, str, int]], hold_log: str | None = None) -> None:
    servers = []
    holders = [asyncio.create_task(hold(ip, port)) for mode, ip, port in specs if mode == "hold"]
    if holders and hold_log:
        holders.append(asyncio.create_task(watch_reloads(hold_log)))
    for mode, ip, port in specs:
        if mode == "hold":
            continue
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        servers.append(await asyncio.start_server(handler(mode, ip, port), sock=sock, backlog=64))
        log(f"listening on {ip}:{port} mode={mode}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log("stopping")
    for s in servers:
        s.close()
    for task in holders:
        task.cancel()


def parse(spec: str) -> tuple[str, str, int]:
    mode, _, addr = spec.partition("@")
    ip, _, port = addr.rpartition(":")
    if mode not in ("silent", "slow", "554", "hold") or not ip or not port.isdigit():
        raise argparse.ArgumentTypeError(f"bad spec {spec!r}: want MODE@IP:PORT")
    return mode, ip, int(port)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pidfile")
    ap.add_argument("--log")
    ap.add_argument("--hold-log", help="the held server's log: reconnect after its reloads")
    ap.add_argument("specs", nargs="+", type=parse)
    args = ap.parse_args()
    if args.log:
        LOG = open(args.log, "a", buffering=1)  # noqa: SIM115 (kept open for the process's life)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{os.getpid()} fakes.py\n")
    try:
        asyncio.run(main(args.specs, args.hold_log))
    finally:
        if args.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(args.pidfile)
