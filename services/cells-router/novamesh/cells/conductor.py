"""The conductor role: schedule, land each instance in its cell, build it, reschedule on failure.

BuildInstances returns as soon as the work is accepted; the rest runs here in a background task
that stays in the caller's trace. Every exit path leaves either a visible instance (in its cell,
or in cell0 with a fault) or nothing at all, and never an allocation without an instance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert, group_check
from novamesh.cells.core import Core
from novamesh.cells.db import instances as inst_db
from novamesh.cells.hoststates import HostStates
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from novamesh.placement.v1 import placement_pb2, placement_pb2_grpc
from novamesh.scheduler.v1 import request_spec_pb2, scheduler_pb2, scheduler_pb2_grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)
_TRACER = trace.get_tracer("novamesh.cells")

NO_VALID_HOST = "No valid host was found."
CONDUCTOR_EVENT = "conductor_schedule_and_build_instances"


NOT_ENOUGH_HOSTS = "There are not enough hosts available."


def fault_text(reason: str) -> tuple[str, str]:
    """(message, details) of a build's fault. For NoValidHost the message is Nova's short form,
    which the instance's owner reads; the scheduler's explanation (which filter removed how many
    hosts) goes to the details, which only admins see on a 500 fault."""
    if reason.startswith(NO_VALID_HOST):
        return f"{NO_VALID_HOST} {NOT_ENOUGH_HOSTS}", reason
    return reason, ""


@dataclass
class Attempts:
    tried: list[tuple[str, str]] = field(default_factory=list)

    def add(self, host: str, error: str) -> None:
        self.tried.append((host, error))

    def describe(self, instance_uuid: str) -> str:
        listed = "; ".join(f"{host}: {error}" for host, error in self.tried)
        return (
            f"Build of instance {instance_uuid} failed after {len(self.tried)} attempt(s) "
            f"({listed})"
        )


class Conductor:
    def __init__(
        self,
        core: Core,
        host_states: HostStates,
        scheduler: scheduler_pb2_grpc.SchedulerServiceAsyncStub,
        placement: placement_pb2_grpc.PlacementServiceAsyncStub,
        max_attempts: int,
        build_timeout: float = 600.0,
    ) -> None:
        self._core = core
        self._host_states = host_states
        self._scheduler = scheduler
        self._placement = placement
        self._max_attempts = max(1, max_attempts)
        self._build_timeout = build_timeout
        self._group_gate = group_check.GroupGate()

    def accept(self, request: router_pb2.BuildInstancesRequest) -> None:
        captured = otel_context.get_current()

        async def run() -> None:
            token = otel_context.attach(captured)
            try:
                with _TRACER.start_as_current_span("conductor.schedule_and_build") as span:
                    span.set_attribute("instances", len(request.instances))
                    await self._schedule_and_build(request)
            finally:
                otel_context.detach(token)

        self._core.spawn(run(), "schedule and build")

    async def _schedule_and_build(self, req: router_pb2.BuildInstancesRequest) -> None:
        try:
            resp = await self._scheduler.SelectDestinations(
                scheduler_pb2.SelectDestinationsRequest(
                    spec=req.spec,
                    instance_uuids=[i.uuid for i in req.instances],
                    return_alternates=True,
                    request_id=req.request_id,
                )
            )
        except grpc.aio.AioRpcError as exc:
            explanation = exc.details() or ""
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                reason = explanation
                if not reason.startswith(NO_VALID_HOST):
                    reason = f"{NO_VALID_HOST} {reason}".strip()
            else:
                reason = f"Scheduling failed: {explanation or exc.code().name}"
            for inst in req.instances:
                await self._release(inst.uuid)
                await self._bury(inst, reason, req.request_id)
            return
        chosen = {r.instance_uuid: list(r.selections) for r in resp.results}
        for inst in req.instances:
            selections = chosen.get(inst.uuid, [])
            if not selections:
                reason = f"{NO_VALID_HOST} The scheduler chose no host."
                await self._bury(inst, reason, req.request_id)
                continue
            self._core.spawn(self._build_one(inst, selections, req), f"build {inst.uuid}")

    async def _release(self, instance_uuid: str) -> bool:
        return await self._core.quietly(
            self._placement.DeleteAllocations(
                placement_pb2.DeleteAllocationsRequest(consumer_uuid=instance_uuid)
            ),
            f"releasing the allocation of {instance_uuid}",
        )

    async def _bury(self, inst: router_pb2.Instance, reason: str, request_id: str) -> None:
        """Record a build that got no host in cell0, in ERROR with a fault saying why."""
        cell0 = self._core.registry.cell0

        async def create(session: AsyncSession) -> None:
            existing = await inst_db.get_plain(session, inst.uuid)
            if existing is not None:
                await inst_db.hard_delete(session, inst.uuid)
            session.add(
                convert.new_row(inst, vm_state="error", task_state=None, host=None, node=None)
            )
            await session.flush()
            message, details = fault_text(reason)
            await inst_db.add_fault(session, inst.uuid, 500, message, details=details)
            await inst_db.start_action(
                session, inst.uuid, "create", request_id, inst.user_id, inst.project_id
            )
            await inst_db.record_event(session, inst.uuid, CONDUCTOR_EVENT, "Error", details=reason)

        await self._core.in_cell(cell0, create)
        if not await self._core.api.land_build(inst.uuid, cell0.id):
            await self._drop(cell0, inst.uuid)
            return
        LOG.info("build buried in cell0", extra={"fields": {"uuid": inst.uuid, "why": reason}})
        await self._core.publish(cell0, inst.uuid)

    async def _drop(self, cell: Cell, instance_uuid: str) -> None:
        """Remove an instance row the user never saw (its build request was deleted)."""

        async def work(session: AsyncSession) -> None:
            await inst_db.hard_delete(session, instance_uuid)

        await self._core.in_cell(cell, work)

    async def _cell_of(self, selection: scheduler_pb2.Selection) -> Cell | None:
        cell_uuid = selection.cell_uuid or await self._core.api.host_cell_uuid(selection.host)
        if not cell_uuid:
            return None
        try:
            return await self._core.cell_by_uuid(cell_uuid)
        except LookupError:
            return None

    async def _build_one(
        self,
        inst: router_pb2.Instance,
        selections: list[scheduler_pb2.Selection],
        req: router_pb2.BuildInstancesRequest,
    ) -> None:
        uuid = inst.uuid
        pending = await self._core.api.build_request(uuid)
        if pending is None:
            # Deleted before it could land: give back what the scheduler claimed.
            await self._release(uuid)
            return
        # The build request has the last word: the user may have edited it meanwhile.
        inst = router_pb2.Instance.FromString(pending.instance)
        current = selections[0]
        if not inst.availability_zone:
            inst.availability_zone = current.availability_zone
        cell = await self._cell_of(current)
        if cell is None:
            await self._release(uuid)
            reason = f"{NO_VALID_HOST} Host {current.host} is not mapped to a cell."
            await self._bury(inst, reason, req.request_id)
            return

        async def create(session: AsyncSession) -> None:
            session.add(
                convert.new_row(
                    inst,
                    vm_state="building",
                    task_state="spawning",
                    host=current.host,
                    node=current.nodename or current.host,
                )
            )
            await session.flush()
            await inst_db.start_action(
                session, uuid, "create", req.request_id, inst.user_id, inst.project_id
            )
            await inst_db.record_event(session, uuid, CONDUCTOR_EVENT, "Success")

        try:
            await self._core.in_cell(cell, create)
        except Exception as exc:
            LOG.exception("cannot create the instance in cell %s", cell.label)
            await self._release(uuid)
            await self._bury(inst, f"Cannot record the instance in its cell: {exc}", req.request_id)
            return
        try:
            landed = await self._core.api.land_build(uuid, cell.id)
        except Exception:
            await self._core.quietly(self._drop(cell, uuid), "removing an unlanded instance")
            await self._release(uuid)
            raise
        if not landed:
            # Deleted while it was being scheduled: leave nothing behind.
            await self._drop(cell, uuid)
            await self._release(uuid)
            return
        await self._core.publish(cell, uuid)
        await self._host_states.changed(cell, current.host)
        await self._run_build(cell, inst, current, selections[1:], req)

    def _command(
        self, inst: router_pb2.Instance, sel: scheduler_pb2.Selection, admin_pass: str
    ) -> agent_pb2.AgentCommand:
        spec = agent_pb2.InstanceSpec(
            uuid=inst.uuid,
            name=inst.name,
            hostname=inst.hostname,
            project_id=inst.project_id,
            user_id=inst.user_id,
            flavor=inst.flavor,
            image=inst.image,
            metadata=dict(inst.metadata),
            user_data=inst.user_data,
            key_name=inst.key_name,
            key_data=inst.key_data,
            admin_pass=admin_pass,
            config_drive=inst.config_drive,
            networks=list(inst.requested_networks),
            node=sel.nodename or sel.host,
            block_devices=list(inst.block_device_mappings),
        )
        return agent_pb2.AgentCommand(build=agent_pb2.BuildAndRun(instance=spec))

    async def _run_build(
        self,
        cell: Cell,
        inst: router_pb2.Instance,
        current: scheduler_pb2.Selection,
        alternates: list[scheduler_pb2.Selection],
        req: router_pb2.BuildInstancesRequest,
    ) -> None:
        try:
            await self._build_attempts(cell, inst, current, alternates, req)
        finally:
            # By then the instance's state says it is established on its host; until it does,
            # it still counts as having passed the group check there.
            asyncio.get_running_loop().call_later(
                group_check.PASSED_GRACE, self._group_gate.passed.discard, inst.uuid
            )

    async def _build_attempts(
        self,
        cell: Cell,
        inst: router_pb2.Instance,
        current: scheduler_pb2.Selection,
        alternates: list[scheduler_pb2.Selection],
        req: router_pb2.BuildInstancesRequest,
    ) -> None:
        uuid = inst.uuid
        attempts = Attempts()
        admin_pass = req.admin_passwords.get(uuid, "")
        while True:
            # A group member the scheduler did not see may hold the host: that is a retryable
            # failure, answered here instead of by the agent.
            conflict = await self._group_conflict(cell, uuid, current.host, req.spec)
            async with self._core.lock(uuid):
                if uuid in self._core.deleting or await self._gone(cell, uuid):
                    return
                if conflict is None:
                    command = self._command(inst, current, admin_pass)
                    future = self._core.hub.send(current.host, command)
            if conflict is None:
                outcome = await self._core.hub.wait(command, future, self._build_timeout)
                if outcome.ok:
                    return
                error, retryable = outcome.error, outcome.retryable
            else:
                error, retryable = conflict, True
            attempts.add(current.host, error)
            LOG.info(
                "build failed on a host",
                extra={"fields": {"uuid": uuid, "host": current.host, "error": error}},
            )
            async with self._core.lock(uuid):
                if uuid in self._core.deleting or await self._gone(cell, uuid):
                    return
                nxt = None
                if retryable and len(attempts.tried) < self._max_attempts:
                    await self._release(uuid)
                    nxt = await self._claim_alternate(inst, cell, alternates, attempts)
                if nxt is None:
                    await self._fail(cell, inst, current.host, attempts)
                    return
                previous, current = current, nxt
                await self._core.in_cell(cell, _move_to(uuid, nxt))
            await self._core.publish(cell, uuid)
            await self._host_states.changed(cell, previous.host)
            await self._host_states.changed(cell, current.host)

    async def _group_conflict(
        self, cell: Cell, uuid: str, host: str, spec: request_spec_pb2.RequestSpec
    ) -> str | None:
        group = spec.instance_group
        if group.policy not in ("affinity", "anti-affinity") or not group.uuid:
            return None
        gate = self._group_gate
        members: set[str] = set()

        async def work(session: AsyncSession) -> str | None:
            return await group_check.violation(session, group, members, uuid, host, gate.passed)

        async with gate.lock(group.uuid):
            members = await group_check.current_members(self._core.api.sessions, group.uuid)
            found: str | None = await self._core.in_cell(cell, work)
            if found is None:
                gate.passed.add(uuid)
        return found

    async def _gone(self, cell: Cell, uuid: str) -> bool:
        async def work(session: AsyncSession) -> bool:
            row = await inst_db.get_plain(session, uuid)
            return row is None or row.deleted

        gone: bool = await self._core.in_cell(cell, work)
        return gone

    async def _claim_alternate(
        self,
        inst: router_pb2.Instance,
        cell: Cell,
        alternates: list[scheduler_pb2.Selection],
        attempts: Attempts,
    ) -> scheduler_pb2.Selection | None:
        tried = {host for host, _ in attempts.tried}
        while alternates and len(attempts.tried) < self._max_attempts:
            candidate = alternates.pop(0)
            if candidate.host in tried:
                continue
            if candidate.cell_uuid and candidate.cell_uuid != cell.uuid:
                continue  # alternates are same-cell; an instance does not change cell here
            try:
                await self._placement.ClaimAllocations(
                    placement_pb2.ClaimAllocationsRequest(
                        consumer_uuid=inst.uuid,
                        allocations=dict(candidate.allocation.allocations),
                        project_id=inst.project_id,
                        user_id=inst.user_id,
                        consumer_generation=-1,
                        consumer_type="INSTANCE",
                    )
                )
            except grpc.aio.AioRpcError as exc:
                attempts.add(candidate.host, f"claiming its resources failed: {exc.details()}")
                continue
            return candidate
        return None

    async def _fail(
        self, cell: Cell, inst: router_pb2.Instance, host: str, attempts: Attempts
    ) -> None:
        message = attempts.describe(inst.uuid)

        async def work(session: AsyncSession) -> None:
            await inst_db.update_fields(session, inst.uuid, vm_state="error", task_state=None)
            await inst_db.add_fault(session, inst.uuid, 500, message, host=host)
            await inst_db.record_event(
                session, inst.uuid, CONDUCTOR_EVENT, "Error", host=host, details=message
            )

        await self._core.in_cell(cell, work)
        await self._release(inst.uuid)
        await self._core.publish(cell, inst.uuid)
        await self._host_states.changed(cell, host)


def _move_to(uuid: str, sel: scheduler_pb2.Selection) -> Callable[[AsyncSession], Awaitable[None]]:
    async def work(session: AsyncSession) -> None:
        await inst_db.update_fields(
            session,
            uuid,
            host=sel.host,
            node=sel.nodename or sel.host,
            vm_state="building",
            task_state="spawning",
        )

    return work
