"""The agent channels this router holds: which stream reaches which host, and pending commands.

An agent opens one stream for all its hosts. Commands go out with a fresh command id (the
agent's idempotency key) and the caller waits for the matching CommandResult. An agent that
reconnects replaces its old stream; commands pending on a stream that ends fail at once, so a
caller never waits on a host that can no longer answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuidlib
from dataclasses import dataclass

from novamesh.agent.v1 import agent_pb2
from novamesh.common import telemetry

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    # Whether another host could succeed.
    retryable: bool = False


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


class AgentHub:
    def __init__(self, heartbeat_interval: float) -> None:
        self._interval = heartbeat_interval
        self._by_host: dict[str, AgentSession] = {}
        self._pending: dict[str, tuple[AgentSession, asyncio.Future[Outcome]]] = {}
        self._seen: dict[str, float] = {}
        self._instance_of: dict[str, str] = {}

    def attach(self, session: AgentSession) -> None:
        """Route the session's hosts to it; a previous stream for any of them is closed."""
        for host in session.hosts:
            old = self._by_host.get(host)
            if old is not None and old is not session:
                self._drop(old, "the agent reconnected")
            self._by_host[host] = session
        self.beat(session)

    def detach(self, session: AgentSession) -> list[str]:
        """Forget a stream that ended; returns the hosts that lost their agent."""
        lost = [h for h in session.hosts if self._by_host.get(h) is session]
        self._drop(session, "the agent's channel closed")
        return lost

    def _drop(self, session: AgentSession, why: str) -> None:
        for host in session.hosts:
            if self._by_host.get(host) is session:
                del self._by_host[host]
                self._seen.pop(host, None)
        for command_id, (owner, future) in list(self._pending.items()):
            if owner is session and not future.done():
                future.set_result(
                    Outcome(False, f"Lost contact with the compute agent ({why}).", False)
                )
                self._pending.pop(command_id, None)
        session.close()

    def beat(self, session: AgentSession) -> None:
        now = time.monotonic()
        for host in session.hosts:
            if self._by_host.get(host) is session:
                self._seen[host] = now

    def is_up(self, host: str) -> bool:
        seen = self._seen.get(host)
        return seen is not None and time.monotonic() - seen < 2 * self._interval

    def connected(self, host: str) -> bool:
        return host in self._by_host

    def hosts(self) -> list[str]:
        return list(self._by_host)

    def send(self, host: str, command: agent_pb2.AgentCommand) -> asyncio.Future[Outcome]:
        """Queue a command for a host; the future resolves with the agent's result."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        command.host = host
        session = self._by_host.get(host)
        if session is None or session.closed:
            future.set_result(
                Outcome(False, f"No compute agent is connected for host {host}.", True)
            )
            return future
        command.command_id = command.command_id or str(uuidlib.uuid4())
        telemetry.inject(command.trace_context)
        self._pending[command.command_id] = (session, future)
        self._instance_of[command.command_id] = _instance_uuid(command)
        session.outbox.put_nowait(command)
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
            self._pending.pop(command.command_id, None)
            self._instance_of.pop(command.command_id, None)

    def abandon(self, instance_uuid: str, why: str) -> None:
        """Stop waiting for the commands of an instance that is gone (its delete finished)."""
        for command_id, (_, future) in list(self._pending.items()):
            if self._instance_of.get(command_id) == instance_uuid and not future.done():
                future.set_result(Outcome(False, why, False))

    def resolve(self, result: agent_pb2.CommandResult) -> bool:
        entry = self._pending.pop(result.command_id, None)
        if entry is None:
            LOG.info("result for an unknown command", extra={"fields": {"id": result.command_id}})
            return False
        _, future = entry
        if not future.done():
            future.set_result(Outcome(result.ok, result.error, result.retryable))
        return True

    def close(self) -> None:
        for session in {*self._by_host.values()}:
            self._drop(session, "the router is stopping")


def _instance_uuid(command: agent_pb2.AgentCommand) -> str:
    body = command.WhichOneof("body")
    if body == "build":
        return command.build.instance.uuid
    if body == "terminate":
        return command.terminate.instance_uuid
    if body == "power":
        return command.power.instance_uuid
    return ""
