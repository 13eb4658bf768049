"""What the router does with each message an agent sends on its channel.

Register maps the agent's hosts into its cell (the one it names, else this router's own):
services, compute nodes, host mappings. Any message from an agent proves it alive (a beat in
the shared heartbeat store, with a TTL of two heartbeat intervals); heartbeats also stamp the
services' last_seen_up; resources refresh compute nodes; instance updates move instance rows
and complete instance-action events; results resolve pending commands.
"""

from __future__ import annotations

import logging
import time

from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.agents import AgentSession
from novamesh.cells.core import Core, NotFound
from novamesh.cells.db import hosts as hosts_db
from novamesh.cells.db import instances as inst_db
from novamesh.cells.hoststates import HostStates
from novamesh.cells.live_migrations import LiveControl
from novamesh.cells.registry import Cell, UnknownCell
from novamesh.common import telemetry
from novamesh.common.db import utcnow
from novamesh.common.redisstore import Heartbeats
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)
_TRACER = trace.get_tracer("novamesh.cells")


class Channel:
    def __init__(
        self, core: Core, host_states: HostStates, heartbeats: Heartbeats | None = None
    ) -> None:
        self._core = core
        self._host_states = host_states
        self._heartbeats = heartbeats
        # agent id -> when its hosts last beat in the shared store (monotonic clock).
        self._beaten: dict[str, float] = {}

    async def _cell(self, hint: str) -> Cell:
        registry = self._core.registry
        if not hint:
            return registry.local
        try:
            return registry.find(hint)
        except UnknownCell:
            await registry.refresh()
            return registry.find(hint)

    async def register(
        self, agent_id: str, reg: agent_pb2.Register, cell_hint: str = ""
    ) -> tuple[AgentSession, Cell]:
        cell = await self._cell(cell_hint)
        hosts = sorted({h.host for h in reg.hosts})

        async def work(session: AsyncSession) -> None:
            for host in hosts:
                await hosts_db.upsert_service(session, host, reg.version)
            for res in reg.hosts:
                await hosts_db.upsert_node(
                    session,
                    res.host,
                    res.nodename or res.hypervisor_hostname or res.host,
                    res.compute_node_uuid,
                    lambda node, res=res: convert.apply_resources(node, res),  # type: ignore[misc]
                )

        await self._core.in_cell(cell, work)
        conflicts = await self._core.api.map_hosts(hosts, cell.id)
        for host in conflicts:
            LOG.warning("host %s is mapped to another cell; not remapping it", host)
        mapped = [h for h in hosts if h not in conflicts]

        async def mark(session: AsyncSession) -> None:
            await hosts_db.mark_mapped(session, mapped)

        await self._core.in_cell(cell, mark)
        agent = AgentSession(agent_id, hosts)
        self._core.hub.attach(agent)
        self._beaten.pop(agent_id, None)
        await self._alive(agent)
        LOG.info(
            "agent registered",
            extra={"fields": {"agent_id": agent_id, "hosts": hosts, "cell": cell.label}},
        )
        for host in hosts:
            await self._host_states.changed(cell, host)
        return agent, cell

    async def handle(self, agent: AgentSession, cell: Cell, msg: agent_pb2.AgentMessage) -> None:
        body = msg.WhichOneof("body")
        parent = telemetry.extract(msg.trace_context)
        with _TRACER.start_as_current_span(f"agent.{body}", context=parent):
            self._core.hub.beat(agent)
            await self._alive(agent)
            if body == "heartbeat":
                await self._heartbeat(agent, cell)
            elif body == "resources":
                await self._resources(cell, msg.resources)
            elif body == "instance_update":
                await self._instance_update(msg.instance_update)
            elif body == "result":
                self._core.hub.resolve(msg.result)
            elif body == "live_migration_progress":
                await LiveControl(self._core).progress(msg.live_migration_progress)
            elif body == "register":
                LOG.warning("agent %s registered twice on one channel", agent.agent_id)

    async def _alive(self, agent: AgentSession) -> None:
        """Beat in the shared store, at most twice per heartbeat interval per agent."""
        if self._heartbeats is None:
            return
        interval = self._core.heartbeat_interval
        now = time.monotonic()
        if now - self._beaten.get(agent.agent_id, -interval) < interval / 2:
            return
        self._beaten[agent.agent_id] = now
        try:
            await self._heartbeats.beat(agent.hosts, 2 * interval)
        except Exception as exc:
            LOG.warning("cannot record the heartbeat of %s: %s", agent.agent_id, exc)

    async def closed(self, agent: AgentSession, cell: Cell) -> None:
        for host in self._core.hub.detach(agent):
            await self._host_states.changed(cell, host)

    async def _heartbeat(self, agent: AgentSession, cell: Cell) -> None:
        self._core.hub.beat(agent)
        now = utcnow()

        async def work(session: AsyncSession) -> None:
            await hosts_db.heartbeat(session, agent.hosts, now)

        await self._core.in_cell(cell, work)

    async def _resources(self, cell: Cell, res: agent_pb2.HostResources) -> None:
        async def work(session: AsyncSession) -> None:
            await hosts_db.upsert_node(
                session,
                res.host,
                res.nodename or res.hypervisor_hostname or res.host,
                res.compute_node_uuid,
                lambda node: convert.apply_resources(node, res),
            )

        await self._core.in_cell(cell, work)
        await self._host_states.changed(cell, res.host)

    async def _instance_update(self, upd: agent_pb2.InstanceUpdate) -> None:
        try:
            _, cell = await self._core.locate(upd.instance_uuid)
        except NotFound:
            LOG.info("update for an unknown instance %s", upd.instance_uuid)
            return
        if cell is None:
            return

        async def work(session: AsyncSession) -> bool:
            row = await inst_db.get_plain(session, upd.instance_uuid)
            if row is None or row.deleted:
                return False
            values: dict[str, object] = {"power_state": upd.power_state}
            if upd.vm_state:
                values["vm_state"] = upd.vm_state
            # A delete in progress owns task_state until it finishes.
            if row.task_state != "deleting":
                values["task_state"] = upd.task_state or None
            if upd.host:
                values["host"] = upd.host
            if upd.HasField("launched_at"):
                values["launched_at"] = convert.from_ts(upd.launched_at)
            await inst_db.update_fields(session, upd.instance_uuid, **values)
            if upd.interfaces:
                await inst_db.set_network_info(
                    session,
                    upd.instance_uuid,
                    [convert.message_dict(i) for i in upd.interfaces],
                )
            if upd.event:
                await inst_db.record_event(
                    session,
                    upd.instance_uuid,
                    upd.event,
                    upd.event_result or "Success",
                    host=upd.host or row.host,
                    details=upd.fault_message,
                )
            if upd.fault_message:
                await inst_db.add_fault(
                    session, upd.instance_uuid, 500, upd.fault_message, host=upd.host or row.host
                )
            return True

        if await self._core.in_cell(cell, work):
            await self._core.publish(cell, upd.instance_uuid)
            if upd.host:
                await self._host_states.changed(cell, upd.host)
