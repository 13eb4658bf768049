"""Remote consoles (2.6+) and console auth tokens: protocol/type rules, the URL under the
compute endpoint, the stored token and its connection information."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from novamesh.common.apidb import models
from novamesh.common.config import ConsoleConfig
from novamesh.gateway.domain import consoles
from novamesh.gateway.testing.harness import Gateway, Response
from novamesh.gateway.testing.subresources import boot, gateway
from sqlalchemy import update


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with gateway(tmp_path) as gw:
        yield gw


async def console(
    gw: Gateway, sid: str, protocol: str, kind: str, version: str = "2.6", token: str = "alice:p1"
) -> Response:
    body = {"remote_console": {"protocol": protocol, "type": kind}}
    return await gw.rest(
        "consoles.CreateRemoteConsole",
        id=sid,
        path=f"/v2.1/servers/{sid}/remote-consoles",
        body=body,
        token=token,
        version=version,
    )


async def token_info(
    gw: Gateway, token: str, version: str = "2.31", who: str = "admin"
) -> Response:
    return await gw.rest(
        "consoles.GetConsoleAuthToken",
        id=token,
        path=f"/v2.1/os-console-auth-tokens/{token}",
        token=who,
        version=version,
    )


async def test_vnc_console_and_its_token(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await console(gw, sid, "vnc", "novnc")
    assert resp.status == 200, resp.message
    remote = resp.body["remote_console"]
    assert (remote["protocol"], remote["type"]) == ("vnc", "novnc")
    url = urlsplit(remote["url"])
    assert url.netloc == "api.example.com:8774" and url.path == "/console/novnc/vnc_lite.html"
    token = parse_qs(parse_qs(url.query)["path"][0].lstrip("?"))["token"][0]

    info = await token_info(gw, token)
    assert info.body == {
        "console": {
            "instance_uuid": sid,
            "host": "10.0.0.9",
            "port": 5901,
            "internal_access_path": None,
        }
    }
    assert (await token_info(gw, token, "2.99")).body["console"]["tls_port"] is None
    assert (await token_info(gw, token, who="alice:p1")).status == 403
    assert (await token_info(gw, token, "2.30")).status == 401
    missing = await token_info(gw, "nope")
    assert (missing.status, missing.message) == (404, "Token not found")
    # Expired tokens are gone.
    async with gw.sessions() as session, session.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(update(models.ConsoleAuthToken).values(expires=past))
    assert (await token_info(gw, token)).status == 404


async def test_console_urls_per_type(gw: Gateway) -> None:
    sid = await boot(gw)
    spice = (await console(gw, sid, "spice", "spice-html5")).body["remote_console"]["url"]
    assert spice.startswith("http://api.example.com:8774/console/spice/spice_auto.html?token=")
    serial = (await console(gw, sid, "serial", "serial")).body["remote_console"]["url"]
    assert serial.startswith("ws://api.example.com:8774/console/serial/?token=")


@pytest.mark.parametrize(
    ("protocol", "kind", "version", "status", "message"),
    [
        ("vnc", "spice-html5", "2.6", 400, "Invalid console type spice-html5"),
        ("rdp", "rdp-html5", "2.6", 400, "Unavailable console type rdp-html5."),
        ("mks", "webmks", "2.6", 400, ""),
        ("mks", "webmks", "2.8", 501, "Unable to get mks console, functionality not implemented"),
        ("spice", "spice-direct", "2.98", 400, ""),
        ("vnc", "novnc", "2.5", 404, ""),
    ],
)
async def test_console_refusals(
    gw: Gateway, protocol: str, kind: str, version: str, status: int, message: str
) -> None:
    sid = await boot(gw)
    resp = await console(gw, sid, protocol, kind, version)
    assert resp.status == status
    assert message in resp.message


async def test_console_needs_a_host(gw: Gateway) -> None:
    sid = await boot(gw)
    gw.router.instances[sid].host = ""
    resp = await console(gw, sid, "vnc", "novnc")
    assert (resp.status, resp.message) == (409, f"Instance {sid} is not ready")
    resp = await console(gw, sid, "vnc", "novnc", token="eve:p9")
    assert resp.status == 404


async def test_legacy_console_actions(gw: Gateway) -> None:
    sid = await boot(gw)

    async def action(body: object, version: str = "2.1") -> Response:
        return await gw.rest(
            "servers.ServerAction",
            id=sid,
            path=f"/v2.1/servers/{sid}/action",
            body=body,
            token="alice:p1",
            version=version,
        )

    resp = await action({"os-getVNCConsole": {"type": "novnc"}})
    assert resp.status == 200, resp.message
    assert resp.body["console"]["type"] == "novnc"
    assert "/console/novnc/vnc_lite.html?path=%3Ftoken%3D" in resp.body["console"]["url"]
    resp = await action({"os-getSerialConsole": {"type": "serial"}})
    assert resp.body["console"]["url"].startswith("ws://")
    assert (await action({"os-getVNCConsole": {"type": "spice-html5"}})).status == 400
    assert (await action({"os-getVNCConsole": {"type": "novnc"}}, "2.6")).status == 404


def test_configured_console_base_urls() -> None:
    """Operators may name where each console type is reached (Nova's novncproxy_base_url and
    kin, e.g. a proxy of their own): the token joins that URL's query as Nova joins it."""
    cfg = ConsoleConfig(
        novncproxy_base_url="http://127.0.0.1:6080/vnc_auto.html",
        serialproxy_base_url="ws://127.0.0.1:6083/",
        spice_direct_proxy_base_url="http://127.0.0.1:13002/nova?region=a",
    )
    bases = consoles.configured_bases(cfg)
    assert set(bases) == {"novnc", "serial", "spice-direct"}
    api = "http://api.example.com:8774"
    assert consoles.access_url(api, "novnc", "t1", bases) == (
        "http://127.0.0.1:6080/vnc_auto.html",
        "http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3Dt1",
    )
    assert consoles.access_url(api, "serial", "t2", bases)[1] == "ws://127.0.0.1:6083/?token=t2"
    assert consoles.access_url(api, "spice-direct", "t3", bases)[1] == (
        "http://127.0.0.1:13002/nova?region=a&token=t3"
    )
    # A type without a configured base stays under the compute endpoint asked.
    assert consoles.access_url(api, "spice-html5", "t4", bases)[1] == (
        f"{api}/console/spice/spice_auto.html?token=t4"
    )
