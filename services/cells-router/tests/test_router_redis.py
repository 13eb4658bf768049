"""Redis behind the router: durable commands, shared heartbeats and mapping cache, and agents
of several cells on one router."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.agents import AgentHub, AgentSession
from novamesh.cells.bus import SharedBus
from novamesh.cells.mappings import SharedCache
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.redisstore import open_store

from tests.support import redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not redis.available():
        pytest.fail("redis-server is not installed: run tools/install-test-deps.sh")
    with redis.running(Path(tmp_path_factory.mktemp("redis"))) as server:
        yield server.url


def _build(uuid: str) -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(
        build=agent_pb2.BuildAndRun(instance=agent_pb2.InstanceSpec(uuid=uuid))
    )


async def test_a_restarted_router_resends_what_was_never_answered(redis_url: str) -> None:
    first_store = open_store(redis_url, consumer="router-a")
    first = AgentHub(5.0, log=first_store.commands)
    session = AgentSession("agent-1", ["rh1"])
    first.attach(session)
    answered = first.send("rh1", _build("i-answered"))
    lost = first.send("rh1", _build("i-lost"))
    answered_cmd = await session.outbox.get()
    lost_cmd = await session.outbox.get()
    assert answered_cmd is not None and lost_cmd is not None
    first.resolve(agent_pb2.CommandResult(command_id=answered_cmd.command_id, ok=True))
    assert (await answered).ok
    await first.flush()
    # The router dies with one command unanswered (a graceful stop keeps it too).
    first.close()
    assert not (await lost).ok
    await first.flush()
    await first_store.close()

    second_store = open_store(redis_url, consumer="router-b")
    second = AgentHub(5.0, log=second_store.commands)
    assert await second.recover() == 1
    again = AgentSession("agent-1", ["rh1"])
    second.attach(again)
    resent = await asyncio.wait_for(again.outbox.get(), 1)
    assert resent is not None and resent.command_id == lost_cmd.command_id
    assert resent.build.instance.uuid == "i-lost"
    assert second.resolve(agent_pb2.CommandResult(command_id=resent.command_id, ok=True))
    await second.flush()
    assert await second_store.commands.recover("rh1") == []
    second.close()
    await second_store.close()


@pytest.fixture
async def mesh(tmp_path: Path, redis_url: str) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path, ("cell1", "cell2"), heartbeat=0.2, redis_url=redis_url)
    try:
        yield m
    finally:
        await m.close()


async def test_agents_of_two_cells_on_one_router(mesh: Mesh) -> None:
    a1 = await mesh.agent(["c1-h1"])
    a2 = await mesh.agent(["c2-h1"], cell="cell2")
    assert a1.cell_uuid == mesh.cells["cell1"] and a2.cell_uuid == mesh.cells["cell2"]
    mesh.scheduler.hosts = [("c2-h1", mesh.cells["cell2"])]
    (inst,) = await mesh.boot()
    found = await mesh.wait_for(inst.uuid, "active")
    assert found.cell_name == "cell2" and a2.built() == [inst.uuid] and not a1.built()
    # The mapping was cached in Redis, where every router replica finds it.
    cached = await SharedCache(mesh.app.store.kv).get(inst.uuid)
    assert cached is not None and cached.cell_id is not None


async def test_any_message_is_a_heartbeat_and_silence_is_down(mesh: Mesh) -> None:
    agent = await mesh.agent(["h-live"])
    beats = mesh.app.store.heartbeats
    assert await beats.alive(["h-live"]) == {"h-live": True}
    # Resource reports alone keep it up...
    for _ in range(4):
        await asyncio.sleep(0.15)
        agent.send(resources=agent_pb2.HostResources(host="h-live", nodename="h-live"))
    await asyncio.sleep(0.1)
    assert await beats.alive(["h-live"]) == {"h-live": True}
    # ...and two intervals of silence make it down.
    await asyncio.sleep(0.45)
    assert await beats.alive(["h-live"]) == {"h-live": False}


async def test_events_reach_the_watchers_of_every_replica(redis_url: str) -> None:
    stores = [open_store(redis_url, "replica-a"), open_store(redis_url, "replica-b")]
    channel = f"test-events-{uuidlib.uuid4()}"
    a, b = (
        SharedBus(
            s.pubsub,
            channel,
            router_pb2.InstanceEvent.SerializeToString,
            router_pb2.InstanceEvent.FromString,
        )
        for s in stores
    )
    relays = [asyncio.create_task(bus.relay()) for bus in (a, b)]
    try:
        await asyncio.wait_for(asyncio.gather(a.listening.wait(), b.listening.wait()), 5)
        on_b = aiter(b.subscribe())
        on_a = aiter(a.subscribe())
        a.publish(router_pb2.InstanceEvent(instance=router_pb2.Instance(uuid="i-1")))
        assert (await asyncio.wait_for(anext(on_b), 5)).instance.uuid == "i-1"
        # The publisher's own watchers get it once, through the same channel.
        assert (await asyncio.wait_for(anext(on_a), 5)).instance.uuid == "i-1"
    finally:
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
        for s in stores:
            await s.close()


async def test_watch_instances_through_redis(mesh: Mesh) -> None:
    await mesh.agent(["w1"])
    mesh.scheduler.hosts = [("w1", mesh.cells["cell1"])]
    events = aiter(mesh.router.WatchInstances(router_pb2.WatchInstancesRequest()))
    first = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.2)
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")
    got = await asyncio.wait_for(first, 5)
    assert got.instance.uuid == inst.uuid
