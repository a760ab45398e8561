"""A DNS forwarder on loopback that delays every answer, so benchmarks see a real network's RTT.

Forwards UDP and TCP queries to the lab resolver and holds each answer for --delay-ms before
sending it back; counts the queries it saw. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
from typing import cast


class Stats:
    def __init__(self) -> None:
        self.queries = 0


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, upstream: tuple[str, int], delay: float, stats: Stats) -> None:
        self.upstream, self.delay, self.stats = upstream, delay, stats
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.stats.queries += 1
        asyncio.get_running_loop().create_task(self._forward(data, addr))

    async def _forward(self, data: bytes, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()

        class Once(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, _: tuple[str, int]) -> None:
                if not answer.done():
                    answer.set_result(reply)

        transport, _ = await loop.create_datagram_endpoint(Once, remote_addr=self.upstream)
        try:
            transport.sendto(data)
            reply = await asyncio.wait_for(answer, 5)
        except TimeoutError:
            return
        finally:
            transport.close()
        await asyncio.sleep(self.delay)
        if self.transport is not None:
            self.transport.sendto(reply, addr)


async def _tcp(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream: tuple[str, int],
    delay: float,
    stats: Stats,
) -> None:
    with contextlib.suppress(Exception):
        up_reader, up_writer = await asyncio.open_connection(*upstream)
        while True:
            head = await reader.readexactly(2)
            query = await reader.readexactly(struct.unpack("!H", head)[0])
            stats.queries += 1
            up_writer.write(head + query)
            await up_writer.drain()
            rhead = await up_reader.readexactly(2)
            reply = await up_reader.readexactly(struct.unpack("!H", rhead)[0])
            await asyncio.sleep(delay)
            writer.write(rhead + reply)
            await writer.drain()
    writer.close()


async def serve(
    listen: tuple[str, int], upstream: tuple[str, int], delay_ms: float, stats: Stats
) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
    loop = asyncio.get_running_loop()
    delay = delay_ms / 1000
    udp, _ = await loop.create_datagram_endpoint(
        lambda: _Udp(upstream, delay, stats), local_addr=listen
    )
    tcp = await asyncio.start_server(
        lambda r, w: _tcp(r, w, upstream, delay, stats), listen[0], listen[1]
    )
    return udp, tcp


async def _main(args: argparse.Namespace) -> None:
    stats = Stats()
    await serve((args.listen, args.port), (args.upstream, 53), args.delay_ms, stats)
    await asyncio.sleep(args.seconds)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", default="127.0.53.54")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--upstream", default="127.0.53.53")
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--seconds", type=float, default=600.0, help="stop by itself after this")
    asyncio.run(_main(p.parse_args()))
