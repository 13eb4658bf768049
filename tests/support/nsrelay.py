"""A TCP relay from this machine's loopback into another network namespace's loopback.

The private libvirtd of the tests runs its guests in a network namespace of its own, so a
guest's VNC server on that namespace's 127.0.0.1 is out of reach of the console proxy. The
relay listens on the same address and port here and, per connection, runs a tiny copier
inside the namespace (`nsenter --net`), which needs root like the daemon itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_COPIER = """
import socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while data := sys.stdin.buffer.read1(65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
"""


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    with contextlib.suppress(ConnectionError, OSError):
        dst.close()


@asynccontextmanager
async def relay(netns_pid: int, host: str, port: int) -> AsyncIterator[None]:
    """Serve host:port here, each connection reaching host:port in the namespace of pid."""
    procs: list[asyncio.subprocess.Process] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proc = await asyncio.create_subprocess_exec(
            "nsenter",
            f"--net=/proc/{netns_pid}/ns/net",
            sys.executable,
            "-c",
            _COPIER,
            host,
            str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        procs.append(proc)
        assert proc.stdin is not None and proc.stdout is not None
        await asyncio.gather(_copy(reader, proc.stdin), _copy(proc.stdout, writer))

    server = await asyncio.start_server(serve, host, port)
    try:
        yield
    finally:
        server.close()
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
