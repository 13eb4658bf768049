"""A user's session with the unmodified `openstack` CLI against a mesh of its own.

The mesh's launcher writes the clouds.yaml a user would use (noauth, endpoint overrides); every
step runs `openstack --os-cloud novamesh ...` as a subprocess, in order, on one server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.mesh import Mesh, start_mesh

pytestmark = pytest.mark.e2e

OPENSTACK = Path(sys.executable).with_name("openstack")
SERVER = "cli-vm"


class Cli:
    def __init__(self, clouds: Path) -> None:
        self.env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds), "OS_CLOUD": "novamesh"}
        for key in [k for k in self.env if k.startswith("OS_") and k not in ("OS_CLOUD",)]:
            if key != "OS_CLIENT_CONFIG_FILE":
                del self.env[key]

    def run(self, *args: str, timeout: float = 60) -> str:
        proc = subprocess.run(
            [str(OPENSTACK), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert proc.returncode == 0, f"openstack {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-f", "json"))

    def wait_status(self, status: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        server: dict[str, Any] = {}
        while time.monotonic() < deadline:
            server = self.json("server", "show", SERVER)
            if server["status"] == status:
                return server
            time.sleep(0.5)
        raise AssertionError(f"{SERVER} is {server.get('status')}, wanted {status}")


@pytest.fixture(scope="module")
def mesh() -> Iterator[Mesh]:
    if not OPENSTACK.exists():
        pytest.fail("python-openstackclient is not installed: make venv installs the dev extras")
    state = Path(tempfile.mkdtemp(prefix="novamesh-cli-"))
    mesh = start_mesh(state / "state")
    try:
        yield mesh
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def cli(mesh: Mesh) -> Cli:
    clouds = mesh.state_dir / "clouds.yaml"
    assert clouds.exists(), "the launcher writes clouds.yaml"
    return Cli(clouds)


def test_image_create_from_a_file(cli: Cli, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 65536)
    image = cli.json(
        "image", "create", "--file", str(disk), "--disk-format", "raw",
        "--container-format", "bare", "cli-image",
    )  # fmt: skip
    assert image["status"] == "active"
    assert any(i["Name"] == "cli-image" for i in cli.json("image", "list"))


def test_flavor_list(cli: Cli) -> None:
    names = {f["Name"] for f in cli.json("flavor", "list")}
    assert {"m1.tiny", "m1.small"} <= names


def test_keypair_create(cli: Cli) -> None:
    private = cli.run("keypair", "create", "cli-key")
    assert "PRIVATE KEY" in private
    assert cli.json("keypair", "show", "cli-key")["name"] == "cli-key"


def test_server_create_wait(cli: Cli) -> None:
    server = cli.json(
        "server", "create", "--image", "cli-image", "--flavor", "m1.tiny",
        "--key-name", "cli-key", "--wait", SERVER,
    )  # fmt: skip
    assert server["status"] == "ACTIVE"


def test_server_list_and_show(cli: Cli) -> None:
    listed = cli.json("server", "list")
    assert [s["Name"] for s in listed] == [SERVER]
    shown = cli.json("server", "show", SERVER)
    assert shown["status"] == "ACTIVE"
    assert shown["key_name"] == "cli-key"
    assert shown["flavor"]


def test_server_reboot(cli: Cli) -> None:
    cli.run("server", "reboot", "--wait", SERVER)
    cli.wait_status("ACTIVE")


def test_server_resize_and_confirm(cli: Cli) -> None:
    cli.run("server", "resize", "--flavor", "m1.small", "--wait", SERVER)
    cli.wait_status("VERIFY_RESIZE")
    cli.run("server", "resize", "confirm", SERVER)
    server = cli.wait_status("ACTIVE")
    assert "m1.small" in json.dumps(server["flavor"])


def test_server_stop_and_start(cli: Cli) -> None:
    cli.run("server", "stop", SERVER)
    cli.wait_status("SHUTOFF")
    cli.run("server", "start", SERVER)
    cli.wait_status("ACTIVE")


def test_server_delete(cli: Cli) -> None:
    cli.run("server", "delete", "--wait", SERVER)
    assert cli.json("server", "list") == []


def test_server_create_boot_from_volume(cli: Cli) -> None:
    server = cli.json(
        "server", "create", "--image", "cli-image", "--flavor", "m1.tiny",
        "--boot-from-volume", "1", "--wait", "cli-bfv",
    )  # fmt: skip
    assert server["status"] == "ACTIVE"
    shown = cli.json("server", "show", "cli-bfv")
    assert "booted from volume" in str(shown["image"])
    assert shown["volumes_attached"], shown
    cli.run("server", "delete", "--wait", "cli-bfv")
    assert cli.json("server", "list") == []
