"""Reading instances wherever they are: one by uuid, or a page across every cell.

A list asks every cell at once, each with its own time limit, plus the build requests that have
no cell yet; each source returns at most `limit` rows after the marker in the same total order,
and the merge keeps the first `limit`. A cell that fails or is too slow is named in the answer
instead of failing the list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
from collections.abc import Sequence
from typing import Any

from novamesh.cells import convert
from novamesh.cells.apistore import PendingBuild
from novamesh.cells.core import Core, NotFound, Unavailable
from novamesh.cells.db import instances as inst_db
from novamesh.cells.db import loader, queries
from novamesh.cells.db.queries import BadQuery, ListQuery, SortSpec
from novamesh.cells.registry import Cell
from novamesh.cells.v1 import router_pb2
from sqlalchemy.ext.asyncio import AsyncSession

LOG = logging.getLogger(__name__)

# Sort key -> attribute of the Instance message (for build requests, which are messages).
_MESSAGE_ATTR = {
    "display_name": "name",
    "display_description": "description",
    "flavor_id": "flavor",
}
# Filter name -> sort key naming the same attribute, where they differ.
_FILTER_ATTR = {"image": "image_ref", "flavor": "flavor_id"}
_TIMESTAMPS = {"created_at", "updated_at", "launched_at", "terminated_at", "deleted_at"}


def message_value(inst: router_pb2.Instance, key: str) -> Any:
    attr = _MESSAGE_ATTR.get(key, key)
    if key in _TIMESTAMPS:
        return convert.from_ts(getattr(inst, key)) if inst.HasField(key) else None  # type: ignore[arg-type]
    if attr == "flavor":
        return inst.flavor.id or None
    value = getattr(inst, attr)
    return None if value == "" else value


@functools.total_ordering
class Key:
    """A position in the total order of a list (NULL before any value, per-key direction)."""

    __slots__ = ("sort", "values")

    def __init__(self, values: Sequence[Any], sort: Sequence[SortSpec]) -> None:
        self.values = tuple(values)
        self.sort = sort

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and self.values == other.values

    def __lt__(self, other: Key) -> bool:
        for mine, theirs, spec in zip(self.values, other.values, self.sort, strict=True):
            if mine == theirs:
                continue
            if mine is None:
                less = True
            elif theirs is None:
                less = False
            else:
                less = mine < theirs
            return less != spec.desc
        return False

    __hash__ = None  # type: ignore[assignment]


class Reader:
    def __init__(self, core: Core) -> None:
        self._core = core

    async def get(self, uuid: str) -> router_pb2.Instance:
        mapping, cell = await self._core.locate(uuid)
        if cell is None:
            pending = await self._core.api.build_request(uuid)
            if pending is not None:
                return convert.pending_instance(pending.instance, pending.tags, pending.created_at)
            mapping, cell = await self._core.locate(uuid)  # it just landed
            if cell is None:
                raise NotFound(f"Instance {uuid} could not be found.")

        async def work(session: AsyncSession) -> router_pb2.Instance | None:
            row = await inst_db.get(session, uuid)
            return convert.instance(row, cell) if row is not None else None

        try:
            found: router_pb2.Instance | None = await self._core.in_cell(
                cell, work, self._core.list_timeout
            )
        except Exception as exc:
            LOG.warning("cell %s did not answer for %s: %s", cell.label, uuid, exc)
            return router_pb2.Instance(
                uuid=uuid,
                project_id=mapping.project_id,
                user_id=mapping.user_id,
                cell_uuid=cell.uuid,
                cell_name=cell.name,
                created_at=convert.ts(mapping.created_at),
                unreachable=True,
            )
        if found is None:
            await self._core.mappings.invalidate(uuid)
            raise NotFound(f"Instance {uuid} could not be found.")
        return found

    async def list_page(
        self, q: ListQuery, marker: str = ""
    ) -> tuple[list[router_pb2.Instance], list[str]]:
        if marker:
            q.after = await self._marker_values(marker, q.sort)
        cells = self._core.registry.all()
        results, pending_result = await asyncio.gather(
            asyncio.gather(*(self._page(cell, q) for cell in cells), return_exceptions=True),
            asyncio.gather(self._pending_page(q), return_exceptions=True),
        )
        # First every source's sort keys, then whole records only for the page that won.
        merged: list[tuple[Key, Cell | None, str]] = []
        unreachable = []
        for cell, result in zip(cells, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, BadQuery):
                    raise result
                LOG.warning("left out of a list: %s (%r)", cell.label, result)
                unreachable.append(cell.label)
                continue
            merged.extend(result)
        pending: dict[str, router_pb2.Instance] = {}
        (builds,) = pending_result
        if isinstance(builds, BaseException):
            LOG.warning("build requests left out of a list: %r", builds)
            unreachable.append("build requests")
        else:
            pending = {inst.uuid: inst for _, inst in builds}
            merged.extend((key, None, inst.uuid) for key, inst in builds)
        merged.sort(key=lambda item: item[0])
        if q.limit > 0:
            merged = merged[: q.limit]
        wanted: dict[int, list[str]] = {}
        for _, source, uuid in merged:
            if source is not None:
                wanted.setdefault(source.id, []).append(uuid)
        by_id = {c.id: c for c in cells}
        loaded = await asyncio.gather(
            *(self._records(by_id[cid], uuids) for cid, uuids in wanted.items()),
            return_exceptions=True,
        )
        records: dict[str, router_pb2.Instance] = dict(pending)
        for cid, got in zip(wanted, loaded, strict=True):
            if isinstance(got, BaseException):
                LOG.warning("left out of a list: %s (%r)", by_id[cid].label, got)
                unreachable.append(by_id[cid].label)
                continue
            records.update(got)
        found = [records[uuid] for _, _, uuid in merged if uuid in records]
        down = [c for c in cells if c.label in unreachable]
        if q.cell_down_support and down:
            # As Nova: the minimal records come first and count against the limit.
            room = q.limit - len(found) if q.limit > 0 else 0
            if q.limit <= 0 or room > 0:
                found = await self._minimal(down, q.filters.get("project_id", ""), room) + found
        return found, unreachable

    async def _minimal(
        self, cells: list[Cell], project_id: str, limit: int
    ) -> list[router_pb2.Instance]:
        mappings = await self._core.api.mappings_in_cells([c.id for c in cells], project_id)
        by_id = {c.id: c for c in cells}
        mappings.sort(key=lambda m: (m.created_at, m.instance_uuid), reverse=True)
        if limit > 0:
            mappings = mappings[:limit]
        out = []
        for m in mappings:
            cell = by_id[m.cell_id] if m.cell_id is not None else None
            out.append(
                router_pb2.Instance(
                    uuid=m.instance_uuid,
                    project_id=m.project_id,
                    user_id=m.user_id,
                    created_at=convert.ts(m.created_at),
                    cell_uuid=cell.uuid if cell else "",
                    cell_name=cell.name if cell else "",
                    unreachable=True,
                )
            )
        return out

    async def _page(self, cell: Cell, q: ListQuery) -> list[tuple[Key, Cell | None, str]]:
        async def work(session: AsyncSession) -> list[tuple[Key, Cell | None, str]]:
            return [
                (Key(values, q.sort), cell, uuid)
                for uuid, values in await queries.page_keys(session, q)
            ]

        result: list[tuple[Key, Cell | None, str]] = await self._core.in_cell(
            cell, work, self._core.list_timeout
        )
        return result

    async def _records(self, cell: Cell, uuids: list[str]) -> dict[str, router_pb2.Instance]:
        async def work(session: AsyncSession) -> dict[str, router_pb2.Instance]:
            found = await loader.load(session, uuids)
            return {u: convert.record_instance(r, cell) for u, r in found.items()}

        result: dict[str, router_pb2.Instance] = await self._core.in_cell(
            cell, work, self._core.list_timeout
        )
        return result

    async def _pending_page(self, q: ListQuery) -> list[tuple[Key, router_pb2.Instance]]:
        if "deleted" in q.filters and queries._bool(q.filters["deleted"]):
            return []
        builds = await asyncio.wait_for(
            self._core.api.build_requests(q.filters.get("project_id", "")),
            self._core.list_timeout,
        )
        out = []
        matcher = _PendingMatcher(q)
        start = Key(q.after, q.sort) if q.after is not None else None
        for build in builds:
            inst = _pending(build)
            if not matcher(inst):
                continue
            key = Key([message_value(inst, s.key) for s in q.sort], q.sort)
            if start is not None and not start < key:
                continue
            out.append((key, inst))
        out.sort(key=lambda item: item[0])
        return out[: q.limit] if q.limit > 0 else out

    async def _marker_values(self, marker: str, sort: Sequence[SortSpec]) -> tuple[Any, ...]:
        mapping = await self._core.api.mapping(marker)
        if mapping is not None and mapping.cell_id is None:
            pending = await self._core.api.build_request(marker)
            if pending is not None:
                inst = _pending(pending)
                return tuple(message_value(inst, s.key) for s in sort)
            mapping = await self._core.api.mapping(marker)
        if mapping is None or mapping.cell_id is None:
            raise BadQuery(f"marker [{marker}] not found")
        cell = await self._core.cell(mapping.cell_id)

        async def work(session: AsyncSession) -> tuple[Any, ...] | None:
            row = await inst_db.get_plain(session, marker)
            return queries.sort_values(row, sort) if row is not None else None

        try:
            values = await self._core.in_cell(cell, work, self._core.list_timeout)
        except Exception as exc:
            raise Unavailable(f"The cell of marker {marker} does not answer.") from exc
        if values is None:
            raise BadQuery(f"marker [{marker}] not found")
        result: tuple[Any, ...] = values
        return result


def _pending(build: PendingBuild) -> router_pb2.Instance:
    return convert.pending_instance(build.instance, build.tags, build.created_at)


class _PendingMatcher:
    """The list filters, applied in Python to build requests (instances with no cell yet)."""

    def __init__(self, q: ListQuery) -> None:
        self._q = q
        self._regex = re.compile(q.name_regex) if q.name_regex else None

    def __call__(self, inst: router_pb2.Instance) -> bool:
        q = self._q
        for key, value in q.filters.items():
            if key == "deleted":
                continue
            if key == "uuid":
                if inst.uuid not in {v.strip() for v in value.split(",")}:
                    return False
                continue
            if key in ("tags", "tags-any", "not-tags", "not-tags-any"):
                wanted = {t.strip() for t in value.split(",") if t.strip()}
                have = set(inst.tags)
                ok = {
                    "tags": wanted <= have,
                    "tags-any": bool(wanted & have),
                    "not-tags": not wanted <= have,
                    "not-tags-any": not wanted & have,
                }[key]
                if not ok:
                    return False
                continue
            _, parse = queries.FILTER_COLUMNS[key]
            current = message_value(inst, _FILTER_ATTR.get(key, key))
            if current is None or current != parse(value):
                return False
        if self._regex is not None and not self._regex.search(inst.name):
            return False
        if q.vm_states and inst.vm_state not in q.vm_states:
            return False
        if q.task_states and inst.task_state not in q.task_states:
            return False
        changed = message_value(inst, "updated_at") or message_value(inst, "created_at")
        if q.changes_since is not None and (changed is None or changed < _naive(q.changes_since)):
            return False
        return not (
            q.changes_before is not None and (changed is None or changed > _naive(q.changes_before))
        )


def _naive(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
