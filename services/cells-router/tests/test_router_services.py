"""os-services behind the router: every cell's services, up/down, enable/disable, delete."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from novamesh.cells.control_services import host_of
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import services_pb2 as pb

HEARTBEAT = 0.2


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await start_mesh(tmp_path, ("cell1", "cell2"), heartbeat=HEARTBEAT)
    try:
        yield m
    finally:
        await m.close()


async def _services(mesh: Mesh, **kw: str) -> dict[str, pb.ComputeService]:
    found = await mesh.services.ListServices(pb.ListServicesRequest(**kw))
    return {s.host: s for s in found.services}


def _by_host(host: str) -> pb.ServiceRef:
    return pb.ServiceRef(host_binary=pb.HostBinary(host=host, binary="nova-compute"))


async def test_services_of_every_cell_with_up_and_down(mesh: Mesh) -> None:
    await mesh.agent(["a1"])
    quiet = await mesh.agent(["b1"], cell="cell2")
    found = await _services(mesh, binary="nova-compute")
    assert set(found) == {"a1", "b1"}
    assert found["b1"].cell_uuid == mesh.cells["cell2"] and found["a1"].zone == "nova"
    assert all(s.up and not s.disabled and s.binary == "nova-compute" for s in found.values())
    assert set(await _services(mesh, host="b1")) == {"b1"}

    await quiet.stop()
    await asyncio.sleep(2 * HEARTBEAT + 0.1)
    found = await _services(mesh, binary="nova-compute")
    assert found["b1"].up is False and found["a1"].up is False  # a1 never beat either
    mesh._agents[0].heartbeat()
    await asyncio.sleep(0.1)
    assert (await _services(mesh))["a1"].up


async def test_disable_with_a_reason_force_down_and_enable(mesh: Mesh) -> None:
    agent = await mesh.agent(["h1"])
    svc = await mesh.services.UpdateService(
        pb.UpdateServiceRequest(service=_by_host("h1"), disabled=True, disabled_reason="maint")
    )
    assert svc.disabled and svc.disabled_reason == "maint" and svc.up
    svc = await mesh.services.UpdateService(
        pb.UpdateServiceRequest(service=pb.ServiceRef(uuid=svc.uuid), forced_down=True)
    )
    assert svc.forced_down and not svc.up
    agent.heartbeat()  # a forced-down service stays down whatever it says
    await asyncio.sleep(0.05)
    assert not (await _services(mesh))["h1"].up
    svc = await mesh.services.UpdateService(
        pb.UpdateServiceRequest(
            service=pb.ServiceRef(uuid=svc.uuid), forced_down=False, disabled=False
        )
    )
    assert not svc.disabled and not svc.disabled_reason and svc.up

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.services.UpdateService(
            pb.UpdateServiceRequest(service=_by_host("nowhere"), disabled=True)
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_delete_only_an_empty_compute_service(mesh: Mesh) -> None:
    await mesh.agent(["busy"])
    await mesh.agent(["idle"])
    mesh.scheduler.hosts = [("busy", mesh.cells["cell1"])]
    (inst,) = await mesh.boot()
    await mesh.wait_for(inst.uuid, "active")

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mesh.services.DeleteService(pb.DeleteServiceRequest(service=_by_host("busy")))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    await mesh.services.DeleteService(pb.DeleteServiceRequest(service=_by_host("idle")))
    assert set(await _services(mesh, binary="nova-compute")) == {"busy"}
    assert await mesh.app.core.api.host_cell_uuid("idle") is None


async def test_the_router_lists_itself_as_a_conductor_in_the_internal_zone(mesh: Mesh) -> None:
    request = pb.ListServicesRequest(binary="nova-conductor")
    for _ in range(100):  # the first beat runs just after start
        found = await mesh.services.ListServices(request)
        if found.services:
            break
        await asyncio.sleep(0.02)
    (conductor,) = found.services
    assert conductor.zone == "internal" and conductor.up and conductor.id
    assert conductor.cell_uuid == "00000000-0000-0000-0000-000000000000"
    computes = await mesh.services.ListServices(pb.ListServicesRequest(binary="nova-compute"))
    assert not computes.services  # cell0 never holds a compute


def test_control_service_hosts() -> None:
    assert host_of("127.0.0.1:50053", "ctl") == "ctl"
    assert host_of("localhost:1", "ctl") == "ctl"
    assert host_of("[::1]:1", "ctl") == "ctl"
    assert host_of("sched.example:50053", "ctl") == "sched.example"
