"""A snapshot whose upload fails while the gateway is down: the gateway, started again, resumes
its durable watch and deletes the image left queued (a mesh of its own: its gateway is killed,
and its agent held still so that the snapshot is in flight when that happens)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from novamesh.cells.v1 import router_pb2, router_pb2_grpc

from tests.e2e.helpers import client, flavor_and_image, wait_for_status
from tests.support.mesh import LAUNCHER, Mesh, start_mesh

pytestmark = pytest.mark.e2e

ADMIN = {"X-Auth-Token": "admin:admin"}


@pytest.fixture(scope="module")
def lone_mesh() -> Iterator[Mesh]:
    state = Path(tempfile.mkdtemp(prefix="novamesh-e2e-cleanup-"))
    mesh = start_mesh(state / "state", agent={"host_count": 1})
    try:
        yield mesh
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


def _pid(mesh: Mesh, name: str) -> int:
    return int(json.loads((mesh.state_dir / "run" / f"{name}.pid").read_text())["pid"])


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its reaper counts: it serves nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _wait(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60.0  # generous: CI's cores are busy
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _image_status(mesh: Mesh, image_id: str) -> str | None:
    resp = httpx.get(f"{mesh.image_url}/v2/images/{image_id}", headers=ADMIN, timeout=30)
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    status: str = resp.json()["status"]
    return status


def test_a_failed_snapshot_is_cleaned_up_after_a_gateway_restart(lone_mesh: Mesh) -> None:
    mesh = lone_mesh
    flavor, image = flavor_and_image(mesh)
    with client(mesh, "2.45") as c:
        server = {"name": "snap", "imageRef": image, "flavorRef": flavor, "networks": "none"}
        body = {"server": server}
        resp = c.post("/v2.1/servers", json=body)
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        wait_for_status(c, sid, "ACTIVE")

        agent = _pid(mesh, "agent")
        os.kill(agent, signal.SIGSTOP)
        try:
            resp = c.post(f"/v2.1/servers/{sid}/action", json={"createImage": {"name": "lost"}})
            assert resp.status_code == 202, resp.text
            image_id = resp.json()["image_id"]
            assert _image_status(mesh, image_id) == "queued"
            gateway = _pid(mesh, "api")
            os.kill(gateway, signal.SIGKILL)
            _wait("the gateway to die", lambda: _gone(gateway))
        finally:
            os.kill(agent, signal.SIGCONT)

        # the host uploads to an image service that is down: the snapshot fails, its task ends
        # (the router says so; the compute API is down with the gateway)
        with grpc.insecure_channel(mesh.cfg.endpoints.router) as channel:
            router = router_pb2_grpc.CellsRouterServiceStub(channel)

            def task_over() -> bool:
                found = router.GetInstance(router_pb2.GetInstanceRequest(uuid=sid), timeout=30)
                return not found.task_state

            _wait("the failed snapshot's task to end", task_over)
        argv = [*LAUNCHER, "--config", str(mesh.config_file), "run"]
        argv += ["--admin-port", str(mesh.admin_port)]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        _wait("the queued image to be deleted", lambda: _image_status(mesh, image_id) is None)
        assert wait_for_status(c, sid, "ACTIVE")["status"] == "ACTIVE"
