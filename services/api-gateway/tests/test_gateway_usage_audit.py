"""os-instance_usage_audit_log: the last completed month per compute host, admin only."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import grpc
import pytest
from novamesh.cells.v1 import hypervisors_pb2 as hv
from novamesh.common.config import Config
from novamesh.compute.v1 import api_usage_audit_pb2_grpc
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.domain import usage_audit
from novamesh.gateway.rest.call import Rest
from novamesh.gateway.rest.usage_audit import InstanceUsageAuditLogRest
from novamesh.gateway.testing.harness import Gateway


class Source:
    async def hypervisors(self, with_servers: bool) -> list[hv.Hypervisor]:
        return [
            hv.Hypervisor(id=1, host="host-b"),
            # A disabled host counts: it may hold instances (as in Nova).
            hv.Hypervisor(id=2, host="host-a", service_disabled=True),
        ]


@pytest.fixture
async def gw() -> AsyncIterator[Gateway]:
    cfg = Config()
    server = grpc.aio.server()
    api_usage_audit_pb2_grpc.add_InstanceUsageAuditLogRestServiceServicer_to_server(
        InstanceUsageAuditLogRest(Rest(cfg), Source()), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    gateway = Gateway(cfg, None, None, channel, port)  # type: ignore[arg-type]
    gateway.stubs = {
        "audit": api_usage_audit_pb2_grpc.InstanceUsageAuditLogRestServiceStub(channel)
    }
    try:
        yield gateway
    finally:
        await channel.close(None)
        await server.stop(None)


@pytest.mark.parametrize(
    ("before", "begin", "end"),
    [
        ("2012-07-15 10:00:00", "2012-06-01 00:00:00", "2012-07-01 00:00:00"),
        ("2012-07-01 00:00:00", "2012-06-01 00:00:00", "2012-07-01 00:00:00"),
        ("2013-01-02 03:04:05.123456", "2012-12-01 00:00:00", "2013-01-01 00:00:00"),
    ],
)
def test_period_completed_before(before: str, begin: str, end: str) -> None:
    log = usage_audit.audit_log(["h1"], usage_audit.parse_before(before))
    assert (log["period_beginning"], log["period_ending"]) == (begin, end)


@pytest.mark.parametrize("text", ["2012-07-15", "yesterday", "2012-07-15 10:00:00.x"])
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(BadRequest, match=f"Invalid timestamp for date {text}"):
        usage_audit.parse_before(text)


async def test_show_lists_every_host_as_not_run(gw: Gateway) -> None:
    when = "2012-07-15 10:00:00"
    resp = await gw.rest(
        "audit.GetInstanceUsageAuditLog",
        path="/v2.1/os-instance_usage_audit_log/2012-07-15%2010:00:00",
        id=when,
    )
    assert resp.status == 200, resp.message
    assert resp.body == {
        "instance_usage_audit_log": {
            "hosts_not_run": ["host-a", "host-b"],
            "log": {},
            "num_hosts": 2,
            "num_hosts_done": 0,
            "num_hosts_not_run": 2,
            "num_hosts_running": 0,
            "overall_status": "0 of 2 hosts done. 0 errors.",
            "period_beginning": "2012-06-01 00:00:00",
            "period_ending": "2012-07-01 00:00:00",
            "total_errors": 0,
            "total_instances": 0,
        }
    }
    bad = await gw.rest(
        "audit.GetInstanceUsageAuditLog", path="/v2.1/os-instance_usage_audit_log/x", id="x"
    )
    assert (bad.status, bad.message) == (400, "Invalid timestamp for date x")


async def test_index_is_the_month_before_now_and_admin_only(gw: Gateway) -> None:
    path = "/v2.1/os-instance_usage_audit_log"
    resp = await gw.rest("audit.ListInstanceUsageAuditLogs", path=path)
    assert resp.status == 200, resp.message
    log = resp.body["instance_usage_audit_logs"]
    now = dt.datetime.now(dt.UTC)
    assert log["period_ending"] == f"{now.year:04d}-{now.month:02d}-01 00:00:00"
    denied = await gw.rest("audit.ListInstanceUsageAuditLogs", path=path, token="alice:p1")
    assert denied.status == 403
