"""The local launcher's parts: pid-file processes, readiness probes, seeding, clouds.yaml."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from novamesh.common.edge.local import health as probes
from novamesh.common.edge.local import seed
from novamesh.common.edge.local.procs import Layout, start_time

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True);"
    " time.sleep(60)",
]


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[Layout]:
    lay = Layout(tmp_path / "state")
    try:
        yield lay
    finally:
        for name in lay.names():
            lay.stop(name, timeout=1)


def test_start_records_and_stop_ends_the_process(layout: Layout) -> None:
    record = layout.start("sleeper", SLEEPER)
    assert layout.running("sleeper") == record
    assert record.started == start_time(record.pid)
    assert layout.names() == ["sleeper"]
    assert layout.stop("sleeper") == "stopped"
    assert layout.running("sleeper") is None
    assert layout.names() == []
    assert layout.stop("sleeper") == "not running"


def test_stop_kills_what_ignores_sigterm(layout: Layout) -> None:
    layout.start("stubborn", STUBBORN)
    assert probes.wait_for(lambda: "up" in layout.tail("stubborn"), lambda: True, 10) is None
    assert layout.stop("stubborn", timeout=0.3).startswith("killed")
    assert layout.running("stubborn") is None


def test_a_reused_pid_is_never_ours(layout: Layout) -> None:
    record = layout.start("sleeper", SLEEPER)
    pid_file = layout.pid_file("sleeper")
    data = json.loads(pid_file.read_text())
    pid_file.write_text(json.dumps({**data, "started": (record.started or 0) - 1}))
    assert layout.running("sleeper") is None  # same pid, another start time: not ours
    assert not pid_file.exists()
    Layout(layout.state_dir).pid_file("sleeper").write_text(json.dumps(data))
    assert layout.stop("sleeper") == "stopped"


def test_wait_for_reports_why() -> None:
    assert probes.wait_for(lambda: True, lambda: False, 1) is None
    assert probes.wait_for(lambda: False, lambda: False, 1) == "exited"
    assert probes.wait_for(lambda: False, lambda: True, 0.1) == "timeout"


def test_grpc_health_probe() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        target = f"127.0.0.1:{port}"
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert not probes.grpc_serving(target)
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert probes.grpc_serving(target)
        assert probes.port_in_use(target)
    finally:
        server.stop(None)
    assert not probes.grpc_serving(target, timeout=0.2)


class FakeApis(BaseHTTPRequestHandler):
    """Just enough of Nova's flavors and Glance's images for the seeding calls."""

    flavors: dict[str, Any] = {}
    images: dict[str, Any] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, status: int, body: object = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def do_GET(self) -> None:
        assert self.headers["x-auth-token"] == seed.ADMIN_TOKEN
        if self.path.startswith("/v2.1/flavors/"):
            fid = self.path.rsplit("/", 1)[1]
            self.reply(200 if fid in self.flavors else 404, self.flavors.get(fid))
        elif self.path.startswith("/v2/images?name="):
            name = self.path.split("=", 1)[1]
            self.reply(200, {"images": [i for i in self.images.values() if i["name"] == name]})
        else:
            self.reply(404)

    def do_POST(self) -> None:
        body = json.loads(self.read_body())
        if self.path == "/v2.1/flavors":
            self.flavors[body["flavor"]["id"]] = body["flavor"]
            self.reply(200, body)
        elif self.path == "/v2/images":
            image = {**body, "id": f"img-{len(self.images)}", "status": "queued"}
            self.images[image["id"]] = image
            self.reply(201, image)

    def do_PUT(self) -> None:
        image_id = self.path.split("/")[3]
        assert self.headers["content-type"] == "application/octet-stream"
        assert self.read_body().startswith(b"QFI\xfb")
        self.images[image_id]["status"] = "active"
        self.reply(204)


@pytest.fixture
def apis() -> Iterator[str]:
    FakeApis.flavors, FakeApis.images = {}, {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApis)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_seeding_is_idempotent(apis: str) -> None:
    said: list[str] = []
    seed.seed_flavors(apis, said.append)
    first = seed.seed_image(apis, said.append)
    seed.seed_flavors(apis, said.append)
    again = seed.seed_image(apis, said.append)
    assert first == again
    assert sorted(f["name"] for f in FakeApis.flavors.values())[:3] == [
        "m1.large",
        "m1.medium",
        "m1.micro",
    ]
    assert FakeApis.flavors["1"] == {
        "name": "m1.tiny",
        "ram": 512,
        "vcpus": 1,
        "disk": 1,
        "id": "1",
    }
    assert len(FakeApis.images) == 1
    assert said[2] == "flavors: already there"
    assert said[3].startswith("image: cirros-0.6.2-x86_64-disk already there")


def test_seeding_reports_refusals(apis: str) -> None:
    with pytest.raises(seed.SeedError, match="HTTP 404"):
        seed.seed_image(apis + "/nowhere", lambda _: None)


def test_clouds_yaml(tmp_path: Path) -> None:
    path = tmp_path / "clouds.yaml"
    seed.write_clouds_yaml(path, "http://h:1", "http://h:2/", "http://h:3")
    clouds = yaml.safe_load(path.read_text())["clouds"]
    cloud = clouds["novamesh"]
    admin = clouds["novamesh-admin"]
    assert admin["auth_type"] == "admin_token"
    assert admin["auth"] == {"token": "admin:admin", "endpoint": "http://h:1/v2.1"}
    assert admin["compute_endpoint_override"] == "http://h:1/v2.1"
    assert cloud == {
        "auth_type": "none",
        "region_name": "RegionOne",
        "compute_endpoint_override": "http://h:1/v2.1",
        "identity_endpoint_override": "http://h:1/identity/v3",
        "image_endpoint_override": "http://h:2",
        "placement_endpoint_override": "http://h:3",
    }
