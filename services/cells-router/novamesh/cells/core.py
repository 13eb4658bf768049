"""What the router's parts share: cells, mappings, agent channels, event buses, locks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from novamesh.cells import convert
from novamesh.cells.agents import AgentHub
from novamesh.cells.apistore import ApiStore, Mapping
from novamesh.cells.bus import Bus
from novamesh.cells.db import instances as inst_db
from novamesh.cells.mappings import Mappings
from novamesh.cells.registry import Cell, CellRegistry, UnknownCell
from novamesh.cells.v1 import router_pb2
from novamesh.common.db import transaction
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """The instance is not in a state that allows the request (HTTP 409)."""


class Unavailable(Exception):
    """A cell or host needed for the request does not answer (HTTP 503)."""


@dataclass
class Core:
    registry: CellRegistry
    api: ApiStore
    mappings: Mappings
    hub: AgentHub
    heartbeat_interval: float
    list_timeout: float = 2.0
    instance_events: Bus[router_pb2.InstanceEvent] = field(default_factory=Bus)
    host_events: Bus[router_pb2.HostStateUpdate] = field(default_factory=Bus)
    # Instances a delete has claimed: builds and reschedules stop touching them.
    deleting: set[str] = field(default_factory=set)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @contextlib.asynccontextmanager
    async def lock(self, instance_uuid: str) -> AsyncIterator[None]:
        """Serialise the router's own steps on one instance (build, reschedule, delete)."""
        lock = self._locks.setdefault(instance_uuid, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
                self._locks.pop(instance_uuid, None)

    def spawn(self, work: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        """Run work in the background, keeping a reference and logging its failure."""

        async def guarded() -> Any:
            try:
                return await work
            except asyncio.CancelledError:
                raise
            except Exception:
                LOG.exception("background work failed", extra={"fields": {"what": what}})

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def idle(self) -> None:
        """Wait until no background work is left (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self.hub.close()
        self.instance_events.close()
        self.host_events.close()

    async def cell(self, cell_id: int) -> Cell:
        try:
            return self.registry.by_id(cell_id)
        except UnknownCell:
            await self.registry.refresh()
            return self.registry.by_id(cell_id)

    async def cell_by_uuid(self, cell_uuid: str) -> Cell:
        try:
            return self.registry.get(cell_uuid)
        except UnknownCell:
            await self.registry.refresh()
            return self.registry.get(cell_uuid)

    async def locate(self, instance_uuid: str) -> tuple[Mapping, Cell | None]:
        """The instance's mapping and its cell (None while it is a build request)."""
        mapping = await self.mappings.resolve(instance_uuid)
        if mapping is None or mapping.queued_for_delete:
            raise NotFound(f"Instance {instance_uuid} could not be found.")
        if mapping.cell_id is None:
            return mapping, None
        return mapping, await self.cell(mapping.cell_id)

    async def in_cell(
        self,
        cell: Cell,
        work: Any,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Run `work(session)` in one transaction of the cell's database.

        The transaction runs in a task of its own, shielded: a caller that is cancelled (a
        client hung up, a time limit passed) never leaves a connection half-used.
        """

        async def run() -> Any:
            async with transaction(cell.sessions) as session:
                return await work(session)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(_settle)
        task.add_done_callback(self._tasks.discard)
        if timeout is None:
            return await asyncio.shield(task)
        return await asyncio.wait_for(asyncio.shield(task), timeout)

    async def load(self, cell: Cell, instance_uuid: str) -> router_pb2.Instance | None:
        async def work(session: AsyncSession) -> router_pb2.Instance | None:
            row = await inst_db.get(session, instance_uuid, include_deleted=True)
            return convert.instance(row, cell) if row is not None else None

        result: router_pb2.Instance | None = await self.in_cell(cell, work)
        return result

    async def publish(
        self,
        cell: Cell,
        instance_uuid: str,
        kind: router_pb2.InstanceEvent.Kind.ValueType = router_pb2.InstanceEvent.KIND_UPDATED,
    ) -> None:
        if not len(self.instance_events):
            return
        try:
            found = await self.load(cell, instance_uuid)
        except Exception:
            LOG.exception("cannot load an instance to publish its change")
            return
        if found is not None:
            self.instance_events.publish(router_pb2.InstanceEvent(kind=kind, instance=found))

    def publish_message(
        self,
        found: router_pb2.Instance,
        kind: router_pb2.InstanceEvent.Kind.ValueType,
    ) -> None:
        self.instance_events.publish(router_pb2.InstanceEvent(kind=kind, instance=found))

    @staticmethod
    async def quietly(call: Awaitable[Any], what: str) -> bool:
        """Await a best-effort call (cleanup); log rather than raise when it fails."""
        try:
            await call
            return True
        except Exception as exc:
            LOG.warning("%s failed: %s", what, exc)
            return False


def _settle(task: asyncio.Task[Any]) -> None:
    """Mark a shielded task's failure as seen (its caller may have stopped waiting)."""
    if not task.cancelled():
        task.exception()
