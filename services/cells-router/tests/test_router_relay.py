"""Two router replicas sharing one pub/sub: a command sent on one for an agent held by the
other reaches the agent, and its result resolves the waiting replica's future."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.agents import AgentHub, AgentSession
from novamesh.cells.relay import Relay
from novamesh.common.redisstore.memory import MemoryCommandLog, MemoryPubSub

INTERVAL = 0.2


@dataclass
class Replicas:
    a: AgentHub
    b: AgentHub
    log: MemoryCommandLog


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    pubsub, log = MemoryPubSub(), MemoryCommandLog()
    hubs = [
        AgentHub(INTERVAL, reconnect_grace=0.3, log=log, relay=Relay(pubsub, name))
        for name in ("router-a", "router-b")
    ]
    tasks = []
    for hub in hubs:
        assert hub.relay is not None
        tasks.append(asyncio.create_task(hub.relay.run(hub)))
        await asyncio.wait_for(hub.relay.listening.wait(), 1.0)
    yield Replicas(hubs[0], hubs[1], log)
    for hub in hubs:
        hub.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _power(uuid: str) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(power=agent_pb2.PowerAction(instance_uuid=uuid))


async def _next(session: AgentSession) -> agent_pb2.AgentCommand:
    command = await asyncio.wait_for(session.outbox.get(), 1.0)
    assert command is not None
    return command


async def test_a_command_reaches_an_agent_held_by_the_other_replica(replicas: Replicas) -> None:
    agent = AgentSession("agent-1", ["host-1"])
    replicas.b.attach(agent)
    await _settle()
    assert replicas.a.connected("host-1") and replicas.a.is_up("host-1")
    assert not replicas.a.connected("host-2")

    future = replicas.a.send("host-1", _power("vm-1"))
    command = await _next(agent)
    assert command.power.instance_uuid == "vm-1"
    # The sender keeps the durable record until the result comes back.
    assert await replicas.log.recover("host-1")

    replicas.b.resolve(agent_pb2.CommandResult(command_id=command.command_id, ok=True))
    outcome = await replicas.a.wait(command, future, 1.0)
    assert outcome.ok
    await replicas.a.flush()
    assert await replicas.log.recover("host-1") == []


async def test_an_agent_that_moves_replicas_gets_the_unanswered_command(
    replicas: Replicas,
) -> None:
    agent = AgentSession("agent-1", ["host-1"])
    replicas.b.attach(agent)
    await _settle()
    future = replicas.a.send("host-1", _power("vm-1"))
    first = await _next(agent)

    # The stream on B ends; the agent comes back on A itself within the grace period.
    replicas.b.detach(agent)
    await _settle()
    again = AgentSession("agent-1", ["host-1"])
    replicas.a.attach(again)
    assert (await _next(again)).command_id == first.command_id
    replicas.a.resolve(agent_pb2.CommandResult(command_id=first.command_id, ok=True))
    assert (await replicas.a.wait(first, future, 1.0)).ok


async def test_a_host_whose_holder_lost_it_fails_after_the_grace(replicas: Replicas) -> None:
    agent = AgentSession("agent-1", ["host-1"])
    replicas.b.attach(agent)
    await _settle()
    future = replicas.a.send("host-1", _power("vm-1"))
    command = await _next(agent)
    replicas.b.detach(agent)
    outcome = await replicas.a.wait(command, future, 2.0)
    assert not outcome.ok and "Lost contact" in outcome.error


async def test_a_route_expires_without_beats(replicas: Replicas) -> None:
    replicas.b.attach(AgentSession("agent-1", ["host-1"]))
    await _settle()
    assert replicas.a.is_up("host-1")
    await asyncio.sleep(2.5 * INTERVAL)
    assert not replicas.a.is_up("host-1")
    outcome = await replicas.a.call("host-1", _power("vm-1"), 1.0)
    assert not outcome.ok and outcome.retryable


async def test_a_starting_replica_recovering_a_command_does_not_steal_its_result(
    replicas: Replicas,
) -> None:
    agent = AgentSession("agent-1", ["host-1"])
    replicas.b.attach(agent)
    await _settle()
    future = replicas.a.send("host-1", _power("vm-1"))
    command = await _next(agent)
    await replicas.a.flush()

    # Replica B restarts with the agent: it takes over the logged command and re-sends it.
    replicas.b.detach(agent)
    await _settle()
    again = AgentSession("agent-1", ["host-1"])
    replicas.b.attach(again)
    assert await replicas.b.recover() == 1
    await _settle()
    sent = {(await _next(again)).command_id for _ in range(2)}
    assert sent == {command.command_id}

    replicas.b.resolve(agent_pb2.CommandResult(command_id=command.command_id, ok=True))
    assert (await replicas.a.wait(command, future, 1.0)).ok
