"""`novamesh-manage status`: is this deployment ready to boot servers, and if not, why.

Each check answers OK, WARNING or FAILURE with a sentence saying what is wrong and what to run.
Exit status as nova-status: 0 all OK, 1 at least one warning, 2 at least one failure.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from novamesh.common import apidb
from novamesh.common.config import Config
from novamesh.common.db import create_sync_engine
from novamesh.manage import cells, dbsync
from sqlalchemy import func, select
from sqlalchemy.orm import Session


class Code(enum.IntEnum):
    OK = 0
    WARNING = 1
    FAILURE = 2


@dataclass
class Result:
    code: Code
    detail: str = ""


def _api_db(cfg: Config) -> Result:
    url = cfg.expand(cfg.database.api_url)
    try:
        if dbsync.is_current(url, apidb.MIGRATIONS):
            return Result(Code.OK)
    except Exception as exc:
        return Result(Code.FAILURE, f"The API database cannot be opened ({exc}).")
    return Result(
        Code.FAILURE,
        "The API database is not migrated to the newest schema. Run `novamesh-manage api_db sync`.",
    )


def _cell0(cfg: Config) -> Result:
    try:
        if cells.find_cell(cfg, cells.CELL0_UUID) is not None:
            return Result(Code.OK)
    except Exception as exc:
        return Result(Code.FAILURE, f"Cell mappings cannot be read ({exc}).")
    return Result(
        Code.FAILURE,
        "cell0 is not mapped: builds that find no host have nowhere to go. "
        "Run `novamesh-manage cell_v2 map_cell0`.",
    )


def _cells(cfg: Config) -> Result:
    try:
        found = [c for c in cells.list_cells(cfg) if c.uuid != cells.CELL0_UUID]
    except Exception as exc:
        return Result(Code.FAILURE, f"Cell mappings cannot be read ({exc}).")
    if not found:
        return Result(
            Code.FAILURE,
            "There is no cell besides cell0, so no host can run a server. Run `novamesh-manage "
            "cell_v2 create_cell --name cell1 --database_connection URL --transport-url URL` "
            "(or `cell_v2 simple_cell_setup`).",
        )
    return Result(Code.OK)


def _cell_dbs(cfg: Config) -> Result:
    try:
        found = cells.list_cells(cfg)
    except Exception as exc:
        return Result(Code.FAILURE, f"Cell mappings cannot be read ({exc}).")
    problems = []
    for cell in found:
        label = cell.name or cell.uuid
        try:
            if not dbsync.is_current(cell.database_connection, dbsync.cell_migrations()):
                problems.append(
                    f"The database of cell {label} is not migrated. Run `novamesh-manage db sync`."
                )
        except Exception as exc:
            problems.append(
                f"The database of cell {label} cannot be reached "
                f"({cells.mask_url(cell.database_connection)}: {exc}). "
                "Check that it is running and that the cell mapping's URL is right "
                "(`novamesh-manage cell_v2 list_cells`)."
            )
    if problems:
        return Result(Code.FAILURE, "\n".join(problems))
    return Result(Code.OK)


def _placement(cfg: Config) -> Result:
    location = dbsync.placement_migrations()
    if location is None:
        return Result(
            Code.WARNING,
            "The placement service's migrations (novamesh.placement.db) are not installed, "
            "so the placement database cannot be checked.",
        )
    try:
        if dbsync.is_current(cfg.expand(cfg.database.placement_url), location):
            return Result(Code.OK)
    except Exception as exc:
        return Result(Code.FAILURE, f"The placement database cannot be opened ({exc}).")
    return Result(
        Code.FAILURE,
        "The placement database is not migrated. Run `novamesh-manage db sync`.",
    )


def _hosts(cfg: Config) -> Result:
    from novamesh.cells.db.models import ComputeNode

    try:
        found = [c for c in cells.list_cells(cfg) if c.uuid != cells.CELL0_UUID]
    except Exception as exc:
        return Result(Code.FAILURE, f"Cell mappings cannot be read ({exc}).")
    total = unmapped = 0
    for cell in found:
        engine = create_sync_engine(cell.database_connection)
        try:
            with Session(engine) as s:
                live = ComputeNode.deleted.is_(False)
                total += s.scalar(select(func.count()).where(live)) or 0
                unmapped += (
                    s.scalar(select(func.count()).where(live, ComputeNode.mapped.is_(False))) or 0
                )
        except Exception:
            continue  # reported by the cell database check
        finally:
            engine.dispose()
    if total == 0:
        return Result(
            Code.WARNING,
            "No compute host has registered yet. Start a compute agent (`novamesh-agent`); "
            "it maps its hosts when it connects to its cell's router.",
        )
    if unmapped:
        return Result(
            Code.WARNING,
            f"{unmapped} of {total} compute nodes have no host mapping, so the scheduler's "
            "choices there cannot be routed. Run `novamesh-manage cell_v2 discover_hosts`.",
        )
    return Result(Code.OK)


CHECKS: list[tuple[str, Callable[[Config], Result]]] = [
    ("API database migrated", _api_db),
    ("cell0 mapped", _cell0),
    ("At least one cell", _cells),
    ("Cell databases reachable and migrated", _cell_dbs),
    ("Placement database migrated", _placement),
    ("Compute hosts mapped", _hosts),
]


def run(cfg: Config, say: Callable[[str], None]) -> int:
    worst = Code.OK
    for title, check in CHECKS:
        result = check(cfg)
        worst = max(worst, result.code)
        say(f"Check: {title}: {result.code.name}")
        for line in result.detail.splitlines():
            say(f"  {line}")
    return int(worst)
