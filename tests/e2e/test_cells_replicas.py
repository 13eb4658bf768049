"""Two router replicas behind one gateway and scheduler, sharing a Redis: the gateway and the
scheduler talk to replica A, an agent holds its stream to replica B. Boots, power actions and
deletes issued on A complete on B's agent, and their results come back to A."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import (
    client,
    flavor_and_image,
    placement_allocations,
    wait_for_gone,
    wait_for_status,
)
from tests.support import redis
from tests.support.mesh import Mesh, start_mesh
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
HOSTS = ["replica-host-1", "replica-host-2"]


@dataclass
class Replicas:
    mesh: Mesh
    router_b: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, binary: str, env: dict[str, str]) -> None:
        with (self.mesh.state_dir / "logs" / f"{name}.log").open("ab") as log:
            self.procs.append(
                subprocess.Popen(
                    [str(BIN / binary), "--config", str(self.mesh.config_file)],
                    env={**os.environ, **env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()


def _services(c: httpx.Client) -> dict[str, dict[str, Any]]:
    resp = c.get("/v2.1/os-services", params={"binary": "nova-compute"})
    assert resp.status_code == 200, resp.text
    return {s["host"]: s for s in resp.json()["services"]}


def _wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def replicas() -> Iterator[Replicas]:
    if not redis.available():
        pytest.fail("redis-server is not installed: run tools/install-test-deps.sh")
    root = Path(tempfile.mkdtemp(prefix="novamesh-e2e-replicas-"))
    with redis.running(root / "redis") as server:
        mesh = start_mesh(
            root / "state",
            agent={"heartbeat_interval": 1.0, "host_prefix": "launcher-host", "host_count": 1},
            extra={"redis": {"url": server.url}, "cells": {"refresh_interval": 1.0}},
        )
        found = Replicas(mesh, f"127.0.0.1:{free_port()}")
        try:
            found.spawn(
                "router-b", "novamesh-router", {"NOVAMESH__ENDPOINTS__ROUTER": found.router_b}
            )
            found.spawn(
                "agent-b",
                "novamesh-agent",
                {
                    "NOVAMESH__ENDPOINTS__ROUTER": found.router_b,
                    "NOVAMESH__ENDPOINTS__AGENT": f"127.0.0.1:{free_port()}",
                    "NOVAMESH__CELLS__CELL": "cell1",
                    "NOVAMESH__AGENT__HOST_PREFIX": "replica-host",
                    "NOVAMESH__AGENT__HOST_COUNT": str(len(HOSTS)),
                },
            )
            with client(mesh, "2.53") as c:
                _wait(
                    "replica B's hosts up",
                    lambda: all(_services(c).get(h, {}).get("state") == "up" for h in HOSTS),
                )
                # Only the hosts whose agent is on replica B take builds.
                for host, svc in _services(c).items():
                    if host not in HOSTS:
                        resp = c.put(f"/v2.1/os-services/{svc['id']}", json={"status": "disabled"})
                        assert resp.status_code == 200, resp.text
            yield found
        finally:
            found.stop()
            mesh.stop()
            shutil.rmtree(root, ignore_errors=True)


def test_boot_act_and_delete_through_the_replica_without_the_agent(replicas: Replicas) -> None:
    mesh = replicas.mesh
    flavor, image = flavor_and_image(mesh)
    with client(mesh, "2.53") as c:
        ids = []
        for i in range(3):
            resp = c.post(
                "/v2.1/servers",
                json={
                    "server": {
                        "name": f"replica-{i}",
                        "imageRef": image,
                        "flavorRef": flavor,
                        "networks": "none",
                    }
                },
            )
            assert resp.status_code == 202, resp.text
            ids.append(resp.json()["server"]["id"])
        for sid in ids:
            server = wait_for_status(c, sid, "ACTIVE")
            assert server["OS-EXT-SRV-ATTR:host"] in HOSTS

        # A power action waits on replica A for the agent's answer relayed by replica B.
        sid = ids[0]
        assert c.post(f"/v2.1/servers/{sid}/action", json={"os-stop": None}).status_code == 202
        wait_for_status(c, sid, "SHUTOFF")
        assert c.post(f"/v2.1/servers/{sid}/action", json={"os-start": None}).status_code == 202
        wait_for_status(c, sid, "ACTIVE")
        resp = c.post(f"/v2.1/servers/{sid}/action", json={"reboot": {"type": "HARD"}})
        assert resp.status_code == 202, resp.text
        wait_for_status(c, sid, "ACTIVE")

        for sid in ids:
            assert c.delete(f"/v2.1/servers/{sid}").status_code == 204
        for sid in ids:
            wait_for_gone(c, sid)
    for sid in ids:
        assert placement_allocations(mesh, sid) == {}
    # Replica A resolved every command through the relay: none was left to time out.
    assert "did not answer in time" not in mesh.log("router")
