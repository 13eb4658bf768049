"""The agent channel against a fake router: register, heartbeat, build, idempotency, reconnect,
and one trace from the router's command to the agent's messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from novamesh.agent.agent import Agent
from novamesh.agent.v1 import agent_pb2
from novamesh.common.config import AgentConfig, Config, Endpoints
from novamesh.scheduler.v1 import request_spec_pb2

# The fakes live in conftest.py (reached through fixtures): a served fake has .servicer, .server,
# .port and .target.
Served = Any
FakeRouter = Any
StartRouter = Callable[[int], Awaitable[Any]]

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def config(tmp_path: Path, router: str, **agent: object) -> Config:
    return Config(
        state_dir=str(tmp_path),
        endpoints=Endpoints(router=router, placement="127.0.0.1:1"),
        agent=AgentConfig(host_count=2, heartbeat_interval=0.1, **agent),  # type: ignore[arg-type]
    )


@pytest.fixture
async def agent(tmp_path: Path, router: Served) -> AsyncIterator[Agent]:
    a = Agent(config(tmp_path, router.target))
    await a.start()
    yield a
    await a.stop()


def build_cmd(command_id: str, uuid: str, host: str = "fake-host-1") -> agent_pb2.AgentCommand:
    return agent_pb2.AgentCommand(
        command_id=command_id,
        host=host,
        trace_context={"traceparent": TRACEPARENT},
        build=agent_pb2.BuildAndRun(
            instance=agent_pb2.InstanceSpec(
                uuid=uuid,
                name="vm",
                flavor=request_spec_pb2.Flavor(vcpus=1, memory_mb=512, root_gb=1),
            )
        ),
    )


async def updates_until_result(router: FakeRouter) -> list[agent_pb2.AgentMessage]:
    seen = []
    async with asyncio.timeout(5):
        while True:
            msg = await router.received.get()
            seen.append(msg)
            if msg.WhichOneof("body") == "result":
                return seen


async def test_register_then_heartbeat(agent: Agent, router: Served) -> None:
    fake: FakeRouter = router.servicer
    reg = await fake.next("register")
    assert reg.agent_id == agent.agent_id
    assert reg.register.driver == "fake"
    hosts = {h.host: h for h in reg.register.hosts}
    assert set(hosts) == {"fake-host-1", "fake-host-2"}
    h1 = hosts["fake-host-1"]
    assert (h1.vcpus, h1.memory_mb, h1.local_gb) == (16, 32768, 500)
    assert h1.compute_node_uuid and h1.hypervisor_type == "fake"
    assert "COMPUTE_NODE" in h1.traits
    await fake.next("heartbeat")
    await fake.next("heartbeat")
    async with asyncio.timeout(2):
        await agent.channel.registered.wait()
    assert agent.channel.cell_name == "cell1"


async def test_build_reports_transitions_resources_and_result(agent: Agent, router: Served) -> None:
    fake: FakeRouter = router.servicer
    await fake.next("register")
    fake.send(build_cmd("cmd-1", "inst-1"))
    seen = await updates_until_result(fake)
    states = [
        (m.instance_update.vm_state, m.instance_update.task_state)
        for m in seen
        if m.WhichOneof("body") == "instance_update"
    ]
    assert states == [
        ("building", "networking"),
        ("building", "block_device_mapping"),
        ("building", "spawning"),
        ("active", ""),
    ]
    active = next(m for m in seen if m.instance_update.vm_state == "active").instance_update
    assert active.power_state == 1 and active.host == "fake-host-1"
    assert active.event_result == "Success" and active.launched_at.seconds > 0
    assert active.interfaces[0].address.startswith("192.168.")
    assert seen[-1].result == agent_pb2.CommandResult(
        command_id="cmd-1", instance_uuid="inst-1", ok=True
    )
    resources = [m.resources for m in seen if m.WhichOneof("body") == "resources"]
    assert resources and resources[-1].vcpus_used == 1
    # Every message of the command carries the router's trace.
    for msg in seen:
        if msg.WhichOneof("body") == "heartbeat":
            continue
        assert msg.trace_context["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]


async def test_a_resent_command_id_gets_the_same_result_without_rerunning(
    agent: Agent, router: Served
) -> None:
    fake: FakeRouter = router.servicer
    await fake.next("register")
    fake.send(build_cmd("cmd-1", "inst-1"))
    await updates_until_result(fake)
    fake.send(build_cmd("cmd-1", "inst-1"))
    again = await updates_until_result(fake)
    assert [m.WhichOneof("body") for m in again if m.WhichOneof("body") != "heartbeat"] == [
        "result"
    ]
    assert again[-1].result.ok


async def test_a_bad_command_is_answered_with_an_error(agent: Agent, router: Served) -> None:
    fake: FakeRouter = router.servicer
    await fake.next("register")
    fake.send(agent_pb2.AgentCommand(command_id="bad", host="fake-host-1"))
    result = (await fake.next("result")).result
    assert (result.command_id, result.ok, result.retryable) == ("bad", False, False)


async def test_a_command_that_breaks_the_reader_fails_alone(
    agent: Agent, router: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: an unexpected error reading one command used to end the whole channel."""
    from novamesh.agent import convert

    real = convert.command_from_proto

    def fussy(cmd: agent_pb2.AgentCommand) -> Any:
        if cmd.command_id == "odd":
            raise TypeError("an unexpected field")
        return real(cmd)

    monkeypatch.setattr(convert, "command_from_proto", fussy)
    fake: FakeRouter = router.servicer
    await fake.next("register")
    fake.send(build_cmd("odd", "inst-odd"))
    result = (await fake.next("result")).result
    assert (result.command_id, result.ok) == ("odd", False)
    fake.send(build_cmd("fine", "inst-fine"))
    assert (await updates_until_result(fake))[-1].result.ok
    assert agent.channel.sessions == 1


async def test_reconnects_and_reregisters_after_the_router_restarts(
    tmp_path: Path, start_router: StartRouter
) -> None:
    first = await start_router(0)
    a = Agent(config(tmp_path, first.target))
    try:
        await a.start()
        await first.servicer.next("register")
        await first.server.stop(None)
        second = await start_router(first.port)
        reg = await second.servicer.next("register", wait=10)
        assert reg.agent_id == a.agent_id
        second.servicer.send(build_cmd("cmd-9", "inst-9"))
        result = (await second.servicer.next("result")).result
        assert result.ok
        assert a.channel.sessions == 2
    finally:
        await a.stop()


async def test_a_restarted_agent_does_not_rerun_finished_commands(
    tmp_path: Path, router: Served
) -> None:
    fake: FakeRouter = router.servicer
    a = Agent(config(tmp_path, router.target))
    await a.start()
    try:
        await fake.next("register")
        fake.send(build_cmd("cmd-1", "inst-1"))
        await fake.next("result")
    finally:
        await a.stop()
    b = Agent(config(tmp_path, router.target))
    await b.start()
    try:
        reg = await fake.next("register")
        # The simulated guest survived and still counts against its host.
        h1 = next(h for h in reg.register.hosts if h.host == "fake-host-1")
        assert (h1.vcpus_used, h1.running_vms) == (1, 1)
        fake.send(build_cmd("cmd-1", "inst-1"))
        again = await updates_until_result(fake)
        assert [
            m.WhichOneof("body") for m in again if m.WhichOneof("body") == "instance_update"
        ] == []
    finally:
        await b.stop()


async def test_power_actions_and_terminate_over_the_channel(agent: Agent, router: Served) -> None:
    fake: FakeRouter = router.servicer
    await fake.next("register")
    fake.send(build_cmd("b", "inst-1"))
    await fake.next("result")
    fake.send(
        agent_pb2.AgentCommand(
            command_id="p",
            host="fake-host-1",
            power=agent_pb2.PowerAction(
                instance_uuid="inst-1", kind=agent_pb2.PowerAction.KIND_SUSPEND
            ),
        )
    )
    seen = await updates_until_result(fake)
    last = [m.instance_update for m in seen if m.WhichOneof("body") == "instance_update"][-1]
    assert (last.vm_state, last.power_state, last.event) == (
        "suspended",
        7,
        "compute_suspend_instance",
    )
    fake.send(
        agent_pb2.AgentCommand(
            command_id="t",
            host="fake-host-1",
            terminate=agent_pb2.Terminate(instance_uuid="inst-1"),
        )
    )
    seen = await updates_until_result(fake)
    kinds = [m.WhichOneof("body") for m in seen if m.WhichOneof("body") != "heartbeat"]
    assert kinds == ["resources", "instance_update", "result"]
    assert seen[-1].result.ok
    assert next(m for m in seen if m.WhichOneof("body") == "resources").resources.running_vms == 0


async def test_many_builds_are_in_flight_at_once(tmp_path: Path, router: Served) -> None:
    fake: FakeRouter = router.servicer
    a = Agent(config(tmp_path, router.target, spawn_seconds=0.5, vcpus=64))
    await a.start()
    try:
        await fake.next("register")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n in range(40):
            fake.send(build_cmd(f"c{n}", f"inst-{n}", host=f"fake-host-{n % 2 + 1}"))
        results = [(await fake.next("result")).result for _ in range(40)]
        assert loop.time() - started < 3.0
        assert all(r.ok for r in results)
        assert {r.command_id for r in results} == {f"c{n}" for n in range(40)}
    finally:
        await a.stop()


async def test_stopping_lets_a_running_build_finish_and_report(
    tmp_path: Path, router: Served
) -> None:
    fake: FakeRouter = router.servicer
    a = Agent(config(tmp_path, router.target, spawn_seconds=0.3))
    await a.start()
    try:
        await fake.next("register")
        fake.send(build_cmd("c1", "inst-1"))
        await fake.next("instance_update")
    finally:
        await a.stop()
    assert (await fake.next("result", wait=1)).result.ok
