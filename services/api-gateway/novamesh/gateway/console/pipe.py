"""Bytes both ways between a websocket client and a console's TCP server, until either ends.

Whatever ends first ends both: the client closing (or vanishing) closes the TCP connection,
and the console closing its end sends the client a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from novamesh.gateway.console import websocket as ws

LOG = logging.getLogger(__name__)

CHUNK = 64 * 1024


class _Ended(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def _client_to_console(
    client_in: asyncio.StreamReader,
    client_out: asyncio.StreamWriter,
    console_out: asyncio.StreamWriter,
) -> _Ended:
    while True:
        try:
            frame = await ws.read_frame(client_in, from_client=True)
        except ws.ProtocolError as err:
            return _Ended(err.code, str(err))
        except (asyncio.IncompleteReadError, ConnectionError):
            return _Ended(ws.GOING_AWAY, "client went away")
        if frame.opcode == ws.CLOSE:
            return _Ended(ws.NORMAL, "client closed")
        if frame.opcode == ws.PING:
            client_out.write(ws.encode(ws.PONG, frame.payload))
            await client_out.drain()
        elif frame.opcode != ws.PONG and frame.payload:
            # Text frames too: serial clients type text; the console sees its bytes.
            console_out.write(frame.payload)
            await console_out.drain()


async def _console_to_client(
    console_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
) -> _Ended:
    while True:
        try:
            data = await console_in.read(CHUNK)
        except ConnectionError:
            data = b""
        if not data:
            return _Ended(ws.NORMAL, "console closed")
        client_out.write(ws.encode(ws.BINARY, data))
        await client_out.drain()


async def bridge(
    client_in: asyncio.StreamReader,
    client_out: asyncio.StreamWriter,
    console_in: asyncio.StreamReader,
    console_out: asyncio.StreamWriter,
) -> str:
    """Pipe until one side ends; return why it ended."""
    tasks = {
        asyncio.create_task(_client_to_console(client_in, client_out, console_out)),
        asyncio.create_task(_console_to_client(console_in, client_out)),
    }
    ended: _Ended | None = None
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            # A write to a peer that just vanished surfaces here as ConnectionError.
            if task.exception() is None:
                ended = task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        console_out.close()
        with contextlib.suppress(ConnectionError, OSError):
            await console_out.wait_closed()
    if ended is None:
        ended = _Ended(ws.GOING_AWAY, "connection lost")
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        client_out.write(ws.encode(ws.CLOSE, ws.close_payload(ended.code, ended.reason)))
        await client_out.drain()
    return ended.reason
