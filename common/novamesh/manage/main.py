"""novamesh-manage: the operator's tool (databases, cells, readiness).

novamesh-manage db sync
novamesh-manage api_db sync
novamesh-manage cell_v2 map_cell0 [--database_connection URL]
novamesh-manage cell_v2 create_cell --name NAME --database_connection URL --transport-url URL
novamesh-manage cell_v2 list_cells [--verbose]
novamesh-manage cell_v2 discover_hosts [--cell_uuid UUID] [--verbose]
novamesh-manage cell_v2 list_hosts
novamesh-manage cell_v2 update_cell --cell_uuid UUID [--name N] [--transport-url URL]
                [--database_connection URL] [--disable | --enable]
novamesh-manage cell_v2 delete_cell --cell_uuid UUID [--force]
novamesh-manage cell_v2 delete_host --cell_uuid UUID --host HOST
novamesh-manage cell_v2 verify_instance --uuid UUID [--quiet]
novamesh-manage cell_v2 map_instances --cell_uuid UUID [--max-count N]
novamesh-manage cell_v2 simple_cell_setup
novamesh-manage db archive_deleted_rows [--max_rows N] [--until-complete] [--before DATE]
novamesh-manage db purge [--all | --before DATE]
novamesh-manage status
novamesh-manage support-matrix [--format ini|markdown] [--output FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from novamesh.common import config as config_mod
from novamesh.common.config import Config
from novamesh.manage import archive, cells, cells_admin, dbsync, status


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


def _update_cell(cfg: Config, args: argparse.Namespace) -> int:
    cells_admin.update_cell(
        cfg,
        args.cell_uuid,
        args.name,
        args.transport_url,
        args.database_connection,
        args.disable,
        args.enable,
    )
    return 0


def _delete_cell(cfg: Config, args: argparse.Namespace) -> int:
    cells_admin.delete_cell(cfg, args.cell_uuid, args.force)
    return 0


def _delete_host(cfg: Config, args: argparse.Namespace) -> int:
    cells_admin.delete_host(cfg, args.cell_uuid, args.host)
    return 0


def _verify_instance(cfg: Config, args: argparse.Namespace) -> int:
    found = cells_admin.verify_instance(cfg, args.uuid)
    if not args.quiet:
        _say(found.message)
    return found.code


def _map_instances(cfg: Config, args: argparse.Namespace) -> int:
    mapped, more = cells_admin.map_instances(cfg, args.cell_uuid, args.max_count)
    _say(f"Mapped {mapped} instance(s)." + (" More remain." if more else ""))
    return 1 if more else 0


def _report(archived: archive.Archived, verbose: bool) -> None:
    if verbose:
        _table(
            [
                ("Table", "Number of Rows Archived"),
                *sorted((t, str(n)) for t, n in archived.rows.items()),
            ]
        )
    _say(f"Archived {archived.total} row(s)." if archived.total else "Nothing was archived.")


def _archive_deleted_rows(cfg: Config, args: argparse.Namespace) -> int:
    if args.max_rows < 1:
        raise cells.CommandError("--max_rows must be at least 1.", 2)
    done = archive.archive_deleted_rows(
        cfg,
        args.max_rows,
        args.until_complete,
        archive.parse_before(args.before),
        (lambda b: _say(f"Archiving.....{b.total} row(s)")) if args.until_complete else None,
    )
    _report(done, args.verbose)
    return 1 if done.total else 0


def _purge(cfg: Config, args: argparse.Namespace) -> int:
    if not args.all and not args.before:
        raise cells.CommandError("Either --all or --before is required.", 3)
    done = archive.purge(cfg, None if args.all else archive.parse_before(args.before))
    _report(done, args.verbose)
    return 0 if done.total else 1


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


def _support_matrix(cfg: Config, args: argparse.Namespace) -> int:
    from novamesh.manage import support_matrix

    text = (
        support_matrix.render_markdown()
        if args.format == "markdown"
        else support_matrix.render_ini()
    )
    if args.output:
        Path(args.output).write_text(text)
        _say(f"support matrix written to {args.output}")
    else:
        print(text, end="")
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
    p = db.add_parser("archive_deleted_rows", help="remove deleted instances for good")
    p.add_argument("--max_rows", "--max-rows", dest="max_rows", type=int, default=1000)
    p.add_argument(
        "--until-complete", "--until_complete", dest="until_complete", action="store_true"
    )
    p.add_argument("--before", help="only rows deleted before this date (ISO 8601)")
    p.add_argument("--verbose", action="store_true")
    p.add_argument(
        "--all-cells",
        "--all_cells",
        dest="all_cells",
        action="store_true",
        help="accepted for nova-manage compatibility: every cell is always archived",
    )
    p.set_defaults(func=_archive_deleted_rows)
    p = db.add_parser("purge", help="remove deleted rows (no shadow tables: same as archiving)")
    p.add_argument("--all", action="store_true")
    p.add_argument("--before")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--all-cells", "--all_cells", dest="all_cells", action="store_true")
    p.set_defaults(func=_purge)
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
    p = cell_v2.add_parser("update_cell", help="change a cell mapping")
    p.add_argument("--cell_uuid", "--cell-uuid", dest="cell_uuid", required=True)
    p.add_argument("--name")
    p.add_argument("--transport-url", "--transport_url", dest="transport_url")
    p.add_argument("--database_connection", "--database-connection", dest="database_connection")
    p.add_argument("--disable", action="store_true")
    p.add_argument("--enable", action="store_true")
    p.set_defaults(func=_update_cell)
    p = cell_v2.add_parser("delete_cell", help="remove an empty cell mapping")
    p.add_argument("--cell_uuid", "--cell-uuid", dest="cell_uuid", required=True)
    p.add_argument("--force", action="store_true", help="also remove its hosts' mappings")
    p.set_defaults(func=_delete_cell)
    p = cell_v2.add_parser("delete_host", help="unmap a host with no instances")
    p.add_argument("--cell_uuid", "--cell-uuid", dest="cell_uuid", required=True)
    p.add_argument("--host", required=True)
    p.set_defaults(func=_delete_host)
    p = cell_v2.add_parser("verify_instance", help="is an instance mapped to a cell?")
    p.add_argument("--uuid", required=True)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_verify_instance)
    p = cell_v2.add_parser("map_instances", help="map a cell's unmapped instances")
    p.add_argument("--cell_uuid", "--cell-uuid", dest="cell_uuid", required=True)
    p.add_argument("--max-count", "--max_count", dest="max_count", type=int)
    p.set_defaults(func=_map_instances)
    p = cell_v2.add_parser("simple_cell_setup", help="cell0 + cell1 + migrations + hosts")
    p.add_argument("--transport-url", "--transport_url", dest="transport_url")
    p.set_defaults(func=_simple_cell_setup)

    categories.add_parser("status", help="is the deployment ready?").set_defaults(func=_status)
    p = categories.add_parser("support-matrix", help="the hypervisor support matrix, generated")
    p.add_argument("--format", choices=("ini", "markdown"), default="ini")
    p.add_argument("--output", help="write to this file (default: standard output)")
    p.set_defaults(func=_support_matrix)
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
