"""The one way a novamesh service process starts: config, logs, telemetry, gRPC server, drain.

A service's `main()` is `service.run("placement", build)`, where `build(config)` returns a
`ServiceSpec`: what to listen on, the servicers to register, and start/stop hooks.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from novamesh.common import config as config_mod
from novamesh.common import grpcutil, logs, telemetry

LOG = logging.getLogger(__name__)


@dataclass
class ServiceSpec:
    listen: str
    registrars: Sequence[grpcutil.Registrar]
    # Fully-qualified gRPC service names (for health and reflection).
    service_names: Sequence[str]
    on_start: Callable[[], Awaitable[None]] | None = None
    on_stop: Callable[[], Awaitable[None]] | None = None
    extra: dict[str, object] = field(default_factory=dict)


Builder = Callable[[config_mod.Config], Awaitable[ServiceSpec]]


async def _run(name: str, cfg: config_mod.Config, build: Builder) -> None:
    spec = await build(cfg)
    server, port, health_servicer = grpcutil.create_server(
        spec.listen, spec.registrars, spec.service_names
    )
    if spec.on_start is not None:
        await spec.on_start()
    LOG.info("%s listening", name, extra={"fields": {"port": port, "listen": spec.listen}})
    try:
        await grpcutil.serve(server, health_servicer, spec.service_names, on_stop=spec.on_stop)
    finally:
        telemetry.shutdown()


def run(name: str, build: Builder, argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"novamesh-{name}")
    parser.add_argument("--config", help="TOML configuration file (else NOVAMESH_CONFIG)")
    args = parser.parse_args(argv)
    cfg = config_mod.load(args.config)
    logs.setup(name, cfg.log_level)
    telemetry.setup(name, cfg)
    asyncio.run(_run(name, cfg, build))
