"""A real novamesh-placement process behind a real Envoy, on free ports, for gabbi and benches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from novamesh.common import db
from novamesh.common.edge import envoy, process
from novamesh.placement.db import MIGRATIONS

from tests.support.ports import free_port

PLACEMENT_SERVICES = ["novamesh.placement.v1.PlacementRestService"]


@dataclass(frozen=True)
class Ports:
    grpc: int
    http: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"


@contextmanager
def edge(work: Path, cors_origins: tuple[str, ...] = ()) -> Iterator[Ports]:
    """Envoy's placement listener in front of whatever placement listens on `ports.grpc`."""
    ports = Ports(free_port(), free_port())
    admin_port = free_port()
    cfg = envoy.EdgeConfig(
        listeners=[
            envoy.Listener(
                "placement",
                ports.http,
                f"127.0.0.1:{ports.grpc}",
                PLACEMENT_SERVICES,
                "placement",
                cors_origins=cors_origins,
            )
        ],
        admin_port=admin_port,
    )
    conf = work / f"envoy-{ports.http}.yaml"
    conf.write_text(envoy.dump(envoy.render(cfg)))
    proxy = process.start(conf, admin_port, work / f"envoy-{ports.http}.log")
    try:
        yield ports
    finally:
        proxy.stop()


def _wait_grpc(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("placement exited at start")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                grpc.channel_ready_future(ch).result(timeout=0.5)
                return
        except grpc.FutureTimeoutError:
            time.sleep(0.05)
    raise RuntimeError("placement did not start")


@contextmanager
def placement(
    port: int,
    state: Path,
    policy: str = "legacy",
    db_url: str | None = None,
    public_url: str = "",
) -> Iterator[subprocess.Popen[bytes]]:
    """novamesh-placement on `port` with its state in `state`; stopped (and waited) on exit."""
    env = dict(os.environ)
    env.update(
        NOVAMESH__STATE_DIR=str(state),
        NOVAMESH__ENDPOINTS__PLACEMENT=f"127.0.0.1:{port}",
        NOVAMESH__TELEMETRY__ENABLED="false",
        NOVAMESH__LOG_LEVEL="WARNING",
        NOVAMESH__PLACEMENT__POLICY=policy,
        # Upstream's noauth2: no token, no entry (its tests check the 401).
        NOVAMESH__PLACEMENT__ANONYMOUS_AS_DEFAULT_USER="false",
    )
    if db_url:
        env["NOVAMESH__DATABASE__PLACEMENT_URL"] = db_url
        if not db_url.startswith("sqlite"):
            # The service migrates only SQLite itself (elsewhere novamesh-manage does it).
            db.migrate(db_url, MIGRATIONS)
    if public_url:
        env["NOVAMESH__ENDPOINTS__PLACEMENT_PUBLIC_URL"] = public_url
    log = open(state / "placement.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-c", "from novamesh.placement.main import main; main()"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_grpc(port, server)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
