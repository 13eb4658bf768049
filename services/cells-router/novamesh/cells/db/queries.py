"""The per-cell half of an instance list: filters, sort order and the page after a marker.

The router merges the pages of every cell in Python with the same total order the SQL uses
(sort keys, then uuid; NULL sorts before any value), which is what makes limit and marker
exact across cells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from novamesh.cells.db import models
from sqlalchemy import Select, and_, false, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from .instances import LOAD_ALL

Inst = models.Instance

# Sort keys (Nova's names and the router's) -> column.
SORT_COLUMNS: dict[str, Any] = {
    "created_at": Inst.created_at,
    "updated_at": Inst.updated_at,
    "uuid": Inst.uuid,
    "display_name": Inst.display_name,
    "name": Inst.display_name,
    "display_description": Inst.display_description,
    "description": Inst.display_description,
    "hostname": Inst.hostname,
    "vm_state": Inst.vm_state,
    "task_state": Inst.task_state,
    "power_state": Inst.power_state,
    "host": Inst.host,
    "node": Inst.node,
    "launched_at": Inst.launched_at,
    "terminated_at": Inst.terminated_at,
    "deleted_at": Inst.deleted_at,
    "project_id": Inst.project_id,
    "user_id": Inst.user_id,
    "availability_zone": Inst.availability_zone,
    "key_name": Inst.key_name,
    "image_ref": Inst.image_ref,
    "flavor_id": Inst.flavor_id,
    "locked": Inst.locked,
    "config_drive": Inst.config_drive,
    "progress": Inst.progress,
    "launch_index": Inst.launch_index,
    "reservation_id": Inst.reservation_id,
    "access_ip_v4": Inst.access_ip_v4,
    "access_ip_v6": Inst.access_ip_v6,
}

# Exact-match filters -> (column, how the string value is read).
_TEXT = str


def _bool(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


FILTER_COLUMNS: dict[str, tuple[Any, Any]] = {
    "project_id": (Inst.project_id, _TEXT),
    "user_id": (Inst.user_id, _TEXT),
    "host": (Inst.host, _TEXT),
    "node": (Inst.node, _TEXT),
    "vm_state": (Inst.vm_state, _TEXT),
    "task_state": (Inst.task_state, _TEXT),
    "power_state": (Inst.power_state, int),
    "availability_zone": (Inst.availability_zone, _TEXT),
    "reservation_id": (Inst.reservation_id, _TEXT),
    "key_name": (Inst.key_name, _TEXT),
    "image_ref": (Inst.image_ref, _TEXT),
    "image": (Inst.image_ref, _TEXT),
    "flavor_id": (Inst.flavor_id, _TEXT),
    "flavor": (Inst.flavor_id, _TEXT),
    "hostname": (Inst.hostname, _TEXT),
    "locked": (Inst.locked, _bool),
    "config_drive": (Inst.config_drive, _bool),
    "launch_index": (Inst.launch_index, int),
    "access_ip_v4": (Inst.access_ip_v4, _TEXT),
    "access_ip_v6": (Inst.access_ip_v6, _TEXT),
    "description": (Inst.display_description, _TEXT),
}
# Filters on a comma-separated list.
LIST_FILTERS = {"uuid", "tags", "tags-any", "not-tags", "not-tags-any"}
KNOWN_FILTERS = set(FILTER_COLUMNS) | LIST_FILTERS | {"deleted"}


@dataclass(frozen=True)
class SortSpec:
    key: str
    desc: bool


@dataclass
class ListQuery:
    filters: dict[str, str] = field(default_factory=dict)
    name_regex: str = ""
    sort: list[SortSpec] = field(default_factory=list)
    limit: int = 0
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    include_deleted: bool = False
    vm_states: list[str] = field(default_factory=list)
    task_states: list[str] = field(default_factory=list)
    # The sort values of the marker instance: the page starts strictly after it.
    after: tuple[Any, ...] | None = None
    # Minimal records for the instances of cells that do not answer (Nova 2.69).
    cell_down_support: bool = False


class BadQuery(ValueError):
    pass


def normalise_sort(sort: Sequence[tuple[str, str]]) -> list[SortSpec]:
    """Validated sort keys, ending with uuid so that the order is total."""
    if not sort:
        return [SortSpec("created_at", True), SortSpec("uuid", True)]
    out = []
    for key, direction in sort:
        if key not in SORT_COLUMNS:
            raise BadQuery(f"Invalid sort key: {key}")
        if direction.lower() not in ("", "asc", "desc"):
            raise BadQuery(f"Invalid sort direction: {direction}")
        out.append(SortSpec(key, direction.lower() != "asc" if direction else True))
    if not any(s.key == "uuid" for s in out):
        out.append(SortSpec("uuid", out[0].desc))
    return out


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def where(q: ListQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for key, value in q.filters.items():
        if key in FILTER_COLUMNS:
            column, parse = FILTER_COLUMNS[key]
            try:
                conds.append(column == parse(value))
            except ValueError:
                raise BadQuery(f"Invalid value for filter {key}: {value}") from None
        elif key == "uuid":
            conds.append(Inst.uuid.in_(_split(value)))
        elif key in ("tags", "not-tags"):
            tags = _split(value)
            has_all = and_(*(Inst.tags.any(models.Tag.tag == t) for t in tags)) if tags else true()
            conds.append(has_all if key == "tags" else not_(has_all))
        elif key in ("tags-any", "not-tags-any"):
            tags = _split(value)
            has_any = Inst.tags.any(models.Tag.tag.in_(tags)) if tags else false()
            conds.append(has_any if key == "tags-any" else not_(has_any))
        elif key == "deleted":
            conds.append(Inst.deleted.is_(_bool(value)))
        else:
            raise BadQuery(f"Invalid filter: {key}")
    if "deleted" not in q.filters and not q.include_deleted:
        conds.append(Inst.deleted.is_(False))
    if q.name_regex:
        conds.append(Inst.display_name.regexp_match(q.name_regex))
    if q.vm_states:
        conds.append(Inst.vm_state.in_(q.vm_states))
    if q.task_states:
        named = [t for t in q.task_states if t]
        cond = Inst.task_state.in_(named)
        conds.append(cond | Inst.task_state.is_(None) if "" in q.task_states else cond)
    if q.changes_since is not None:
        conds.append(Inst.updated_at >= q.changes_since)
    if q.changes_before is not None:
        conds.append(Inst.updated_at <= q.changes_before)
    return conds


def after(sort: Sequence[SortSpec], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order `sort` (NULL before any value)."""
    alternatives = []
    for i, spec in enumerate(sort):
        column = SORT_COLUMNS[spec.key]
        equal_before = [
            SORT_COLUMNS[s.key].is_(None) if v is None else SORT_COLUMNS[s.key] == v
            for s, v in zip(sort[:i], values[:i], strict=True)
        ]
        value = values[i]
        if spec.desc:
            beyond = false() if value is None else or_(column < value, column.is_(None))
        else:
            beyond = column.is_not(None) if value is None else column > value
        alternatives.append(and_(*equal_before, beyond))
    return or_(*alternatives)


def _ordered(query: Select[Any], q: ListQuery) -> Select[Any]:
    query = query.where(*where(q))
    if q.after is not None:
        query = query.where(after(q.sort, q.after))
    for spec in q.sort:
        column = SORT_COLUMNS[spec.key]
        query = query.order_by(
            column.desc().nulls_last() if spec.desc else column.asc().nulls_first()
        )
    if q.limit > 0:
        query = query.limit(q.limit)
    return query


def select_page(q: ListQuery) -> Select[Any]:
    return _ordered(select(Inst), q).options(*LOAD_ALL)


async def page(session: AsyncSession, q: ListQuery) -> list[models.Instance]:
    return list((await session.scalars(select_page(q))).all())


async def page_keys(session: AsyncSession, q: ListQuery) -> list[tuple[str, tuple[Any, ...]]]:
    """(uuid, sort values) of a page: the cheap first half of a cross-cell list."""
    columns = [SORT_COLUMNS[s.key] for s in q.sort]
    rows = await session.execute(_ordered(select(Inst.uuid, *columns), q))
    return [(row[0], tuple(row[1:])) for row in rows]


def sort_values(row: models.Instance, sort: Sequence[SortSpec]) -> tuple[Any, ...]:
    return tuple(getattr(row, SORT_COLUMNS[s.key].key) for s in sort)
