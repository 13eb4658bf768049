"""The agent's channel to its cell's router: one long-lived bidirectional stream.

The agent opens `CellsRouterService.Connect`, registers every host it runs and waits for
`Registered`; then it heartbeats, and runs each command it receives in a task of its own while
one writer sends the updates, resource reports and results those tasks produce. When the stream
breaks the agent reconnects with exponential backoff (capped) and registers again; whatever was
produced meanwhile waits in the outbox and is sent after the new registration. Commands still
running keep running across a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict, deque
from collections.abc import Callable

import grpc
from novamesh.agent import convert
from novamesh.agent.commands import StateUpdate
from novamesh.agent.ledger import Outcome
from novamesh.agent.live_migration import ProgressReport
from novamesh.agent.manager import ComputeManager
from novamesh.agent.resources import HostReport
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2_grpc
from novamesh.common import grpcutil, telemetry
from opentelemetry import context as otel_context

LOG = logging.getLogger(__name__)

INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 5.0
# Updates kept while the router is unreachable; past this the oldest are dropped (the router
# re-sends unanswered commands, and the next registration carries every host's resources).
OUTBOX_LIMIT = 100_000


class Outbox:
    """Messages waiting for the stream; a message leaves only once it was written."""

    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self._messages: deque[agent_pb2.AgentMessage] = deque()
        # Host resources coalesce: only the newest report of a host is worth sending.
        self._resources: OrderedDict[str, agent_pb2.AgentMessage] = OrderedDict()
        self._ready = asyncio.Event()
        # Set while nothing but heartbeats waits (what a stopping agent waits for).
        self.drained = asyncio.Event()
        self.drained.set()
        # Queued messages other than heartbeats.
        self._work = 0
        self._limit = limit

    def put(self, msg: agent_pb2.AgentMessage) -> None:
        if msg.WhichOneof("body") == "resources":
            self._resources[msg.resources.host] = msg
            self._resources.move_to_end(msg.resources.host)
        else:
            if len(self._messages) >= self._limit:
                self._work -= self._is_work(self._messages.popleft())
                LOG.warning("router unreachable too long: dropped the oldest queued update")
            self._messages.append(msg)
            self._work += self._is_work(msg)
        if self._is_work(msg):
            self.drained.clear()
        self._ready.set()

    def drop_resources(self) -> None:
        self._resources.clear()
        if not self._pending_work():
            self.drained.set()

    async def peek(self) -> agent_pb2.AgentMessage:
        while not (self._resources or self._messages):
            self._ready.clear()
            await self._ready.wait()
        if self._resources:
            return next(iter(self._resources.values()))
        return self._messages[0]

    def pop(self, msg: agent_pb2.AgentMessage) -> None:
        if msg.WhichOneof("body") == "resources":
            if self._resources.get(msg.resources.host) is msg:
                del self._resources[msg.resources.host]
        elif self._messages and self._messages[0] is msg:
            self._work -= self._is_work(self._messages.popleft())
        if not self._pending_work():
            self.drained.set()

    def __len__(self) -> int:
        return len(self._messages) + len(self._resources)

    def _pending_work(self) -> bool:
        return bool(self._resources) or self._work > 0

    @staticmethod
    def _is_work(msg: agent_pb2.AgentMessage) -> bool:
        return msg.WhichOneof("body") != "heartbeat"


class RouterChannel:
    """Implements the manager's Sink; `run(manager)` keeps the stream up until `stop()`."""

    def __init__(
        self,
        target: str,
        agent_id: str,
        driver_name: str,
        version: str,
        heartbeat_interval: float,
        max_backoff: float = MAX_BACKOFF,
        cell: str = "",
    ) -> None:
        self.agent_id = agent_id
        # The cell this agent's hosts belong to (name or uuid); empty: the router's own.
        self._cell = cell
        self._target = target
        self._driver_name = driver_name
        self._version = version
        self._heartbeat_interval = heartbeat_interval
        self._max_backoff = max_backoff
        self._outbox = Outbox()
        self._write_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._channel: grpc.aio.Channel | None = None
        self._stopping = asyncio.Event()
        self.registered = asyncio.Event()
        self.cell_uuid = ""
        self.cell_name = ""
        self.sessions = 0
        # True while a stream is open and its writer runs.
        self._streaming = False

    # ---- Sink -----------------------------------------------------------------------------

    def instance_update(self, update: StateUpdate) -> None:
        self._send(lambda m: m.instance_update.CopyFrom(convert.update_to_proto(update)))

    def host_resources(self, report: HostReport) -> None:
        self._send(lambda m: m.resources.CopyFrom(convert.report_to_proto(report)))

    def command_result(self, outcome: Outcome) -> None:
        self._send(lambda m: m.result.CopyFrom(convert.outcome_to_proto(outcome)))

    def live_migration_progress(self, report: ProgressReport) -> None:
        self._send(lambda m: m.live_migration_progress.CopyFrom(convert.progress_to_proto(report)))

    def _send(self, fill: Callable[[agent_pb2.AgentMessage], None]) -> None:
        msg = agent_pb2.AgentMessage(agent_id=self.agent_id)
        fill(msg)
        # The caller runs inside the span of the command it reports on: carry that span.
        telemetry.inject(msg.trace_context)
        self._outbox.put(msg)

    # ---- the stream -----------------------------------------------------------------------

    async def run(self, manager: ComputeManager) -> None:
        self._channel = grpcutil.channel(self._target)
        backoff = INITIAL_BACKOFF
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    await self._session(manager)
                    reason = "router closed the agent channel"
                except grpc.aio.AioRpcError as exc:
                    reason = (
                        f"agent channel to {self._target} broke: {exc.code().name} {exc.details()}"
                    )
                except (asyncio.InvalidStateError, RuntimeError) as exc:
                    reason = f"agent channel to {self._target} failed: {exc!r}"
                if self._stopping.is_set():
                    break
                # Warn once per outage; the retries that follow are routine.
                if self.registered.is_set():
                    backoff = INITIAL_BACKOFF
                    failures = 0
                LOG.log(logging.WARNING if failures == 0 else logging.DEBUG, reason)
                failures += 1
                self.registered.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                backoff = min(backoff * 2, self._max_backoff)
        finally:
            await self._channel.close(None)

    async def stop(self, grace: float = 5.0, flush: float = 1.0) -> None:
        """Give running commands `grace` seconds (then cancel them), let the writer send what
        they reported for up to `flush` seconds, then close the channel for good."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._streaming:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.drained.wait(), flush)
        self._stopping.set()

    async def _session(self, manager: ComputeManager) -> None:
        assert self._channel is not None
        stub = router_pb2_grpc.CellsRouterServiceStub(self._channel)
        metadata = (("x-novamesh-cell", self._cell),) if self._cell else None
        # written with call.write()
        call = stub.Connect(metadata=metadata)  # type: ignore[call-arg]
        helpers: list[asyncio.Task[None]] = []
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await call.write(self._register_message(manager))
            # Registration carries every host's resources: older queued reports are stale.
            self._outbox.drop_resources()
            self.sessions += 1
            writer = asyncio.create_task(self._write_loop(call))
            helpers = [writer, asyncio.create_task(self._heartbeat_loop())]
            self._streaming = True
            while True:
                read = asyncio.ensure_future(call.read())
                await asyncio.wait({read, stopped, writer}, return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    if writer.done() and not writer.cancelled():
                        read.cancel()
                        # A stream we cannot write to is no channel: start a new one.
                        raise writer.exception() or RuntimeError("writer stopped")
                    await self._close_gently(call, read, helpers)
                    return
                cmd = read.result()
                if cmd is grpc.aio.EOF:  # type: ignore[attr-defined]
                    return
                assert isinstance(cmd, agent_pb2.AgentCommand)
                self._on_command(manager, cmd)
        finally:
            self._streaming = False
            stopped.cancel()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            call.cancel()

    async def _close_gently(
        self,
        call: grpc.aio.StreamStreamCall,  # type: ignore[type-arg]
        read: asyncio.Future[object],
        helpers: list[asyncio.Task[None]],
    ) -> None:
        """Half-close, so the router reads everything already written, and wait for its end."""
        async with self._write_lock:
            for task in helpers:
                task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        with contextlib.suppress(TimeoutError, grpc.aio.AioRpcError):
            async with asyncio.timeout(1.0):
                await call.done_writing()
                while await read is not grpc.aio.EOF:  # type: ignore[attr-defined]
                    read = asyncio.ensure_future(call.read())
        read.cancel()

    def _register_message(self, manager: ComputeManager) -> agent_pb2.AgentMessage:
        return agent_pb2.AgentMessage(
            agent_id=self.agent_id,
            register=agent_pb2.Register(
                hosts=[convert.report_to_proto(r) for r in manager.host_reports()],
                driver=self._driver_name,
                version=self._version,
            ),
        )

    def _on_command(self, manager: ComputeManager, cmd: agent_pb2.AgentCommand) -> None:
        if cmd.WhichOneof("body") == "registered":
            self.cell_uuid = cmd.registered.cell_uuid
            self.cell_name = cmd.registered.cell_name
            self.registered.set()
            LOG.info(
                "registered with the router",
                extra={"fields": {"cell": self.cell_name, "cell_uuid": self.cell_uuid}},
            )
            return
        parent = telemetry.extract(cmd.trace_context)
        try:
            command = convert.command_from_proto(cmd)
        except Exception as exc:
            # A command this agent cannot read fails alone; it never takes the channel down.
            if not isinstance(exc, convert.BadCommand):
                LOG.exception("cannot read command %s", cmd.command_id)
            token = otel_context.attach(parent)
            try:
                self.command_result(Outcome(cmd.command_id, "", ok=False, error=str(exc)))
            finally:
                otel_context.detach(token)
            return
        task = asyncio.create_task(manager.handle(cmd.command_id, cmd.host, command, parent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_loop(self, call: grpc.aio.StreamStreamCall) -> None:  # type: ignore[type-arg]
        while True:
            msg = await self._outbox.peek()
            # Cancelling a task inside call.write() cancels the whole RPC, losing what was
            # written but not yet flushed: closing takes this lock before cancelling the writer.
            async with self._write_lock:
                await call.write(msg)
                self._outbox.pop(msg)

    async def _heartbeat_loop(self) -> None:
        while True:
            await self.registered.wait()
            msg = agent_pb2.AgentMessage(agent_id=self.agent_id)
            msg.heartbeat.at.FromDatetime(dt.datetime.now(dt.UTC))
            self._outbox.put(msg)
            await asyncio.sleep(self._heartbeat_interval)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)
