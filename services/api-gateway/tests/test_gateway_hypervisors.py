"""os-hypervisors and os-simple-tenant-usage over a fake router source, per microversion."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.common.config import Config
from novamesh.compute.v1 import api_hypervisors_pb2_grpc
from novamesh.gateway.api.errors import Conflict, NotImplementedYet
from novamesh.gateway.rest.call import Rest
from novamesh.gateway.rest.hypervisors import HypervisorsRest, SimpleTenantUsageRest
from novamesh.gateway.testing.harness import Gateway

U1 = "11111111-1111-1111-1111-111111111111"
U2 = "22222222-2222-2222-2222-222222222222"
CPU = json.dumps({"arch": "x86_64", "model": "Nehalem", "vendor": "Intel"})


def _ts(value: dt.datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


class Source:
    def __init__(self) -> None:
        self.nodes = [
            hv.Hypervisor(
                uuid=U1, id=1, hypervisor_hostname="fake-host-1", hypervisor_type="fake",
                hypervisor_version=1000, host="fake-host-1", host_ip="192.168.1.1", vcpus=16,
                vcpus_used=2, memory_mb=8192, memory_mb_used=512, local_gb=100,
                local_gb_used=10, running_vms=1, cpu_info=CPU, service_up=True, service_id=7,
                service_uuid="svc-1",
                servers=[hv.HypervisorServer(uuid="aaaa", name="vm1")],
            ),
            hv.Hypervisor(
                uuid=U2, id=2, hypervisor_hostname="fake-host-2", hypervisor_type="fake",
                host="fake-host-2", service_disabled=True, service_disabled_reason="maint",
                service_id=8, service_uuid="svc-2",
            ),
        ]  # fmt: skip
        self.instances: list[hv.UsageInstance] = []
        # Host -> uptime text; a host named here as None has its compute service away.
        self.uptimes: dict[str, str | None] = {}

    async def uptime(self, host: str) -> str:
        if host not in self.uptimes:
            raise NotImplementedYet("Virt driver does not implement uptime function.")
        found = self.uptimes[host]
        if found is None:
            raise Conflict(f"Compute service of {host} is unavailable at this time.")
        return found

    async def hypervisors(self, with_servers: bool) -> list[hv.Hypervisor]:
        out = []
        for node in self.nodes:
            copy = hv.Hypervisor()
            copy.CopyFrom(node)
            if not with_servers:
                del copy.servers[:]
            out.append(copy)
        return out

    async def usage_instances(
        self, start: dt.datetime, end: dt.datetime, project_id: str
    ) -> list[hv.UsageInstance]:
        return [i for i in self.instances if not project_id or i.project_id == project_id]


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, Source]]:
    cfg = Config()
    source = Source()
    rest = Rest(cfg)
    server = grpc.aio.server()
    api_hypervisors_pb2_grpc.add_HypervisorsRestServiceServicer_to_server(
        HypervisorsRest(rest, source, 1000, source), server
    )
    api_hypervisors_pb2_grpc.add_SimpleTenantUsageRestServiceServicer_to_server(
        SimpleTenantUsageRest(rest, source, 1000), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    gateway = Gateway(cfg, None, None, channel, port)  # type: ignore[arg-type]
    gateway.stubs = {
        "hyp": api_hypervisors_pb2_grpc.HypervisorsRestServiceStub(channel),
        "usage": api_hypervisors_pb2_grpc.SimpleTenantUsageRestServiceStub(channel),
    }
    try:
        yield gateway, source
    finally:
        await channel.close(None)
        await server.stop(None)


async def _get(g: Gateway, method: str, path: str, version: str = "2.1", **kw: Any) -> Any:
    return await g.rest(method, path=path, version=version, **kw)


async def test_list_and_detail_per_version(gw: tuple[Gateway, Source]) -> None:
    g, _ = gw
    listed = await _get(g, "hyp.ListHypervisors", "/v2.1/os-hypervisors")
    assert listed.body["hypervisors"][0] == {
        "hypervisor_hostname": "fake-host-1", "id": 1, "state": "up", "status": "enabled"
    }  # fmt: skip
    assert listed.body["hypervisors"][1]["status"] == "disabled"
    detail = await _get(g, "hyp.ListHypervisorsDetail", "/v2.1/os-hypervisors/detail")
    first = detail.body["hypervisors"][0]
    assert first["cpu_info"] == CPU and first["free_ram_mb"] == 7680
    assert first["service"] == {"host": "fake-host-1", "id": 7, "disabled_reason": None}
    v228 = await _get(g, "hyp.ListHypervisorsDetail", "/v2.1/os-hypervisors/detail", "2.28")
    assert v228.body["hypervisors"][0]["cpu_info"]["model"] == "Nehalem"
    v253 = await _get(g, "hyp.ListHypervisorsDetail", "/v2.1/os-hypervisors/detail", "2.53")
    assert v253.body["hypervisors"][0]["id"] == U1
    assert v253.body["hypervisors"][0]["service"]["id"] == "svc-1"
    v288 = await _get(g, "hyp.ListHypervisorsDetail", "/v2.1/os-hypervisors/detail", "2.88")
    node = v288.body["hypervisors"][0]
    assert node["uptime"] is None and "vcpus" not in node and "cpu_info" not in node


async def test_pagination_and_pattern(gw: tuple[Gateway, Source]) -> None:
    g, _ = gw
    page = await _get(g, "hyp.ListHypervisors", "/v2.1/os-hypervisors?limit=1", "2.53")
    assert [h["id"] for h in page.body["hypervisors"]] == [U1]
    assert f"marker={U1}" in page.body["hypervisors_links"][0]["href"]
    rest = await _get(g, "hyp.ListHypervisors", f"/v2.1/os-hypervisors?marker={U1}", "2.53")
    assert [h["id"] for h in rest.body["hypervisors"]] == [U2]
    bad = await _get(g, "hyp.ListHypervisors", "/v2.1/os-hypervisors?marker=nope", "2.53")
    assert bad.status == 400
    path = "/v2.1/os-hypervisors?hypervisor_hostname_pattern=host-2&with_servers=true"
    hits = await _get(g, "hyp.ListHypervisors", path, "2.53")
    assert [h["hypervisor_hostname"] for h in hits.body["hypervisors"]] == ["fake-host-2"]
    assert "servers" not in hits.body["hypervisors"][0]
    hits = await _get(g, "hyp.ListHypervisors", path, "2.75")
    assert hits.body["hypervisors"][0]["servers"] == []
    miss = "/v2.1/os-hypervisors?hypervisor_hostname_pattern=zzz"
    assert (await _get(g, "hyp.ListHypervisors", miss, "2.53")).status == 404


async def test_show_search_servers_statistics_uptime(gw: tuple[Gateway, Source]) -> None:
    g, _ = gw
    shown = await _get(g, "hyp.GetHypervisor", "/v2.1/os-hypervisors/1", id="1")
    assert shown.body["hypervisor"]["hypervisor_hostname"] == "fake-host-1"
    assert (await _get(g, "hyp.GetHypervisor", "/", id="9")).status == 404
    assert (await _get(g, "hyp.GetHypervisor", "/", "2.53", id="1")).status == 400
    with_servers = await _get(
        g, "hyp.GetHypervisor", "/v2.1/os-hypervisors/x?with_servers=1", "2.53", id=U1
    )
    assert with_servers.body["hypervisor"]["servers"] == [{"name": "vm1", "uuid": "aaaa"}]
    search = await _get(g, "hyp.SearchHypervisors", "/", id="host-1")
    assert [h["id"] for h in search.body["hypervisors"]] == [1]
    servers = await _get(g, "hyp.ListHypervisorServers", "/", id="fake")
    assert servers.body["hypervisors"][0]["servers"] == [{"name": "vm1", "uuid": "aaaa"}]
    assert "servers" not in servers.body["hypervisors"][1]
    assert (await _get(g, "hyp.SearchHypervisors", "/", "2.53", id="host")).status == 404
    stats = await _get(g, "hyp.GetHypervisorStatistics", "/")
    assert stats.body["hypervisor_statistics"]["count"] == 2
    assert stats.body["hypervisor_statistics"]["vcpus"] == 16
    assert (await _get(g, "hyp.GetHypervisorStatistics", "/", "2.88")).status == 404
    assert (await _get(g, "hyp.GetHypervisorUptime", "/", id="1")).status == 501
    member = await g.rest("hyp.ListHypervisors", path="/", token="bob:p1")
    assert member.status == 403


async def test_uptime_from_the_host(gw: tuple[Gateway, Source]) -> None:
    g, source = gw
    source.uptimes = {"fake-host-1": " 08:32:11 up 93 days, 18:25", "fake-host-2": None}
    resp = await _get(g, "hyp.GetHypervisorUptime", "/", id="1")
    assert resp.status == 200, resp.message
    assert resp.body == {
        "hypervisor": {
            "hypervisor_hostname": "fake-host-1", "id": 1, "state": "up", "status": "enabled",
            "uptime": " 08:32:11 up 93 days, 18:25",
        }
    }  # fmt: skip
    by_uuid = await _get(g, "hyp.GetHypervisorUptime", "/", "2.53", id=U1)
    assert by_uuid.body["hypervisor"]["id"] == U1
    away = await _get(g, "hyp.GetHypervisorUptime", "/", id="2")
    assert (away.status, away.message) == (
        400, "Compute service of fake-host-2 is unavailable at this time."
    )  # fmt: skip
    assert (await _get(g, "hyp.GetHypervisorUptime", "/", "2.88", id=U1)).status == 404


async def test_tenant_usage(gw: tuple[Gateway, Source]) -> None:
    g, source = gw
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    flavor = {"name": "m1.tiny", "vcpus": 1, "memory_mb": 512, "root_gb": 1}
    for uuid, project, launched in [("i1", "p1", 0), ("i2", "p1", 1), ("i3", "p2", 0)]:
        inst = hv.UsageInstance(uuid=uuid, name=uuid, project_id=project, vm_state="active")
        inst.flavor.name = str(flavor["name"])
        inst.flavor.vcpus, inst.flavor.memory_mb, inst.flavor.root_gb = 1, 512, 1
        inst.launched_at.CopyFrom(_ts(start + dt.timedelta(hours=launched)))
        source.instances.append(inst)
    period = "start=2026-01-01T00:00:00&end=2026-01-01T02:00:00"
    listed = await _get(g, "usage.ListTenantUsages", f"/v2.1/os-simple-tenant-usage?{period}")
    by_tenant = {t["tenant_id"]: t for t in listed.body["tenant_usages"]}
    assert by_tenant["p1"]["total_hours"] == 3.0
    assert by_tenant["p1"]["total_memory_mb_usage"] == 1536.0
    assert by_tenant["p1"]["start"] == "2026-01-01T00:00:00.000000"
    assert "server_usages" not in by_tenant["p1"]
    paged = await _get(
        g, "usage.ListTenantUsages", f"/v2.1/os-simple-tenant-usage?{period}&limit=1", "2.40"
    )
    assert "marker=i1" in paged.body["tenant_usages_links"][0]["href"]
    one = await _get(g, "usage.GetTenantUsage", f"/x?{period}", id="p2", token="bob:p2")
    usage = one.body["tenant_usage"]
    assert usage["total_hours"] == 2.0
    assert usage["server_usages"][0]["flavor"] == "m1.tiny"
    assert usage["server_usages"][0]["ended_at"] is None
    other = await _get(g, "usage.GetTenantUsage", f"/x?{period}", id="p1", token="bob:p2")
    assert other.status == 403
    backwards = "start=2026-01-02T00:00:00&end=2026-01-01T00:00:00"
    assert (await _get(g, "usage.ListTenantUsages", f"/x?{backwards}")).status == 400
    assert (await _get(g, "usage.ListTenantUsages", "/x?start=yesterday")).status == 400
    empty = await _get(g, "usage.GetTenantUsage", f"/x?{period}", id="p9")
    assert empty.body == {"tenant_usage": {}}
