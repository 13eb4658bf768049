"""Through the real Envoy: the fake agent's hosts as hypervisors, and usage of a server."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def test_hypervisors_and_tenant_usage(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    with client(mesh, "2.53") as c:
        nodes = c.get("/v2.1/os-hypervisors/detail").json()["hypervisors"]
        assert len(nodes) >= 4
        assert all(n["state"] == "up" and n["status"] == "enabled" for n in nodes)
        assert all(n["hypervisor_type"] == "fake" and n["vcpus"] > 0 for n in nodes)

        started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)
        server = {"name": "e2e-hyp", "imageRef": image, "flavorRef": flavor, "networks": "auto"}
        body = {"server": server}
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        server = wait_for_status(c, server_id, "ACTIVE", "ERROR")
        assert server["status"] == "ACTIVE"
        host = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]

        listed = c.get(
            f"/v2.1/os-hypervisors?with_servers=true&hypervisor_hostname_pattern={host}"
        ).json()["hypervisors"]
        (node,) = [n for n in listed if n["hypervisor_hostname"] == host]
        assert server_id in {s["uuid"] for s in node.get("servers", [])}
        shown = c.get(f"/v2.1/os-hypervisors/{node['id']}").json()["hypervisor"]
        assert shown["hypervisor_hostname"] == host

        start = started.strftime("%Y-%m-%dT%H:%M:%S")
        usage = c.get(f"/v2.1/os-simple-tenant-usage/admin?start={start}").json()
        servers = {s["instance_id"]: s for s in usage["tenant_usage"]["server_usages"]}
        assert servers[server_id]["state"] == "active"
        assert servers[server_id]["hours"] > 0

        assert c.delete(f"/v2.1/servers/{server_id}").status_code == 204
        wait_for_gone(c, server_id)


def test_hypervisor_uptime_and_usage_audit(mesh: Mesh) -> None:
    """The uptime line comes from the host's agent; the audit log names every compute host."""
    with client(mesh, "2.53") as c:
        node = c.get("/v2.1/os-hypervisors").json()["hypervisors"][0]
        resp = c.get(f"/v2.1/os-hypervisors/{node['id']}/uptime")
        assert resp.status_code == 200, resp.text
        shown = resp.json()["hypervisor"]
        assert shown["id"] == node["id"] and " up " in shown["uptime"]
        assert (
            c.get("/v2.1/os-instance_usage_audit_log/2012-07-15%2010:00:00").json()[
                "instance_usage_audit_log"
            ]["period_beginning"]
            == "2012-06-01 00:00:00"
        )
        log = c.get("/v2.1/os-instance_usage_audit_log").json()["instance_usage_audit_logs"]
        # The fake driver names each node after its host.
        assert node["hypervisor_hostname"] in log["hosts_not_run"]
        assert log["num_hosts"] == log["num_hosts_not_run"] == len(log["hosts_not_run"])
