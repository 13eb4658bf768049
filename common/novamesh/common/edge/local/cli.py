"""The local launcher behind `make run`, `make stop`, `make status` and `make logs`.

    python -m novamesh.common.edge.local run [--config FILE] [--admin-port N] [--no-seed]
    python -m novamesh.common.edge.local stop | status | logs [NAME ...] [-n LINES] [-f]

`run` migrates the databases and sets up the cells, starts placement, scheduler, router, api
and agent (fake driver) and Envoy as background processes (pid files under <state_dir>/run,
logs under <state_dir>/logs), waits for each one's health, maps the agent's hosts, seeds
flavors and an image through the REST APIs and writes <state_dir>/clouds.yaml. Running it again
starts only what is not running. `stop` stops exactly the processes it recorded.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from novamesh.common import config as config_mod
from novamesh.common.edge.local.launcher import DEFAULT_ADMIN_PORT, Launcher
from novamesh.common.edge.local.services import START_ORDER


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m novamesh.common.edge.local")
    parser.add_argument("--config", help="TOML configuration file (else NOVAMESH_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole mesh in the background")
    run.add_argument("--admin-port", type=int, default=DEFAULT_ADMIN_PORT, help="Envoy admin")
    run.add_argument("--cors-origin", action="append", default=[], help="allowed CORS origin")
    run.add_argument("--no-seed", action="store_true", help="no flavors or image")
    run.add_argument("--envoy-concurrency", type=int, default=1)
    sub.add_parser("stop", help="stop what `run` started")
    sub.add_parser("status", help="each process, its pid, health and log")
    logs = sub.add_parser("logs", help="the last lines of each log")
    logs.add_argument("names", nargs="*", help=f"any of {', '.join(START_ORDER)}")
    logs.add_argument("-n", "--lines", type=int, default=20)
    logs.add_argument("-f", "--follow", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_mod.load(args.config)
    launcher = Launcher(cfg, args.config)
    if args.command == "run":
        return launcher.run(
            args.admin_port, args.cors_origin, not args.no_seed, args.envoy_concurrency
        )
    if args.command == "stop":
        return launcher.stop()
    if args.command == "status":
        return launcher.status()
    return launcher.logs(args.names, args.lines, args.follow)
