"""`novamesh-manage db archive_deleted_rows` and `db purge`: a purge-only design.

Nova moves soft-deleted rows into shadow tables (archive) and later empties those (purge). Here
there are no shadow tables: the instance actions, faults and events an operator may want to
read stay with a deleted instance until it is archived, and archiving removes the rows for
good, together with what the API database keeps about those instances (instance mappings,
request specs, server group memberships). `purge` is the same removal without batches, for
scripts written against nova-manage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from novamesh.common.apidb.models import (
    CellMapping,
    InstanceGroupMember,
    InstanceMapping,
    RequestSpec,
)
from novamesh.common.config import Config
from novamesh.common.db import create_sync_engine
from novamesh.manage.cells import api_session
from sqlalchemy import delete, select
from sqlalchemy.orm import Session


@dataclass
class Archived:
    # table name -> rows removed
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        if n:
            self.rows[table] = self.rows.get(table, 0) + n

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def parse_before(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from novamesh.manage.cells import CommandError

        raise CommandError(f"Invalid value for --before: {value}", 2) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _purge_cell(
    url: str, before: dt.datetime | None, max_rows: int | None, out: Archived
) -> list[str]:
    """Remove up to max_rows deleted instances (and their rows) of one cell; their uuids."""
    from novamesh.cells.db import models

    engine = create_sync_engine(url)
    try:
        with Session(engine) as s, s.begin():
            query = select(models.Instance.uuid).where(models.Instance.deleted.is_(True))
            if before is not None:
                query = query.where(models.Instance.deleted_at < before)
            query = query.order_by(models.Instance.id)
            if max_rows is not None:
                query = query.limit(max_rows)
            uuids = list(s.scalars(query))
            if uuids:
                # Rows that name an instance without a cascading foreign key go first.
                for table in reversed(models.Base.metadata.sorted_tables):
                    if "instance_uuid" in table.c and not table.c.instance_uuid.foreign_keys:
                        if table.name == "instance_actions":
                            ids = select(table.c.id).where(table.c.instance_uuid.in_(uuids))
                            event = models.InstanceActionEvent
                            res = s.execute(delete(event).where(event.action_id.in_(ids)))
                            out.add(event.__tablename__, res.rowcount or 0)  # type: ignore[attr-defined]
                        res = s.execute(delete(table).where(table.c.instance_uuid.in_(uuids)))
                        out.add(table.name, res.rowcount or 0)  # type: ignore[attr-defined]
                res = s.execute(delete(models.Instance).where(models.Instance.uuid.in_(uuids)))
                out.add("instances", res.rowcount or 0)  # type: ignore[attr-defined]
            room = None if max_rows is None else max_rows - len(uuids)
            if room is None or room > 0:
                for model in (models.Service, models.ComputeNode, models.Migration):
                    gone = delete(model).where(model.deleted.is_(True))
                    if before is not None:
                        gone = gone.where(model.deleted_at < before)
                    res = s.execute(gone)
                    out.add(str(model.__tablename__), res.rowcount or 0)  # type: ignore[attr-defined]
            return uuids
    finally:
        engine.dispose()


def _purge_api(s: Session, uuids: list[str], out: Archived) -> None:
    for model in (InstanceMapping, RequestSpec, InstanceGroupMember):
        res = s.execute(delete(model).where(model.instance_uuid.in_(uuids)))
        out.add(f"API_DB.{model.__tablename__}", res.rowcount or 0)  # type: ignore[attr-defined]


def archive_deleted_rows(
    cfg: Config,
    max_rows: int = 1000,
    until_complete: bool = False,
    before: dt.datetime | None = None,
    progress: Callable[[Archived], None] | None = None,
) -> Archived:
    """Remove deleted instances in batches of max_rows per cell; all of them with
    until_complete."""
    total = Archived()
    while True:
        batch = Archived()
        with api_session(cfg) as s:
            cells = list(s.scalars(select(CellMapping).order_by(CellMapping.id)))
            for cell in cells:
                uuids = _purge_cell(cell.database_connection, before, max_rows, batch)
                if uuids:
                    _purge_api(s, uuids, batch)
        for table, n in batch.rows.items():
            total.add(table, n)
        if progress is not None and batch.total:
            progress(batch)
        if not until_complete or not batch.total:
            return total


def purge(cfg: Config, before: dt.datetime | None) -> Archived:
    out = Archived()
    with api_session(cfg) as s:
        for cell in s.scalars(select(CellMapping).order_by(CellMapping.id)):
            uuids = _purge_cell(cell.database_connection, before, None, out)
            if uuids:
                _purge_api(s, uuids, out)
    return out
