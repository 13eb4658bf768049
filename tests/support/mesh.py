"""The whole mesh for end-to-end tests: the same launcher as `make run`, on free ports.

Each mesh gets its own state directory and TOML configuration (every endpoint on a free port,
SQLite files or PostgreSQL databases), so tests never touch a developer's `make run`.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from novamesh.common import config as config_mod
from novamesh.common.config import Config

from tests.support.ports import free_ports

LAUNCHER = [sys.executable, "-m", "novamesh.common.edge.local"]


@dataclass
class Mesh:
    state_dir: Path
    config_file: Path
    cfg: Config
    admin_port: int
    launcher_output: str = ""
    db_urls: dict[str, str] = field(default_factory=dict)

    @property
    def compute_url(self) -> str:
        return self.cfg.endpoints.compute_public_url

    @property
    def image_url(self) -> str:
        return self.cfg.endpoints.image_public_url

    @property
    def placement_url(self) -> str:
        return self.cfg.endpoints.placement_public_url

    @property
    def grpc_target(self) -> str:
        """Envoy's compute port, which also serves native gRPC."""
        return self.compute_url.removeprefix("http://")

    @property
    def trace_dir(self) -> Path:
        return Path(self.cfg.expand(self.cfg.telemetry.trace_dir))

    def log(self, name: str) -> str:
        path = self.state_dir / "logs" / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        subprocess.run(
            [*LAUNCHER, "--config", str(self.config_file), "stop"],
            capture_output=True,
            text=True,
            timeout=120,
        )


def _toml(sections: dict[str, dict[str, object]], top: dict[str, object]) -> str:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        if isinstance(v, dict):
            return "{" + ", ".join(f"{value(k)} = {value(x)}" for k, x in v.items()) + "}"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"{k} = {value(v)}" for k, v in top.items()]
    for name, items in sections.items():
        lines.append(f"\n[{name}]")
        lines += [f"{k} = {value(v)}" for k, v in items.items()]
    return "\n".join(lines) + "\n"


def start_mesh(
    state_dir: Path,
    db_urls: dict[str, str] | None = None,
    agent: dict[str, object] | None = None,
    seed: bool = True,
    extra: dict[str, dict[str, object]] | None = None,
) -> Mesh:
    """Start the mesh with the launcher; raise with its output and the logs if it fails."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(10)
    (gw, router, sched, place, agent_port, compute, placement, image, admin) = ports[:9]
    console = ports[9]
    db_urls = db_urls or {}
    sections: dict[str, dict[str, object]] = {
        "endpoints": {
            "gateway": f"127.0.0.1:{gw}",
            "router": f"127.0.0.1:{router}",
            "scheduler": f"127.0.0.1:{sched}",
            "placement": f"127.0.0.1:{place}",
            "agent": f"127.0.0.1:{agent_port}",
            "compute_public_url": f"http://127.0.0.1:{compute}",
            "placement_public_url": f"http://127.0.0.1:{placement}",
            "image_public_url": f"http://127.0.0.1:{image}",
        },
        "agent": dict(agent or {}),
        "console": {"listen": f"127.0.0.1:{console}"},
    }
    if db_urls:
        sections["database"] = dict(db_urls)
    for name, items in (extra or {}).items():
        sections.setdefault(name, {}).update(items)
    config_file = state_dir / "novamesh.toml"
    config_file.write_text(_toml(sections, {"state_dir": str(state_dir)}))
    cfg = config_mod.load(str(config_file), env={})
    argv = [*LAUNCHER, "--config", str(config_file), "run", "--admin-port", str(admin)]
    if not seed:
        argv.append("--no-seed")
    mesh = Mesh(state_dir, config_file, cfg, admin, db_urls=db_urls)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    mesh.launcher_output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        mesh.stop()
        raise RuntimeError(f"the mesh did not start:\n{mesh.launcher_output}")
    return mesh
