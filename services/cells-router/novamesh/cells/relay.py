"""Several router replicas, one set of agents: commands and results cross replicas over pub/sub.

An agent's stream ends on one replica, its holder. The holder announces the hosts it holds
(when the agent attaches, then with the agent's beats, each announcement valid for two
heartbeat intervals) and withdraws them when the stream ends; every replica keeps that map. A
replica that must reach a host held elsewhere records the command in the host's durable log as
usual and publishes it on the commands channel; the holder hands it to the agent and publishes
the agent's result on the sender's own results channel, which resolves the sender's waiting
future. Instance state needs no relay: the holder writes it to the cell database and publishes
it on the shared instance-event bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from novamesh.agent.v1 import agent_pb2
from novamesh.common.redisstore import PubSub

LOG = logging.getLogger(__name__)

ROUTES = "novamesh:agent-routes"
COMMANDS = "novamesh:agent-commands"
RESULTS = "novamesh:agent-results:"


class Sink(Protocol):
    """What the hub does with what other replicas say."""

    def deliver(self, command: agent_pb2.AgentCommand, origin: str) -> None: ...
    def resolve(self, result: agent_pb2.CommandResult) -> bool: ...
    def rerouted(self, host: str) -> None: ...
    def lost(self, host: str) -> None: ...


class Relay:
    def __init__(self, pubsub: PubSub, replica: str) -> None:
        self.replica = replica
        self._pubsub = pubsub
        # host -> (the replica holding its agent, when that stops being true unless renewed)
        self._routes: dict[str, tuple[str, float]] = {}
        self._sends: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()

    def holder(self, host: str) -> str | None:
        """The other replica that holds the host's agent now, if any."""
        route = self._routes.get(host)
        if route is None:
            return None
        replica, expires = route
        if time.monotonic() >= expires:
            return None
        return replica if replica != self.replica else None

    def announce(self, hosts: Sequence[str], ttl: float) -> None:
        body = {"replica": self.replica, "hosts": list(hosts), "ttl": ttl}
        self._publish(ROUTES, json.dumps(body).encode())

    def withdraw(self, hosts: Sequence[str]) -> None:
        if hosts:
            self.announce(hosts, 0.0)

    def forward(self, command: agent_pb2.AgentCommand) -> None:
        self._publish(COMMANDS, self.replica.encode() + b"\n" + command.SerializeToString())

    def answer(self, origin: str, result: agent_pb2.CommandResult) -> None:
        self._publish(RESULTS + origin, result.SerializeToString())

    def _publish(self, channel: str, payload: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._pubsub.publish(channel, payload))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        task.add_done_callback(_quiet)

    async def run(self, sink: Sink) -> None:
        """Listen on the three channels until cancelled."""
        streams: list[tuple[str, Callable[[Sink, bytes], None]]] = [
            (ROUTES, self._on_route),
            (COMMANDS, self._on_command),
            (RESULTS + self.replica, self._on_result),
        ]

        async def pump(channel: str, handle: Callable[[Sink, bytes], None]) -> None:
            while True:
                stream = self._pubsub.subscribe(channel)
                try:
                    async for payload in stream:
                        try:
                            handle(sink, payload)
                        except Exception:
                            LOG.exception("bad message from another router replica")
                except Exception as exc:
                    # Redis went away: subscribe again once it is back (what was published
                    # meanwhile is lost; senders time out or re-send on the next route).
                    LOG.warning("lost the other router replicas' channel %s: %s", channel, exc)
                finally:
                    await stream.aclose()
                await asyncio.sleep(1.0)

        tasks = [asyncio.create_task(pump(s, h)) for s, h in streams]
        # The subscriptions are in place once each generator runs up to its first wait.
        await asyncio.sleep(0.05)
        self.listening.set()
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)

    def _on_route(self, sink: Sink, payload: bytes) -> None:
        body = json.loads(payload)
        replica, ttl = str(body["replica"]), float(body["ttl"])
        if replica == self.replica:
            return
        now = time.monotonic()
        for host in body["hosts"]:
            before = self.holder(host)
            if ttl <= 0:
                if before == replica:
                    del self._routes[host]
                    sink.lost(host)
                continue
            self._routes[host] = (replica, now + ttl)
            if before != replica:
                sink.rerouted(host)

    def _on_command(self, sink: Sink, payload: bytes) -> None:
        origin, _, raw = payload.partition(b"\n")
        if origin.decode() == self.replica:
            return
        sink.deliver(agent_pb2.AgentCommand.FromString(raw), origin.decode())

    def _on_result(self, sink: Sink, payload: bytes) -> None:
        sink.resolve(agent_pb2.CommandResult.FromString(payload))


def _quiet(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        LOG.warning("cannot reach the other router replicas: %s", task.exception())
