"""ConsoleProxy: the websocket server behind Envoy's /console/ and websocket-upgrade routes.

A websocket upgrade carries a console auth token (`?token=`, or the `token` cookie older
noVNC pages set); the token is checked as Nova's proxies check it (console_access), then the
proxy connects to the console's host:port and pipes bytes until either side ends. Any other
GET under /console/novnc/ is one of noVNC's static files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from novamesh.common.config import ConsoleConfig
from novamesh.gateway.console import http, pipe, static
from novamesh.gateway.console import websocket as ws
from novamesh.gateway.domain import console_access
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

LOG = logging.getLogger(__name__)

HEAD_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
SUBPROTOCOL = "binary"


class ConsoleProxy:
    def __init__(
        self,
        cfg: ConsoleConfig,
        sessions: async_sessionmaker[AsyncSession],
        devices: console_access.ConsoleLocator,
    ) -> None:
        self.cfg = cfg
        self.sessions = sessions
        self.devices = devices
        self.novnc_root = Path(cfg.novnc_path)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Listen on cfg.listen; return the bound port (port 0 picks a free one)."""
        host, _, port = self.cfg.listen.rpartition(":")
        self._server = await asyncio.start_server(self._accept, host.strip("[]"), int(port))
        bound = int(self._server.sockets[0].getsockname()[1])
        LOG.info("console proxy listening", extra={"fields": {"listen": f"{host}:{bound}"}})
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:
            LOG.exception("console connection failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(http.read_request(reader), HEAD_TIMEOUT)
        except http.BadRequest as err:
            await _reply(writer, 400, str(err))
            return
        if request.method != "GET":
            await _reply(writer, 405, "Only GET is served here.")
            return
        if not request.is_websocket:
            # rfb.js is 100 KiB: read it off the event loop.
            found = await asyncio.to_thread(static.serve, self.novnc_root, request.path)
            writer.write(http.simple_response(found.status, found.body, found.content_type))
            await writer.drain()
            return
        await self._websocket(request, reader, writer)

    async def _websocket(
        self, request: http.Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        key = request.headers.get("sec-websocket-key", "")
        if request.headers.get("sec-websocket-version") != "13" or not key:
            writer.write(http.response_head(426, [("Sec-WebSocket-Version", "13")]))
            await writer.drain()
            return
        if not self.origin_allowed(request):
            await _reply(writer, 403, "The websocket's Origin is not this console proxy's.")
            return
        try:
            record = await console_access.authorize(self.sessions, self.devices, _token(request))
        except console_access.ConsoleRefused as refused:
            LOG.info("console connection refused: %s", refused)
            await _reply(writer, 403, str(refused))
            return
        try:
            console_in, console_out = await asyncio.wait_for(
                asyncio.open_connection(record.host, record.port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as err:
            LOG.warning("console of %s unreachable: %s", record.instance_uuid, err)
            await _reply(writer, 502, f"The console of {record.instance_uuid} is unreachable.")
            return
        headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", ws.accept_key(key)),
        ]
        if SUBPROTOCOL in request.header_tokens("sec-websocket-protocol"):
            headers.append(("Sec-WebSocket-Protocol", SUBPROTOCOL))
        writer.write(http.response_head(101, headers))
        await writer.drain()
        fields = {"instance_uuid": record.instance_uuid, "console_type": record.console_type}
        LOG.info("console connected", extra={"fields": fields})
        why = await pipe.bridge(reader, writer, console_in, console_out)
        LOG.info("console disconnected: %s", why, extra={"fields": fields})

    def origin_allowed(self, request: http.Request) -> bool:
        """Nova's check: a browser's Origin must be the host it talks to, or an allowed one.
        Clients that send no Origin (not browsers) are not subject to it."""
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return origin is None
        origin_host = (urlsplit(origin).hostname or "").lower()
        host = (urlsplit("//" + request.headers.get("host", "")).hostname or "").lower()
        allowed = {host, *(a.lower().split(":")[0] for a in self.cfg.allowed_origins)}
        return bool(origin_host) and origin_host in allowed


def _token(request: http.Request) -> str:
    token = request.query("token")
    if token:
        return token
    try:
        cookie = SimpleCookie(request.headers.get("cookie", ""))
    except CookieError:
        return ""
    morsel = cookie.get("token")
    return morsel.value if morsel is not None else ""


async def _reply(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    writer.write(http.simple_response(status, message.encode() + b"\n"))
    await writer.drain()
