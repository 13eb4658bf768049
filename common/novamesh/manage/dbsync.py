"""`novamesh-manage db sync` and `api_db sync`: bring every database to the newest schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from novamesh.common import apidb
from novamesh.common.config import Config
from novamesh.common.db import current_revision, migrate

Say = Callable[[str], None]


def head_revision(script_location: Path) -> str | None:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(script_location))
    return ScriptDirectory.from_config(cfg).get_current_head()


def is_current(url: str, script_location: Path) -> bool:
    return current_revision(url) == head_revision(script_location)


def cell_migrations() -> Path:
    from novamesh.cells.db import MIGRATIONS

    return MIGRATIONS


def placement_migrations() -> Path | None:
    """The placement service's migrations, or None when that package is not installed."""
    try:
        from novamesh.placement.db import MIGRATIONS  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return Path(MIGRATIONS)


def sync_api(cfg: Config, say: Say) -> None:
    migrate(cfg.expand(cfg.database.api_url), apidb.MIGRATIONS)
    say("API database: up to date.")


def sync_cells(cfg: Config, say: Say) -> None:
    from novamesh.manage.cells import list_cells

    for cell in list_cells(cfg):
        migrate(cell.database_connection, cell_migrations())
        say(f"Cell {cell.name or cell.uuid} database: up to date.")


def sync_placement(cfg: Config, say: Say) -> bool:
    location = placement_migrations()
    if location is None:
        say(
            "WARNING: placement database NOT migrated: the placement service's migrations "
            "(novamesh.placement.db.MIGRATIONS) are not installed."
        )
        return False
    migrate(cfg.expand(cfg.database.placement_url), location)
    say("Placement database: up to date.")
    return True


def sync_all(cfg: Config, say: Say) -> bool:
    """API database, then every mapped cell, then placement. False when something was skipped."""
    sync_api(cfg, say)
    sync_cells(cfg, say)
    return sync_placement(cfg, say)
