"""The control plane's own service records: nova-conductor (this router) and nova-scheduler.

Nova lists its conductors and schedulers beside the computes (zone "internal"), each row kept
fresh by the service's own report loop. Here the router plays the conductor, so it beats for
itself; the scheduler has no database of its own, so the router beats for it while the
scheduler's health check answers SERVING. The rows live in cell0, where no compute service
ever lands, so compute-only queries of the real cells never see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid as uuidlib
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from novamesh.cells.core import Core
from novamesh.cells.db import models
from novamesh.common.db import utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

CONDUCTOR_BINARY = "nova-conductor"
SCHEDULER_BINARY = "nova-scheduler"
_TOPICS = {CONDUCTOR_BINARY: "conductor", SCHEDULER_BINARY: "scheduler"}

Probe = Callable[[], Awaitable[bool]]


def host_of(target: str, local: str) -> str:
    """The host a service runs on, from its gRPC target (loopback: this machine's name)."""
    host = target.rsplit(":", 1)[0].strip("[]") if ":" in target else target
    host = host.removeprefix("dns:///").removeprefix("ipv4:")
    if host in ("", "localhost", "0.0.0.0", "::", "::1") or host.startswith("127."):
        return local
    return host


async def beat(session: AsyncSession, binary: str, host: str) -> models.Service:
    """Create or refresh the row of one control service (a deleted row comes back)."""
    svc = await session.scalar(
        select(models.Service).where(models.Service.host == host, models.Service.binary == binary)
    )
    if svc is None:
        svc = models.Service(
            uuid=str(uuidlib.uuid4()), host=host, binary=binary, topic=_TOPICS.get(binary),
            report_count=0,
        )  # fmt: skip
        session.add(svc)
    svc.deleted, svc.deleted_at = False, None
    svc.last_seen_up = utcnow()
    svc.report_count = (svc.report_count or 0) + 1
    return svc


class ControlServices:
    def __init__(self, core: Core, scheduler_target: str, probe: Probe) -> None:
        self._core = core
        local = socket.gethostname()
        self._conductor_host = local
        self._scheduler_host = host_of(scheduler_target, local)
        self._probe = probe

    async def beat_once(self) -> None:
        await self._beat(CONDUCTOR_BINARY, self._conductor_host)
        # After the conductor's own beat: a slow probe must not delay it.
        if await self._probe():
            await self._beat(SCHEDULER_BINARY, self._scheduler_host)

    async def _beat(self, binary: str, host: str) -> None:
        async def work(session: AsyncSession) -> None:
            await beat(session, binary, host)

        await self._core.in_cell(self._core.registry.cell0, work)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.beat_once()
            except Exception as exc:  # a cell0 hiccup must not end the loop
                LOG.warning("control service heartbeat failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._core.heartbeat_interval)


def health_probe(channel: grpc.aio.Channel) -> Probe:
    """SERVING from the target's gRPC health service within two seconds."""
    stub = health_pb2_grpc.HealthStub(channel)

    async def probe() -> bool:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2.0)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    return probe
