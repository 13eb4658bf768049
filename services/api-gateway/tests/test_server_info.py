"""Server ips, password, topology and diagnostics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.gateway.testing.harness import Gateway, Response
from novamesh.gateway.testing.subresources import boot, gateway


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with gateway(tmp_path) as gw:
        yield gw


async def call(
    gw: Gateway,
    rpc: str,
    sid: str,
    suffix: str,
    sub_id: str = "",
    token: str = "alice:p1",
    version: str = "2.1",
) -> Response:
    path = f"/v2.1/servers/{sid}/{suffix}"
    return await gw.rest(
        f"info.{rpc}", id=sid, sub_id=sub_id, path=path, token=token, version=version
    )


async def test_ips(gw: Gateway) -> None:
    sid = await boot(gw)
    gw.router.instances[sid].interfaces.append(
        agent_pb2.NetworkInterface(network="public", address="2001:db8::5", version=6)
    )
    resp = await call(gw, "ListServerIps", sid, "ips")
    assert resp.status == 200
    (private,) = resp.body["addresses"]["private"]
    assert set(private) == {"addr", "version"} and private["version"] == 4
    assert resp.body["addresses"]["public"] == [{"addr": "2001:db8::5", "version": 6}]
    resp = await call(gw, "GetServerIpsByNetwork", sid, "ips/public", "public")
    assert resp.body == {"public": [{"addr": "2001:db8::5", "version": 6}]}
    resp = await call(gw, "GetServerIpsByNetwork", sid, "ips/nope", "nope")
    assert (resp.status, resp.message) == (404, "Instance is not a member of specified network")


async def test_password_show_and_clear(gw: Gateway) -> None:
    sid = await boot(gw)
    assert (await call(gw, "GetServerPassword", sid, "os-server-password")).body == {"password": ""}
    secret = "x" * 300
    gw.router.instances[sid].system_metadata.update(
        {"password_0": secret[:255], "password_1": secret[255:]}
    )
    resp = await call(gw, "GetServerPassword", sid, "os-server-password")
    assert resp.body == {"password": secret}
    resp = await call(gw, "ClearServerPassword", sid, "os-server-password")
    assert resp.status == 204
    assert (await call(gw, "GetServerPassword", sid, "os-server-password")).body == {"password": ""}


async def test_topology(gw: Gateway) -> None:
    await gw.add_flavor(
        "numa",
        "numa",
        ram=3072,
        vcpus=4,
        extra_specs={
            "hw:numa_nodes": "2",
            "hw:numa_cpus.0": "0,1",
            "hw:numa_cpus.1": "2,3",
            "hw:numa_mem.0": "1024",
            "hw:numa_mem.1": "2048",
            "hw:cpu_policy": "dedicated",
            "hw:cpu_thread_policy": "require",
            "hw:mem_page_size": "small",
        },
    )
    sid = await boot(gw, flavor="numa")
    resp = await call(gw, "GetServerTopology", sid, "topology", version="2.78")
    assert resp.body == {
        "nodes": [
            {"memory_mb": 1024, "siblings": [[0, 1]], "vcpu_set": [0, 1]},
            {"memory_mb": 2048, "siblings": [[2, 3]], "vcpu_set": [2, 3]},
        ],
        "pagesize_kb": 4,
    }
    admin = await call(gw, "GetServerTopology", sid, "topology", token="admin", version="2.78")
    assert [n["host_node"] for n in admin.body["nodes"]] == [0, 1]
    plain = await boot(gw)
    resp = await call(gw, "GetServerTopology", plain, "topology", version="2.78")
    assert resp.body == {"nodes": [], "pagesize_kb": None}
    assert (await call(gw, "GetServerTopology", plain, "topology", version="2.77")).status == 404


async def test_diagnostics(gw: Gateway) -> None:
    sid = await boot(gw)
    resp = await call(gw, "GetServerDiagnostics", sid, "diagnostics")
    assert (resp.status, resp.message) == (
        403,
        "Policy doesn't allow os_compute_api:os-server-diagnostics to be performed.",
    )
    resp = await call(gw, "GetServerDiagnostics", sid, "diagnostics", token="admin", version="2.48")
    assert resp.status == 200
    body = resp.body
    assert (body["state"], body["driver"], body["num_cpus"]) == ("running", "fake", 1)
    assert body["memory_details"] == {"maximum": 524288, "used": None}
    assert body["cpu_details"] == [{"id": 0, "time": 17300000000, "utilisation": None}]
    assert body["nic_details"][0]["rx_octets"] == 2070139
    assert body["nic_details"][0]["tx_rate"] is None
    assert body["hypervisor_os"] is None and body["uptime"] is None
    legacy = await call(gw, "GetServerDiagnostics", sid, "diagnostics", token="admin")
    assert legacy.body == {
        "cpu0_time": 17300000000,
        "memory": 524288,
        "vda_errors": -1,
        "vda_read": 262144,
        "vda_read_req": 112,
        "vnet1_rx": 2070139,
    }
    gw.router.instances[sid].host = ""
    resp = await call(gw, "GetServerDiagnostics", sid, "diagnostics", token="admin")
    assert (resp.status, resp.message) == (409, f"Instance {sid} is not ready")
