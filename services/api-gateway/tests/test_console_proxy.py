"""The console proxy: websocket framing, token validation (Nova's rules: valid until expiry,
reusable, only while the guest's console is still where the token says), and a websocket
piped to a console's TCP server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.common import db
from novamesh.common.apidb import MIGRATIONS
from novamesh.common.config import ConsoleConfig
from novamesh.gateway.api import errors
from novamesh.gateway.console import static
from novamesh.gateway.console import websocket as ws
from novamesh.gateway.console.server import ConsoleProxy
from novamesh.gateway.db import console_tokens
from novamesh.gateway.db.console_tokens import TokenRecord
from novamesh.gateway.domain import console_access
from novamesh.gateway.testing import wsclient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

UUID = "8a5f0d4c-3f53-4f5e-9b4c-7c1f2b9d0e11"
BANNER = b"RFB 003.008\n"
Sessions = async_sessionmaker[AsyncSession]


class Locator:
    """Where each guest's console is now, as the router would answer."""

    def __init__(self) -> None:
        self.endpoints: dict[str, tuple[str, int]] = {}

    async def console(self, uuid: str, protocol: str) -> sd.ConsoleEndpoint:
        if uuid not in self.endpoints:
            raise errors.instance_not_found(uuid)
        host, port = self.endpoints[uuid]
        return sd.ConsoleEndpoint(instance_uuid=uuid, host=host, port=port)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite:///{tmp_path}/api.db"
    await asyncio.to_thread(db.migrate, url, MIGRATIONS)
    engine = db.create_async_engine(url)
    yield db.sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def rfb() -> AsyncIterator[int]:
    """A console server: the RFB banner, then an echo of whatever the client sends."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        while data := await reader.read(4096):
            writer.write(data)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()


async def issue(
    sessions: Sessions, port: int, token: str = "tok", ttl: float = 600, kind: str = "novnc"
) -> str:
    record = TokenRecord(kind, "127.0.0.1", port, None, None, UUID, "http://x/console/")
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)
    await console_tokens.issue(sessions, token, record, expires)
    return token


def feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
async def test_frames_round_trip_at_every_length_encoding(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    frame = await ws.read_frame(feed(ws.encode(ws.BINARY, payload, masked=True)), from_client=True)
    assert (frame.opcode, frame.payload, frame.fin) == (ws.BINARY, payload, True)
    frame = await ws.read_frame(feed(ws.encode(ws.BINARY, payload)), from_client=False)
    assert frame.payload == payload


async def test_unmasked_client_frames_and_long_pings_are_protocol_errors() -> None:
    with pytest.raises(ws.ProtocolError):
        await ws.read_frame(feed(ws.encode(ws.BINARY, b"x")), from_client=True)
    with pytest.raises(ws.ProtocolError):
        await ws.read_frame(feed(ws.encode(ws.PING, b"x" * 126, masked=True)), from_client=True)


def test_accept_key_is_rfc6455s_example() -> None:
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


async def test_a_token_is_good_until_it_expires_and_may_be_reused(sessions: Sessions) -> None:
    locator = Locator()
    locator.endpoints[UUID] = ("127.0.0.1", 5901)
    token = await issue(sessions, 5901)
    for _ in range(2):
        found = await console_access.authorize(sessions, locator, token)
        assert (found.instance_uuid, found.port) == (UUID, 5901)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=601)
    with pytest.raises(console_access.ConsoleRefused, match="invalid or has expired"):
        await console_access.authorize(sessions, locator, token, now=later)


async def test_unknown_and_missing_tokens_are_refused(sessions: Sessions) -> None:
    locator = Locator()
    await issue(sessions, 5901)
    with pytest.raises(console_access.ConsoleRefused, match="invalid or has expired"):
        await console_access.authorize(sessions, locator, "tok2")
    with pytest.raises(console_access.ConsoleRefused, match="no console token"):
        await console_access.authorize(sessions, locator, "")


async def test_a_guest_gone_or_moved_invalidates_its_token(sessions: Sessions) -> None:
    locator = Locator()
    token = await issue(sessions, 5901)
    with pytest.raises(console_access.ConsoleRefused, match="not available"):
        await console_access.authorize(sessions, locator, token)
    locator.endpoints[UUID] = ("127.0.0.1", 5902)
    with pytest.raises(console_access.ConsoleRefused, match="no longer has its console"):
        await console_access.authorize(sessions, locator, token)


@pytest.fixture
async def proxy(sessions: Sessions, tmp_path: Path) -> AsyncIterator[tuple[ConsoleProxy, int]]:
    locator = Locator()
    cfg = ConsoleConfig(listen="127.0.0.1:0", novnc_path=str(tmp_path / "novnc"))
    server = ConsoleProxy(cfg, sessions, locator)
    port = await server.start()
    server.devices = locator
    yield server, port
    await server.stop()


async def test_websocket_reaches_the_console_both_ways(
    proxy: tuple[ConsoleProxy, int], sessions: Sessions, rfb: int
) -> None:
    server, port = proxy
    assert isinstance(server.devices, Locator)
    server.devices.endpoints[UUID] = ("127.0.0.1", rfb)
    token = await issue(sessions, rfb)
    conn = await wsclient.connect(f"ws://127.0.0.1:{port}/?token={token}")
    try:
        assert conn.subprotocol == "binary"
        assert await conn.recv_bytes(len(BANNER)) == BANNER
        await conn.send(b"RFB 003.008\n")
        assert await conn.recv_bytes(12) == b"RFB 003.008\n"
        await conn.send(b"typed", ws.TEXT)
        assert await conn.recv_bytes(5) == b"typed"
        await conn.send(b"are you there", ws.PING)
        pong = await conn.recv()
        assert (pong.opcode, pong.payload) == (ws.PONG, b"are you there")
        await conn.send(ws.close_payload(ws.NORMAL), ws.CLOSE)
        assert (await conn.recv()).opcode == ws.CLOSE
    finally:
        await conn.close()


async def test_the_console_closing_closes_the_websocket(
    proxy: tuple[ConsoleProxy, int], sessions: Sessions
) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")
        writer.close()

    console = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    cport = int(console.sockets[0].getsockname()[1])
    server, port = proxy
    assert isinstance(server.devices, Locator)
    server.devices.endpoints[UUID] = ("127.0.0.1", cport)
    conn = await wsclient.connect(
        f"ws://127.0.0.1:{port}/console/serial/?token=" + await issue(sessions, cport)
    )
    try:
        assert await conn.recv_bytes(3) == b"bye"
        assert (await conn.recv()).opcode == ws.CLOSE
    finally:
        await conn.close()
        console.close()


async def test_refusals_are_http_answers_before_the_upgrade(
    proxy: tuple[ConsoleProxy, int], sessions: Sessions, rfb: int
) -> None:
    server, port = proxy
    assert isinstance(server.devices, Locator)
    server.devices.endpoints[UUID] = ("127.0.0.1", rfb)
    with pytest.raises(wsclient.Refused) as refused:
        await wsclient.connect(f"ws://127.0.0.1:{port}/?token=nope")
    assert refused.value.status == 403 and "invalid or has expired" in refused.value.body
    token = await issue(sessions, rfb)
    with pytest.raises(wsclient.Refused) as refused:
        await wsclient.connect(f"ws://127.0.0.1:{port}/?token={token}", origin="http://evil")
    assert refused.value.status == 403 and "Origin" in refused.value.body
    conn = await wsclient.connect(
        f"ws://127.0.0.1:{port}/?token={token}", origin=f"http://127.0.0.1:{port}"
    )
    await conn.close()
    server.devices.endpoints[UUID] = ("127.0.0.1", 1)
    await issue(sessions, 1, token="unreachable")
    with pytest.raises(wsclient.Refused) as refused:
        await wsclient.connect(f"ws://127.0.0.1:{port}/?token=unreachable")
    assert refused.value.status == 502


def test_novnc_files_are_served_from_the_package_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "novnc"
    missing = static.serve(root, "/console/novnc/vnc_lite.html")
    assert missing.status == 404 and b"noVNC is not installed" in missing.body
    (root / "core").mkdir(parents=True)
    (root / "vnc_lite.html").write_text("<html></html>")
    (root / "core" / "rfb.js").write_text("export default 1;")
    (tmp_path / "secret").write_text("no")
    page = static.serve(root, "/console/novnc/vnc_lite.html")
    assert (page.status, page.content_type) == (200, "text/html; charset=utf-8")
    assert static.serve(root, "/console/novnc/core/rfb.js").status == 200
    # Straight to the proxy's port, as Nova's novncproxy_base_url points.
    assert static.serve(root, "/vnc_lite.html").status == 200
    for bad in ("/console/novnc/../secret", "/../secret", "/console/novnc/.hidden", "/"):
        assert static.serve(root, bad).status == 404


async def test_novnc_page_through_the_proxy(
    proxy: tuple[ConsoleProxy, int], tmp_path: Path
) -> None:
    _, port = proxy
    (tmp_path / "novnc").mkdir()
    (tmp_path / "novnc" / "vnc_lite.html").write_text("<title>noVNC</title>")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /console/novnc/vnc_lite.html?path=%3Ftoken%3Dx HTTP/1.1\r\nHost: h\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"<title>noVNC</title>")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"DELETE /console/novnc/vnc_lite.html HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 405 ")
    writer.close()
