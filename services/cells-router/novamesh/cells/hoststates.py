"""The scheduler's host-state feed: a snapshot of every compute node, then every change.

A node's state is read back from its cell database whenever something about it changes (its
resources, its service going up or down, an instance landing or leaving), so the feed always
says what the database says. Up/down is decided by heartbeat age: a host is up while its last
heartbeat is younger than two heartbeat intervals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from novamesh.cells import convert
from novamesh.cells.core import Core
from novamesh.cells.db import hosts as hosts_db
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import models
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.common.db import utcnow
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)


class HostStates:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._last_up: dict[str, bool] = {}
        # Set to end watch_liveness between checks (never in the middle of a query).
        self.stopping = asyncio.Event()

    def _up(self, host: str, svc: models.Service | None) -> bool:
        if svc is not None and svc.forced_down:
            return False
        if self._core.hub.is_up(host):
            return True
        if svc is None or svc.last_seen_up is None:
            return False
        age = utcnow() - svc.last_seen_up
        return age < dt.timedelta(seconds=2 * self._core.heartbeat_interval)

    async def _states(self, cell: Cell, host: str | None) -> list[router_pb2.HostStateUpdate]:
        async def work(session: AsyncSession) -> list[router_pb2.HostStateUpdate]:
            out = []
            for node, svc in await hosts_db.nodes(session, host):
                on_host = await inst_db.host_instances(session, node.host)
                up = self._up(node.host, svc)
                self._last_up[node.host] = up
                out.append(
                    router_pb2.HostStateUpdate(
                        resources=convert.host_resources(node),
                        cell_uuid=cell.uuid,
                        service_up=up,
                        service_disabled=bool(svc and svc.disabled),
                        num_io_ops=sum(inst_db.is_io_op(v, t) for _, v, t in on_host),
                        instance_uuids=[u for u, _, _ in on_host],
                    )
                )
            return out

        result: list[router_pb2.HostStateUpdate] = await self._core.in_cell(
            cell, work, self._core.list_timeout * 5
        )
        return result

    async def snapshot(self) -> list[router_pb2.HostStateUpdate]:
        out: list[router_pb2.HostStateUpdate] = []
        for cell in self._core.registry.all():
            if cell.is_cell0:
                continue
            try:
                out.extend(await self._states(cell, None))
            except Exception as exc:
                LOG.warning("cell %s left out of the host-state snapshot: %s", cell.label, exc)
        return out

    async def changed(self, cell: Cell, host: str) -> None:
        """Publish the current state of a host's nodes (after anything about them changed)."""
        if not len(self._core.host_events):
            return
        try:
            for update in await self._states(cell, host):
                self._core.host_events.publish(update)
        except Exception:
            LOG.exception("cannot publish the state of host %s", host)

    async def watch_liveness(self, cell: Cell | None) -> None:
        """Publish a host's state when it goes up or down (until `stopping` is set).

        `cell` None watches every cell but cell0.
        """
        interval = max(self._core.heartbeat_interval / 2, 0.05)
        while True:
            try:
                await asyncio.wait_for(self.stopping.wait(), interval)
                return
            except TimeoutError:
                pass
            cells = [cell] if cell else [c for c in self._core.registry.all() if not c.is_cell0]
            for one in cells:
                try:
                    await self._check(one)
                except Exception as exc:
                    LOG.warning("liveness check of cell %s failed: %s", one.label, exc)

    async def _check(self, cell: Cell) -> None:
        async def work(session: AsyncSession) -> list[str]:
            flipped = []
            for node, svc in await hosts_db.nodes(session):
                up = self._up(node.host, svc)
                if self._last_up.get(node.host) != up:
                    flipped.append(node.host)
            return flipped

        for host in set(await self._core.in_cell(cell, work)):
            await self.changed(cell, host)
