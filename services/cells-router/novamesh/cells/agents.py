"""The agent channels this router holds: which stream reaches which host, and pending commands.

An agent opens one stream for all its hosts. Commands go out with a fresh command id (the
agent's idempotency key) and the caller waits for the matching CommandResult. An agent that
reconnects replaces its old stream and gets the commands it had not answered again; commands
pending on a stream that ends fail only if the agent does not come back within a grace period.

Every command is also recorded in a durable command log (a Redis stream per host, with the
routers' consumer group) until its result arrives, so a router that restarts recovers what
it had sent and not yet heard back about, and sends it again when the host's agent attaches;
the agent's ledger makes sure a command id runs at most once.

With several router replicas (a `Relay`), a command for a host whose agent is held by another
replica is forwarded to it, and its result comes back to the replica that waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from novamesh.agent.v1 import agent_pb2
from novamesh.cells.relay import Relay
from novamesh.common import telemetry
from novamesh.common.redisstore import CommandLog
from novamesh.common.redisstore.memory import MemoryCommandLog

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    # Whether another host could succeed.
    retryable: bool = False
    # What the command answered besides success (e.g. {"output": ...} for a console log).
    data: dict[str, str] = field(default_factory=dict)


class AgentSession:
    def __init__(self, agent_id: str, hosts: list[str]) -> None:
        self.agent_id = agent_id
        self.hosts = list(hosts)
        self.outbox: asyncio.Queue[agent_pb2.AgentCommand | None] = asyncio.Queue()
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait(None)


@dataclass
class _Pending:
    command: agent_pb2.AgentCommand
    future: asyncio.Future[Outcome]
    # None while the host has no stream (between a disconnect and the agent's return).
    session: AgentSession | None
    # The replica it was forwarded to, when another replica holds the host's agent.
    via: str | None = None


class AgentHub:
    def __init__(
        self,
        heartbeat_interval: float,
        reconnect_grace: float = 30.0,
        log: CommandLog | None = None,
        relay: Relay | None = None,
    ) -> None:
        self._interval = heartbeat_interval
        self._grace = reconnect_grace
        self._by_host: dict[str, AgentSession] = {}
        self._pending: dict[str, _Pending] = {}
        self._seen: dict[str, float] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._log: CommandLog = log or MemoryCommandLog()
        # Commands in the log: id -> the task recording it (its acknowledgement waits for it),
        # None for a recovered one.
        self._in_log: dict[str, asyncio.Task[None] | None] = {}
        self._log_tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.relay = relay
        # Commands other replicas forwarded for our agents: id -> (their replica, command).
        # Several may wait for one id: a starting replica recovers what others still wait for.
        self._foreign: dict[str, tuple[set[str], agent_pb2.AgentCommand]] = {}
        # agent id -> when its hosts were last announced to the other replicas (monotonic).
        self._announced: dict[str, float] = {}

    async def recover(self) -> int:
        """Take over the commands the log holds unacknowledged (a router restarted).

        Nobody waits for their results any more, but the agents' state updates still move
        their instances; each is sent again when its host's agent attaches, and acknowledged
        when its result arrives (or dropped after the reconnect grace).
        """
        loop = asyncio.get_running_loop()
        recovered: list[_Pending] = []
        for host in await self._log.logs():
            for command_id, payload in await self._log.recover(host):
                if command_id in self._pending:
                    continue
                command = agent_pb2.AgentCommand.FromString(payload)
                pending = _Pending(command, loop.create_future(), None)
                self._pending[command_id] = pending
                self._in_log[command_id] = None
                recovered.append(pending)
                session = self._by_host.get(host)
                if session is not None and not session.closed:
                    pending.session = session
                    session.outbox.put_nowait(command)
        if recovered:
            LOG.info("recovered unacknowledged commands", extra={"fields": {"n": len(recovered)}})
            handle = loop.call_later(self._grace, self._expire, recovered)
            self._timers.add(handle)
        return len(recovered)

    def _record(self, command: agent_pb2.AgentCommand) -> None:
        task = asyncio.create_task(
            self._log.record(command.host, command.command_id, command.SerializeToString())
        )
        self._in_log[command.command_id] = task
        self._log_tasks.add(task)
        task.add_done_callback(self._log_tasks.discard)
        task.add_done_callback(_log_failure)

    def _forget(self, command: agent_pb2.AgentCommand) -> None:
        """Acknowledge a command in the log: its result came, or nobody will wait for it."""
        if self._closing or command.command_id not in self._in_log:
            return
        recording = self._in_log.pop(command.command_id)

        async def ack() -> None:
            if recording is not None:
                await asyncio.gather(recording, return_exceptions=True)
            await self._log.done(command.host, command.command_id)

        task = asyncio.create_task(ack())
        self._log_tasks.add(task)
        task.add_done_callback(self._log_tasks.discard)
        task.add_done_callback(_log_failure)

    async def flush(self) -> None:
        """Wait until every record and acknowledgement reached the log."""
        while self._log_tasks:
            await asyncio.gather(*list(self._log_tasks), return_exceptions=True)

    def attach(self, session: AgentSession) -> None:
        """Route the session's hosts to it and re-send what they have not answered yet.

        The agent runs a command id at most once, so a command that was already running when
        the old stream broke is not run twice; its result now arrives on the new stream.
        """
        for host in session.hosts:
            old = self._by_host.get(host)
            if old is not None and old is not session:
                self._unroute(old)
                old.close()
            self._by_host[host] = session
        for pending in self._pending.values():
            if pending.command.host in session.hosts and not pending.future.done():
                pending.session = session
                pending.via = None
                session.outbox.put_nowait(pending.command)
        for _, command in self._foreign.values():
            if command.host in session.hosts:
                session.outbox.put_nowait(command)
        self._announced.pop(session.agent_id, None)
        self.beat(session)

    def detach(self, session: AgentSession) -> list[str]:
        """Forget a stream that ended; returns the hosts that lost their agent.

        Its unanswered commands wait `reconnect_grace` seconds for the agent to come back.
        """
        lost = self._unroute(session)
        session.close()
        self._announced.pop(session.agent_id, None)
        if self.relay is not None:
            self.relay.withdraw(lost)
        orphans = [p for p in self._pending.values() if p.session is session]
        for pending in orphans:
            pending.session = None
        if orphans:
            loop = asyncio.get_running_loop()
            handle = loop.call_later(self._grace, self._expire, orphans)
            self._timers.add(handle)
        return lost

    def _unroute(self, session: AgentSession) -> list[str]:
        lost = []
        for host in session.hosts:
            if self._by_host.get(host) is session:
                del self._by_host[host]
                self._seen.pop(host, None)
                lost.append(host)
        return lost

    def _expire(self, orphans: list[_Pending]) -> None:
        for pending in orphans:
            if pending.session is None and pending.via is None and not pending.future.done():
                self._forget(pending.command)
                pending.future.set_result(
                    Outcome(
                        False,
                        f"Lost contact with the compute agent of host {pending.command.host}.",
                        False,
                    )
                )

    def beat(self, session: AgentSession) -> None:
        now = time.monotonic()
        for host in session.hosts:
            if self._by_host.get(host) is session:
                self._seen[host] = now
        # Twice per heartbeat interval at most; each announcement lasts two intervals.
        last = self._announced.get(session.agent_id, -self._interval)
        if self.relay is not None and not session.closed and now - last >= self._interval / 2:
            self._announced[session.agent_id] = now
            held = [h for h in session.hosts if self._by_host.get(h) is session]
            self.relay.announce(held, 2 * self._interval)

    def is_up(self, host: str) -> bool:
        seen = self._seen.get(host)
        if seen is not None and time.monotonic() - seen < 2 * self._interval:
            return True
        return self._remote(host) is not None

    def connected(self, host: str) -> bool:
        return host in self._by_host or self._remote(host) is not None

    def _remote(self, host: str) -> str | None:
        return self.relay.holder(host) if self.relay is not None else None

    def hosts(self) -> list[str]:
        return list(self._by_host)

    def send(self, host: str, command: agent_pb2.AgentCommand) -> asyncio.Future[Outcome]:
        """Queue a command for a host; the future resolves with the agent's result."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        command.host = host
        session = self._by_host.get(host)
        via = None
        if session is None or session.closed:
            session, via = None, self._remote(host)
            if via is None:
                future.set_result(
                    Outcome(False, f"No compute agent is connected for host {host}.", True)
                )
                return future
        command.command_id = command.command_id or str(uuidlib.uuid4())
        telemetry.inject(command.trace_context)
        self._pending[command.command_id] = _Pending(command, future, session, via)
        self._record(command)
        if session is not None:
            session.outbox.put_nowait(command)
        elif self.relay is not None:
            self.relay.forward(command)
        return future

    async def call(
        self,
        host: str,
        command: agent_pb2.AgentCommand,
        timeout: float,  # noqa: ASYNC109
    ) -> Outcome:
        return await self.wait(command, self.send(host, command), timeout)

    async def wait(
        self,
        command: agent_pb2.AgentCommand,
        future: asyncio.Future[Outcome],
        timeout: float,  # noqa: ASYNC109
    ) -> Outcome:
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return Outcome(
                False, f"The compute agent of host {command.host} did not answer in time."
            )
        finally:
            if self._pending.pop(command.command_id, None) is not None:
                self._forget(command)

    def abandon(self, instance_uuid: str, why: str) -> None:
        """Stop waiting for the commands of an instance that is gone (its delete finished)."""
        for pending in list(self._pending.values()):
            if _instance_uuid(pending.command) == instance_uuid and not pending.future.done():
                self._forget(pending.command)
                pending.future.set_result(Outcome(False, why, False))

    def resolve(self, result: agent_pb2.CommandResult) -> bool:
        pending = self._pending.pop(result.command_id, None)
        foreign = self._foreign.pop(result.command_id, None)
        if foreign is not None and self.relay is not None:
            for origin in sorted(foreign[0]):
                self.relay.answer(origin, result)
            if pending is None:
                return True
        if pending is None:
            LOG.info("result for an unknown command", extra={"fields": {"id": result.command_id}})
            return False
        self._forget(pending.command)
        if not pending.future.done():
            pending.future.set_result(
                Outcome(result.ok, result.error, result.retryable, dict(result.data))
            )
        return True

    def deliver(self, command: agent_pb2.AgentCommand, origin: str) -> None:
        """A command another replica forwarded: hand it to our agent if we hold its host."""
        session = self._by_host.get(command.host)
        if session is None or session.closed:
            return
        if len(self._foreign) >= _FOREIGN_LIMIT:
            # Unanswered forever (their agent answered elsewhere): drop the oldest.
            self._foreign.pop(next(iter(self._foreign)))
        known = self._foreign.get(command.command_id)
        if known is not None:
            # Another replica waits for a command the agent already has: answer it too.
            known[0].add(origin)
            return
        self._foreign[command.command_id] = ({origin}, command)
        session.outbox.put_nowait(command)

    def rerouted(self, host: str) -> None:
        """Another replica now holds the host's agent: send it what is still unanswered."""
        if self.relay is None or host in self._by_host:
            return
        for pending in self._pending.values():
            if pending.command.host == host and not pending.future.done():
                pending.session = None
                pending.via = self.relay.holder(host)
                self.relay.forward(pending.command)

    def lost(self, host: str) -> None:
        """The replica holding the host's agent lost it: wait for its return as on detach."""
        orphans = [p for p in self._pending.values() if p.via and p.command.host == host]
        for pending in orphans:
            pending.via = None
        if orphans:
            handle = asyncio.get_running_loop().call_later(self._grace, self._expire, orphans)
            self._timers.add(handle)

    def close(self) -> None:
        # What is still unanswered stays in the log for the next router.
        self._closing = True
        for timer in self._timers:
            timer.cancel()
        for session in {*self._by_host.values()}:
            self._unroute(session)
            session.close()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_result(Outcome(False, "The router is stopping.", False))


_FOREIGN_LIMIT = 10_000


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        LOG.warning("command log unavailable: %s", task.exception())


def _instance_uuid(command: agent_pb2.AgentCommand) -> str:
    body = command.WhichOneof("body")
    if body == "build":
        return command.build.instance.uuid
    if body == "terminate":
        return command.terminate.instance_uuid
    if body == "power":
        return command.power.instance_uuid
    if body == "live_migrate":
        return command.live_migrate.instance.uuid
    return ""
