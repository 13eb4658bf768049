"""novamesh-manage: the operator's tool (databases, cells, readiness).

novamesh-manage db sync
novamesh-manage api_db sync
novamesh-manage cell_v2 map_cell0 [--database_connection URL]
novamesh-manage cell_v2 create_cell --name NAME --database_connection URL --transport-url URL
novamesh-manage cell_v2 list_cells [--verbose]
novamesh-manage cell_v2 discover_hosts [--cell_uuid UUID] [--verbose]
novamesh-manage cell_v2 list_hosts
novamesh-manage cell_v2 simple_cell_setup
novamesh-manage status
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from novamesh.common import config as config_mod
from novamesh.common.config import Config
from novamesh.manage import cells, dbsync, status


def _say(line: str) -> None:
    print(line, flush=True)


def _db_sync(cfg: Config, args: argparse.Namespace) -> int:
    dbsync.sync_all(cfg, _say)
    return 0


def _api_db_sync(cfg: Config, args: argparse.Namespace) -> int:
    dbsync.sync_api(cfg, _say)
    return 0


def _map_cell0(cfg: Config, args: argparse.Namespace) -> int:
    uuid, created = cells.map_cell0(cfg, args.database_connection)
    _say(f"cell0 mapped ({uuid})." if created else "cell0 is already mapped.")
    return 0


def _create_cell(cfg: Config, args: argparse.Namespace) -> int:
    uuid = cells.create_cell(
        cfg, args.name, args.database_connection, args.transport_url, args.disabled
    )
    _say(uuid if args.verbose else f"Cell {args.name or uuid} created ({uuid}).")
    return 0


def _list_cells(cfg: Config, args: argparse.Namespace) -> int:
    rows = [("Name", "UUID", "Transport URL", "Database Connection", "Disabled")]
    for c in cells.list_cells(cfg):
        show = (lambda u: u) if args.verbose else cells.mask_url
        rows.append(
            (
                c.name,
                c.uuid,
                show(c.transport_url),
                show(c.database_connection),
                str(c.disabled),
            )
        )
    _table(rows)
    return 0


def _discover_hosts(cfg: Config, args: argparse.Namespace) -> int:
    added = cells.discover_hosts(cfg, args.cell_uuid)
    if args.verbose or not added:
        for host, cell in added:
            _say(f"Mapped host {host} to cell {cell}.")
        if not added:
            _say("No new hosts found.")
    else:
        _say(f"Mapped {len(added)} new host(s).")
    return 0


def _list_hosts(cfg: Config, args: argparse.Namespace) -> int:
    _table([("Cell Name", "Cell UUID", "Hostname"), *cells.list_hosts(cfg)])
    return 0


def _simple_cell_setup(cfg: Config, args: argparse.Namespace) -> int:
    """API DB, cell0, one cell with the embedded defaults, every DB migrated, hosts mapped.

    Idempotent: run it again and it only migrates and discovers.
    """
    dbsync.sync_api(cfg, _say)
    _map_cell0(cfg, argparse.Namespace(database_connection=None))
    if not [c for c in cells.list_cells(cfg) if c.uuid != cells.CELL0_UUID]:
        uuid = cells.create_cell(
            cfg,
            "cell1",
            cfg.expand(cfg.database.cell1_url),
            args.transport_url or cells.default_transport_url(cfg),
        )
        _say(f"Cell cell1 created ({uuid}).")
    dbsync.sync_cells(cfg, _say)
    dbsync.sync_placement(cfg, _say)
    added = cells.discover_hosts(cfg)
    _say(f"Mapped {len(added)} new host(s).")
    return 0


def _status(cfg: Config, args: argparse.Namespace) -> int:
    return status.run(cfg, _say)


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    _say(rule)
    for n, row in enumerate(rows):
        _say("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            _say(rule)
    _say(rule)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="novamesh-manage", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="TOML configuration file (else NOVAMESH_CONFIG)")
    categories = parser.add_subparsers(dest="category", required=True, metavar="CATEGORY")

    db = categories.add_parser("db", help="all databases").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("sync", help="migrate the API, cell and placement databases").set_defaults(
        func=_db_sync
    )
    api_db = categories.add_parser("api_db", help="the API database").add_subparsers(
        dest="action", required=True
    )
    api_db.add_parser("sync", help="migrate the API database").set_defaults(func=_api_db_sync)

    cell_v2 = categories.add_parser("cell_v2", help="cells v2").add_subparsers(
        dest="action", required=True
    )
    p = cell_v2.add_parser("map_cell0", help="map cell0 (where builds with no host go)")
    p.add_argument("--database_connection", "--database-connection", dest="database_connection")
    p.set_defaults(func=_map_cell0)
    p = cell_v2.add_parser("create_cell", help="map a new cell")
    p.add_argument("--name")
    p.add_argument("--database_connection", "--database-connection", dest="database_connection")
    p.add_argument("--transport-url", "--transport_url", dest="transport_url")
    p.add_argument("--disabled", action="store_true")
    p.add_argument("--verbose", action="store_true", help="print only the new cell's uuid")
    p.set_defaults(func=_create_cell)
    p = cell_v2.add_parser("list_cells", help="list the cell mappings")
    p.add_argument("--verbose", action="store_true", help="show passwords in URLs")
    p.set_defaults(func=_list_cells)
    p = cell_v2.add_parser("discover_hosts", help="map the compute hosts found in the cells")
    p.add_argument("--cell_uuid", "--cell-uuid", dest="cell_uuid")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(func=_discover_hosts)
    cell_v2.add_parser("list_hosts", help="list the host mappings").set_defaults(func=_list_hosts)
    p = cell_v2.add_parser("simple_cell_setup", help="cell0 + cell1 + migrations + hosts")
    p.add_argument("--transport-url", "--transport_url", dest="transport_url")
    p.set_defaults(func=_simple_cell_setup)

    categories.add_parser("status", help="is the deployment ready?").set_defaults(func=_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
        return int(args.func(cfg, args))
    except cells.CommandError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:
        print(f"ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
