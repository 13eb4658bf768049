"""CellsActionsService: moves, console output, and the records of migrations and actions."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import grpc
from novamesh.cells import convert
from novamesh.cells.core import Core, NotFound
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.guest_actions import GuestActions
from novamesh.cells.hoststates import HostStates
from novamesh.cells.lifecycle import Lifecycle
from novamesh.cells.moves import Moves
from novamesh.cells.rebuilds import Rebuilds
from novamesh.cells.registry import Cell
from novamesh.cells.servicer import _answer
from novamesh.cells.shelving import Shelving
from novamesh.cells.v1 import actions_pb2, actions_pb2_grpc, router_pb2
from novamesh.common.config import Config
from novamesh.placement.v1 import placement_pb2_grpc
from novamesh.scheduler.v1 import scheduler_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)
Ctx = grpc.aio.ServicerContext[Any, Any]


def _when(msg: Any, name: str) -> dt.datetime | None:
    return convert.from_ts(getattr(msg, name)) if msg.HasField(name) else None


def _ts_into(target: Any, value: dt.datetime | None) -> None:
    stamp = convert.ts(value)
    if stamp is not None:
        target.CopyFrom(stamp)


def migration_message(m: mig_db.Mig, cell: Cell) -> actions_pb2.Migration:
    out = actions_pb2.Migration(
        id=m.id,
        uuid=m.uuid,
        instance_uuid=m.instance_uuid,
        source_compute=m.source_compute or "",
        source_node=m.source_node or "",
        dest_compute=m.dest_compute or "",
        dest_node=m.dest_node or "",
        dest_host=m.dest_host or "",
        status=m.status or "",
        migration_type=m.migration_type or "",
        old_flavor_id=m.old_flavor_id or "",
        new_flavor_id=m.new_flavor_id or "",
        project_id=m.project_id or "",
        user_id=m.user_id or "",
        cell_uuid=cell.uuid,
    )
    _ts_into(out.created_at, m.created_at)
    _ts_into(out.updated_at, m.updated_at)
    for what in ("memory", "disk"):
        for key in ("total", "processed", "remaining"):
            value = getattr(m, f"{what}_{key}")
            if value is not None:
                setattr(out, f"{what}_{key}_bytes", value)
    return out


def action_message(
    a: mig_db.Action, events: list[mig_db.ActionEvent] | None = None
) -> actions_pb2.InstanceActionRecord:
    out = actions_pb2.InstanceActionRecord(
        action=a.action,
        instance_uuid=a.instance_uuid,
        request_id=a.request_id or "",
        user_id=a.user_id or "",
        project_id=a.project_id or "",
        message=a.message or "",
    )
    _ts_into(out.start_time, a.start_time)
    _ts_into(out.updated_at, a.updated_at or a.created_at)
    for e in events or []:
        ev = out.events.add(
            event=e.event,
            result=e.result or "",
            traceback=e.traceback or "",
            host=e.host or "",
            details=e.details or "",
        )
        _ts_into(ev.start_time, e.start_time)
        _ts_into(ev.finish_time, e.finish_time)
    return out


def attach_actions(
    lifecycle: Lifecycle,
    core: Core,
    host_states: HostStates,
    scheduler_channel: grpc.aio.Channel,
    placement: placement_pb2_grpc.PlacementServiceAsyncStub,
) -> ActionsServicer:
    """Give the router's lifecycle the other server actions; returns their service."""
    scheduler = scheduler_pb2_grpc.SchedulerServiceStub(scheduler_channel)
    moves = Moves(core, host_states, scheduler, placement)
    guest = GuestActions(core)
    shelving = Shelving(core, host_states, scheduler, placement)
    lifecycle.moves = moves
    lifecycle.guest = guest
    lifecycle.shelving = shelving
    return ActionsServicer(core, moves, guest, lifecycle, shelving)


class ActionsServicer(actions_pb2_grpc.CellsActionsServiceServicer):
    def __init__(
        self,
        core: Core,
        moves: Moves,
        guest: GuestActions,
        lifecycle: Lifecycle,
        shelving: Shelving,
    ) -> None:
        self._shelving = shelving
        self._rebuilds = Rebuilds(core)
        self._core = core
        self._moves = moves
        self._guest = guest
        self._lifecycle = lifecycle

    async def periodic(self, cfg: Config, stopping: asyncio.Event) -> None:
        """Nova's periodic tasks for actions: confirm the moves nobody confirmed within
        resize_confirm_window, reclaim soft-deleted servers after reclaim_instance_interval,
        offload servers shelved longer than shelved_offload_time."""
        window = cfg.actions.resize_confirm_window
        reclaim = cfg.api.reclaim_instance_interval
        offload = cfg.actions.shelved_offload_time
        self._shelving.offload_time = offload
        self._moves.allow_resize_to_same_host = cfg.actions.allow_resize_to_same_host
        if window <= 0 and reclaim <= 0 and offload <= 0:
            return
        interval = max(0.2, cfg.actions.periodic_interval)
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
            if stopping.is_set():
                return
            for cell in self._core.registry.all():
                if cell.is_cell0:
                    continue
                try:
                    if window > 0:
                        await self._moves.confirm_due(cell, window)
                    if reclaim > 0:
                        await self._guest.reclaim_due(cell, reclaim, self._lifecycle.delete)
                    if offload > 0:
                        await self._shelving.offload_due(cell, offload)
                except Exception:
                    LOG.exception("periodic action work failed in cell %s", cell.label)

    async def MoveInstance(
        self, request: actions_pb2.MoveInstanceRequest, context: Ctx
    ) -> router_pb2.Instance:
        return await _answer(context, self._moves.start(request))

    async def RebuildInstance(
        self, request: actions_pb2.RebuildInstanceRequest, context: Ctx
    ) -> router_pb2.Instance:
        return await _answer(context, self._rebuilds.rebuild(request))

    async def GetConsoleOutput(
        self, request: actions_pb2.GetConsoleOutputRequest, context: Ctx
    ) -> actions_pb2.GetConsoleOutputResponse:
        output = await _answer(context, self._guest.console_output(request.uuid, request.length))
        return actions_pb2.GetConsoleOutputResponse(output=output)

    async def ListMigrations(
        self, request: actions_pb2.ListMigrationsRequest, context: Ctx
    ) -> actions_pb2.ListMigrationsResponse:
        since, before = _when(request, "changes_since"), _when(request, "changes_before")
        filters = dict(request.filters)

        async def one(cell: Cell) -> list[actions_pb2.Migration]:
            async def work(session: AsyncSession) -> list[actions_pb2.Migration]:
                rows = await mig_db.search(session, filters, since, before)
                return [migration_message(m, cell) for m in rows]

            found: list[actions_pb2.Migration] = await self._core.in_cell(
                cell, work, self._core.list_timeout
            )
            return found

        cells = [c for c in self._core.registry.all() if not c.is_cell0]
        gathered = await asyncio.gather(*(one(c) for c in cells), return_exceptions=True)
        merged: list[actions_pb2.Migration] = []
        for cell, part in zip(cells, gathered, strict=True):
            if isinstance(part, BaseException):
                LOG.warning("cell %s did not list its migrations: %s", cell.label, part)
                continue
            merged.extend(part)
        merged.sort(key=lambda m: (m.created_at.ToDatetime(), m.id), reverse=True)
        if request.marker:
            at = next((i for i, m in enumerate(merged) if m.uuid == request.marker), None)
            if at is None:
                await context.abort(
                    grpc.StatusCode.NOT_FOUND, f"Marker {request.marker} could not be found."
                )
            else:
                merged = merged[at + 1 :]
        if request.limit > 0:
            merged = merged[: request.limit]
        return actions_pb2.ListMigrationsResponse(migrations=merged)

    async def _cell_of(self, instance_uuid: str) -> Cell:
        # Deleted instances keep their actions (2.21): a mapping queued for delete still counts.
        mapping = await self._core.mappings.resolve(instance_uuid)
        if mapping is None or mapping.cell_id is None:
            raise NotFound(f"Instance {instance_uuid} could not be found.")
        return await self._core.cell(mapping.cell_id)

    async def ListInstanceActions(
        self, request: actions_pb2.ListInstanceActionsRequest, context: Ctx
    ) -> actions_pb2.ListInstanceActionsResponse:
        async def run() -> actions_pb2.ListInstanceActionsResponse:
            cell = await self._cell_of(request.instance_uuid)
            since, before = _when(request, "changes_since"), _when(request, "changes_before")

            async def work(session: AsyncSession) -> list[actions_pb2.InstanceActionRecord]:
                rows = await mig_db.actions(session, request.instance_uuid, since, before)
                return [action_message(a) for a in rows]

            found: list[actions_pb2.InstanceActionRecord] = await self._core.in_cell(cell, work)
            if request.marker:
                at = next((i for i, a in enumerate(found) if a.request_id == request.marker), None)
                if at is None:
                    raise _BadMarker(f"Marker {request.marker} could not be found.")
                found = found[at + 1 :]
            if request.limit > 0:
                found = found[: request.limit]
            return actions_pb2.ListInstanceActionsResponse(actions=found)

        try:
            return await _answer(context, run())
        except _BadMarker as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise

    async def GetInstanceAction(
        self, request: actions_pb2.GetInstanceActionRequest, context: Ctx
    ) -> actions_pb2.InstanceActionRecord:
        async def run() -> actions_pb2.InstanceActionRecord:
            cell = await self._cell_of(request.instance_uuid)

            async def work(session: AsyncSession) -> actions_pb2.InstanceActionRecord | None:
                row = await mig_db.action(session, request.instance_uuid, request.request_id)
                if row is None:
                    return None
                return action_message(row, await mig_db.events(session, row.id))

            found: actions_pb2.InstanceActionRecord | None = await self._core.in_cell(cell, work)
            if found is None:
                raise NotFound(
                    f"Action for request_id {request.request_id} on instance "
                    f"{request.instance_uuid} not found"
                )
            return found

        return await _answer(context, run())


class _BadMarker(Exception):
    pass
