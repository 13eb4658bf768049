"""Whether a console connection may go through: Nova's console auth token validation and its
validate_console_port check.

A token is good until it expires, as in Nova: reconnecting (a browser reload) reuses it. On
every connection the guest's host is asked again where the console listens; a guest that was
deleted, moved or restarted with another console port no longer matches the token's endpoint,
so an old token cannot reach whatever listens there now.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from novamesh.cells.v1 import server_devices_pb2 as sd
from novamesh.gateway.api import errors
from novamesh.gateway.db import console_tokens
from novamesh.gateway.db.console_tokens import TokenRecord
from novamesh.gateway.domain.consoles import PROTOCOLS
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class ConsoleLocator(Protocol):
    """Where a guest's console listens now (the router asks its host): Devices.console."""

    async def console(self, uuid: str, protocol: str) -> sd.ConsoleEndpoint: ...


class ConsoleRefused(Exception):
    """The connection is refused; the message is safe to show the client."""


async def authorize(
    sessions: async_sessionmaker[AsyncSession],
    devices: ConsoleLocator,
    token: str,
    now: dt.datetime | None = None,
) -> TokenRecord:
    if not token:
        raise ConsoleRefused("no console token given")
    found = await console_tokens.find(sessions, token, now or dt.datetime.now(dt.UTC))
    if found is None:
        raise ConsoleRefused("the console token is invalid or has expired")
    protocol = PROTOCOLS.get(found.console_type)
    if protocol is None:
        raise ConsoleRefused(f"console type {found.console_type} cannot be proxied")
    try:
        current = await devices.console(found.instance_uuid, protocol)
    except errors.ApiError as err:
        raise ConsoleRefused(
            f"the console of instance {found.instance_uuid} is not available: {err}"
        ) from err
    if (current.host, current.port) != (found.host, found.port):
        raise ConsoleRefused(
            f"instance {found.instance_uuid} no longer has its console at the token's endpoint"
        )
    return found
