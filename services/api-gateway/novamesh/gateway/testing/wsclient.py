"""A minimal websocket client for the console proxy's tests (unit, end-to-end, libvirt):
open the upgrade, then send and receive frames as noVNC would."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from novamesh.gateway.console import http
from novamesh.gateway.console import websocket as ws


class Refused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    subprotocol: str | None

    async def send(self, data: bytes, opcode: int = ws.BINARY) -> None:
        self.writer.write(ws.encode(opcode, data, masked=True))
        await self.writer.drain()

    async def recv(self, wait: float = 10.0) -> ws.Frame:
        return await asyncio.wait_for(ws.read_frame(self.reader, from_client=False), wait)

    async def recv_bytes(self, n: int, wait: float = 10.0) -> bytes:
        """At least n bytes of console output, however the proxy framed them."""
        data = b""
        while len(data) < n:
            frame = await self.recv(wait)
            if frame.opcode == ws.CLOSE:
                raise EOFError(f"closed after {data!r}")
            data += frame.payload
        return data

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.send(ws.close_payload(ws.NORMAL), ws.CLOSE)
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


async def connect(
    url: str, origin: str | None = None, protocols: tuple[str, ...] = ("binary",)
) -> Connection:
    """Open `ws://host:port/path?query`; Refused carries the HTTP answer of a refusal."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = ws.new_key()
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if protocols:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(protocols)}")
    if origin:
        lines.append(f"Origin: {origin}")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    headers = http.parse_headers(head.split("\r\n")[1:])
    if status != 101:
        length = int(headers.get("content-length", "0"))
        body = (await reader.readexactly(length)).decode() if length else ""
        writer.close()
        raise Refused(status, body)
    if headers.get("sec-websocket-accept") != ws.accept_key(key):
        writer.close()
        raise Refused(status, "wrong Sec-WebSocket-Accept")
    return Connection(reader, writer, headers.get("sec-websocket-protocol"))
