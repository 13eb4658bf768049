"""What `run`, `stop`, `status` and `logs` do (see cli.py for the commands)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from novamesh.common.config import Config
from novamesh.common.edge import descriptors as desc
from novamesh.common.edge import envoy, process
from novamesh.common.edge.local import health, seed
from novamesh.common.edge.local.procs import Layout
from novamesh.common.edge.local.services import (
    ENVOY,
    SERVICES,
    START_ORDER,
    Service,
    by_name,
    expected_hosts,
    public_hostport,
)

BIN = Path(sys.executable).parent
DEFAULT_ADMIN_PORT = int(os.environ.get("NOVAMESH_EDGE_ADMIN_PORT", "9901"))
SERVICE_TIMEOUT = 60.0


def say(line: str = "") -> None:
    print(line, flush=True)


class Launcher:
    def __init__(self, cfg: Config, config_file: str | None) -> None:
        self.cfg = cfg
        self.layout = Layout(Path(cfg.state_dir).resolve())
        self.env = dict(os.environ)
        if config_file:
            self.env["NOVAMESH_CONFIG"] = str(Path(config_file).resolve())
        self.failed: list[str] = []
        self.image_id: str | None = None

    # -- run ---------------------------------------------------------------------------------

    def run(self, admin_port: int, cors: Sequence[str], do_seed: bool, concurrency: int) -> int:
        everything = all(self.layout.running(name) for name in START_ORDER)
        if everything and not self.envoy_stale(admin_port, cors):
            say("novamesh is already running (`make status` for details, `make stop` to stop).")
            self.summary()
            return 0
        self.layout.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.manage("db", "sync") or not self.manage("cell_v2", "simple_cell_setup"):
            return 1
        for svc in SERVICES:
            self.start_service(svc)
        self.start_envoy(admin_port, cors, concurrency)
        # Agents register through the router: without both there is nothing to discover.
        if not {"agent", "router"} & set(self.failed):
            self.discover_hosts()
        edge_ok = not {"api", ENVOY} & set(self.failed)
        if do_seed and edge_ok:
            self.seed()
        self.write_clouds_yaml()
        if self.failed:
            say()
            say(f"novamesh started with failures: {', '.join(self.failed)} (see the logs above).")
            say("`make stop` stops what did start.")
            return 1
        self.summary()
        return 0

    def manage(self, *args: str) -> bool:
        argv = [str(BIN / "novamesh-manage"), *args]
        say(f"$ novamesh-manage {' '.join(args)}")
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        for line in (proc.stdout + proc.stderr).splitlines():
            say(f"    {line}")
        if proc.returncode != 0:
            say(f"novamesh-manage {' '.join(args)} failed (exit {proc.returncode}).")
            return False
        return True

    def start_service(self, svc: Service) -> None:
        target = svc.endpoint(self.cfg)
        running = self.layout.running(svc.name)
        if running:
            say(f"  {svc.name:<10} already running (pid {running.pid})")
            return
        if health.port_in_use(target):
            self.fail(
                svc.name, f"{target} is already in use by a process this launcher did not start"
            )
            return
        script = BIN / svc.script
        if not script.exists():
            self.fail(svc.name, f"no console script {script} (run `make venv`)")
            return
        record = self.layout.start(svc.name, [str(script)], self.env)
        outcome = health.wait_for(
            lambda: health.grpc_serving(target),
            lambda: self.layout.running(svc.name) is not None,
            SERVICE_TIMEOUT,
        )
        if outcome is None:
            say(f"  {svc.name:<10} pid {record.pid:<8} serving on {target}")
        elif outcome == "exited":
            self.fail(svc.name, "exited during startup")
        else:
            self.fail(svc.name, f"not healthy on {target} after {SERVICE_TIMEOUT:.0f}s")

    def fail(self, name: str, why: str) -> None:
        self.failed.append(name)
        log = self.layout.log_file(name)
        say(f"  {name:<10} FAILED: {why}; log: {log}")
        tail = self.layout.tail(name)
        for line in tail.splitlines():
            say(f"      | {line}")

    def envoy_text(self, admin_port: int, cors: Sequence[str]) -> tuple[str, list[envoy.Listener]]:
        """The bootstrap Envoy should run now, headed by the descriptor set's digest (Envoy
        reads the descriptor only at startup, so a new one means a restart too)."""
        pb = desc.default_descriptor_path()
        descriptors = desc.Descriptors.load(pb)
        faces = envoy.default_listeners(self.cfg, descriptors, cors_origins=cors)
        bootstrap = envoy.render(envoy.EdgeConfig(faces, admin_port, pb), descriptors)
        digest = hashlib.sha256(pb.read_bytes()).hexdigest()[:16]
        return f"# descriptor set sha256:{digest}\n" + envoy.dump(bootstrap), faces

    def envoy_stale(self, admin_port: int, cors: Sequence[str]) -> bool:
        try:
            text, _ = self.envoy_text(admin_port, cors)
            return text != self.envoy_yaml.read_text()
        except (OSError, ValueError):
            return False

    @property
    def envoy_yaml(self) -> Path:
        return self.layout.state_dir / "envoy.yaml"

    def start_envoy(self, admin_port: int, cors: Sequence[str], concurrency: int) -> None:
        running = self.layout.running(ENVOY)
        if running and not self.envoy_stale(admin_port, cors):
            say(f"  {ENVOY:<10} already running (pid {running.pid})")
            return
        if running:
            say(f"  {ENVOY:<10} configuration or protos changed: restarting")
            self.layout.stop(ENVOY)
        try:
            text, faces = self.envoy_text(admin_port, cors)
            candidate = self.envoy_yaml.with_suffix(".new.yaml")
            candidate.write_text(text)
            process.validate(candidate)
            candidate.replace(self.envoy_yaml)
        except (OSError, ValueError, process.EnvoyError) as err:
            self.fail(ENVOY, f"no valid configuration: {err}")
            return
        ports = [f"127.0.0.1:{admin_port}", *(f"{f.address}:{f.port}" for f in faces)]
        busy = [p for p in ports if health.port_in_use(p)]
        if busy:
            self.fail(ENVOY, f"{', '.join(busy)} already in use by another process")
            return
        argv = [process.envoy_binary(), "-c", str(self.envoy_yaml), "--disable-hot-restart"]
        argv += ["--concurrency", str(concurrency), "--log-level", "warning"]
        record = self.layout.start(ENVOY, argv, self.env)
        outcome = health.wait_for(
            lambda: process.admin_ready(admin_port),
            lambda: self.layout.running(ENVOY) is not None,
            30.0,
        )
        if outcome is None:
            names = ", ".join(f"{f.name} :{f.port}" for f in faces)
            say(f"  {ENVOY:<10} pid {record.pid:<8} ready ({names})")
        else:
            self.fail(ENVOY, "exited during startup" if outcome == "exited" else "not ready")

    def discover_hosts(self, timeout: float = 30.0) -> None:
        from novamesh.manage import cells

        want = expected_hosts(self.cfg)
        deadline = time.monotonic() + timeout
        while True:
            try:
                cells.discover_hosts(self.cfg)
                mapped = len(cells.list_hosts(self.cfg))
            except Exception as err:  # the manage tool's own errors are the operator's to read
                say(f"  discover_hosts failed: {err}")
                self.failed.append("discover_hosts")
                return
            if mapped >= want or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if mapped < want:
            say(f"  hosts: only {mapped} of {want} compute hosts mapped after {timeout:.0f}s")
            self.failed.append("discover_hosts")
        else:
            say(f"  hosts: {mapped} compute hosts mapped to cells")

    def image_url(self) -> str | None:
        """The image API's URL when this build's Envoy serves one."""
        try:
            boot = yaml.safe_load(self.envoy_yaml.read_text())
            names = [lst["name"] for lst in boot["static_resources"]["listeners"]]
        except (OSError, KeyError, TypeError):
            return None
        return self.cfg.endpoints.image_public_url if "image" in names else None

    def seed(self) -> None:
        try:
            seed.seed_flavors(self.cfg.endpoints.compute_public_url, lambda s: say(f"  {s}"))
        except seed.SeedError as err:
            say(f"  flavors: not seeded: {err}")
            self.failed.append("seed")
        image_url = self.image_url()
        if image_url is None:
            say("  image: no image API in this build yet; not seeded")
            return
        try:
            self.image_id = seed.seed_image(image_url, lambda s: say(f"  {s}"))
        except seed.SeedError as err:
            say(f"  image: not seeded: {err}")
            self.failed.append("seed")

    def write_clouds_yaml(self) -> Path:
        ep = self.cfg.endpoints
        path = self.layout.state_dir / "clouds.yaml"
        seed.write_clouds_yaml(
            path, ep.compute_public_url, self.image_url(), ep.placement_public_url
        )
        return path

    def find_image(self) -> str | None:
        image_url = self.image_url()
        if image_url is None:
            return None
        try:
            return seed.find_image(image_url)
        except seed.SeedError:
            return None

    def summary(self) -> None:
        ep = self.cfg.endpoints
        clouds = self.layout.state_dir / "clouds.yaml"
        say()
        say("novamesh is running.")
        say(f"  REST  compute    {ep.compute_public_url}/v2.1")
        say(f"        placement  {ep.placement_public_url}")
        say(f"        image      {ep.image_public_url}/v2")
        say(
            f"  gRPC  the same ports ({public_hostport(ep.compute_public_url)} ...) or each service"
            f" directly: api {ep.gateway}, placement {ep.placement}, router {ep.router},"
            f" scheduler {ep.scheduler}, agent {ep.agent}"
        )
        say()
        say(f"  export OS_CLIENT_CONFIG_FILE={clouds}")
        say("  openstack --os-cloud novamesh server list")
        say()
        say(f"  curl -s -X POST {ep.compute_public_url}/v2.1/servers \\")
        say("       -H 'Content-Type: application/json' -H 'X-Auth-Token: admin:admin' \\")
        image = self.image_id or self.find_image() or "<image id>"
        body = json.dumps({"server": {"name": "vm1", "imageRef": image, "flavorRef": "1"}})
        say(f"       -d '{body}'")
        say(f"  curl -s {ep.compute_public_url}/v2.1/servers/<id> -H 'X-Auth-Token: admin:admin'")
        say()
        say("  make status | make logs | make stop")

    # -- stop, status, logs ------------------------------------------------------------------

    def stop(self) -> int:
        names = self.layout.names()
        if not names:
            say("novamesh is not running (no pid files).")
            return 0
        order = [n for n in reversed(START_ORDER) if n in names]
        order += [n for n in names if n not in order]
        for name in order:
            say(f"  {name:<10} {self.layout.stop(name)}")
        return 0

    def status(self) -> int:
        names = list(START_ORDER) + [n for n in self.layout.names() if n not in START_ORDER]
        say(f"  {'process':<10} {'pid':<8} {'state':<12} log")
        for name in names:
            record = self.layout.running(name)
            state = "stopped"
            if record:
                state = "running"
                svc = by_name(name)
                if svc is not None:
                    state = (
                        "serving" if health.grpc_serving(svc.endpoint(self.cfg)) else "unhealthy"
                    )
                elif name == ENVOY:
                    state = "ready" if self.envoy_ready() else "not ready"
            pid = str(record.pid) if record else "-"
            say(f"  {name:<10} {pid:<8} {state:<12} {self.layout.log_file(name)}")
        return 0

    def envoy_ready(self) -> bool:
        try:
            boot = yaml.safe_load(self.envoy_yaml.read_text())
            port = int(boot["admin"]["address"]["socket_address"]["port_value"])
        except (OSError, KeyError, TypeError, ValueError):
            return False
        return process.admin_ready(port)

    def logs(self, names: Sequence[str], lines: int, follow: bool) -> int:
        chosen = list(names) or [n for n in START_ORDER if self.layout.log_file(n).exists()]
        files = [self.layout.log_file(n) for n in chosen]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            say(f"no such log: {', '.join(missing)}")
            return 1
        if follow:
            os.execvp("tail", ["tail", "-n", str(lines), "-F", *map(str, files)])
        for name in chosen:
            say(f"==> {self.layout.log_file(name)} <==")
            say(self.layout.tail(name, lines))
        return 0
