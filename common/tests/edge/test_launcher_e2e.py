"""`make run` for real, on free ports and a temporary state directory: every service, Envoy,
host discovery, seeding, a boot through the edge, then `stop` leaves nothing running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from novamesh.common.edge.local.procs import Layout

from tests.support.ports import free_ports

pytestmark = pytest.mark.e2e

SERVICES = ("GATEWAY", "ROUTER", "SCHEDULER", "PLACEMENT", "AGENT")


def launcher(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novamesh.common.edge.local", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def get(url: str) -> Any:
    req = urllib.request.Request(url, headers={"X-Auth-Token": "admin:admin"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("mesh")
    ports = free_ports(9)
    env = dict(os.environ, NOVAMESH__STATE_DIR=str(state))
    for key, port in zip(SERVICES, ports, strict=False):
        env[f"NOVAMESH__ENDPOINTS__{key}"] = f"127.0.0.1:{port}"
    env["NOVAMESH__ENDPOINTS__COMPUTE_PUBLIC_URL"] = f"http://127.0.0.1:{ports[5]}"
    env["NOVAMESH__ENDPOINTS__PLACEMENT_PUBLIC_URL"] = f"http://127.0.0.1:{ports[6]}"
    env["NOVAMESH__ENDPOINTS__IMAGE_PUBLIC_URL"] = f"http://127.0.0.1:{ports[7]}"
    env["NOVAMESH_EDGE_ADMIN_PORT"] = str(ports[8])
    env["NOVAMESH__TELEMETRY__ENABLED"] = "false"
    try:
        first = launcher(env, "run")
        assert first.returncode == 0, first.stdout + first.stderr
        yield env
    finally:
        launcher(env, "stop")
        layout = Layout(state)
        leftovers = [n for n in layout.names() if layout.running(n)]
        assert leftovers == []


def test_run_starts_everything_and_seeds(mesh: dict[str, str]) -> None:
    status = launcher(mesh, "status").stdout
    for name in ("placement", "scheduler", "router", "api", "agent"):
        assert f"{name} " in status and "serving" in status.split(name, 1)[1].splitlines()[0]
    assert "ready" in status.split("envoy", 1)[1].splitlines()[0]
    compute = mesh["NOVAMESH__ENDPOINTS__COMPUTE_PUBLIC_URL"]
    names = {f["name"] for f in get(f"{compute}/v2.1/flavors")["flavors"]}
    assert {"m1.tiny", "m1.small", "m1.medium"} <= names
    clouds = yaml.safe_load((Path(mesh["NOVAMESH__STATE_DIR"]) / "clouds.yaml").read_text())
    assert clouds["clouds"]["novamesh"]["compute_endpoint_override"] == f"{compute}/v2.1"


def test_second_run_is_harmless(mesh: dict[str, str]) -> None:
    again = launcher(mesh, "run")
    assert again.returncode == 0
    assert "already running" in again.stdout


def test_boot_through_the_edge(mesh: dict[str, str]) -> None:
    compute = mesh["NOVAMESH__ENDPOINTS__COMPUTE_PUBLIC_URL"]
    image_url = mesh["NOVAMESH__ENDPOINTS__IMAGE_PUBLIC_URL"]
    image = get(f"{image_url}/v2/images")["images"][0]["id"]
    body = json.dumps({"server": {"name": "e2e", "imageRef": image, "flavorRef": "1"}}).encode()
    req = urllib.request.Request(
        f"{compute}/v2.1/servers",
        data=body,
        method="POST",
        headers={"X-Auth-Token": "admin:admin", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 202
        server = json.loads(resp.read())["server"]["id"]
        assert resp.headers["location"].endswith(f"/v2.1/servers/{server}")
    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline and status not in ("ACTIVE", "ERROR"):
        status = get(f"{compute}/v2.1/servers/{server}")["server"]["status"]
        time.sleep(0.2)
    assert status == "ACTIVE"


def test_changed_edge_config_restarts_only_envoy(mesh: dict[str, str]) -> None:
    layout = Layout(Path(mesh["NOVAMESH__STATE_DIR"]))
    before = {n: layout.running(n) for n in layout.names()}
    again = launcher(mesh, "run", "--cors-origin", "http://dashboard.example")
    assert again.returncode == 0, again.stdout
    assert "restarting" in again.stdout
    after = {n: layout.running(n) for n in layout.names()}
    assert after["envoy"] != before["envoy"]
    assert {n: r for n, r in after.items() if n != "envoy"} == {
        n: r for n, r in before.items() if n != "envoy"
    }
    compute = mesh["NOVAMESH__ENDPOINTS__COMPUTE_PUBLIC_URL"]
    req = urllib.request.Request(
        f"{compute}/v2.1/servers",
        method="OPTIONS",
        headers={"Origin": "http://dashboard.example", "Access-Control-Request-Method": "GET"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["access-control-allow-origin"] == "http://dashboard.example"
