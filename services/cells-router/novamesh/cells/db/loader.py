"""Whole instance records for a set of uuids, read with plain SQL (no ORM objects).

A list page reads up to a thousand instances with their children; building ORM objects and
relationship collections for them costs more than the queries. One query per table, keyed by
uuid, and plain rows are what a page needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from novamesh.cells.db import models
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Record:
    row: RowMapping
    extra: RowMapping | None = None
    network_info: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    system_metadata: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    fault: RowMapping | None = None
    # Volume block device mappings (what a server shows as volumes_attached), in order.
    volumes: list[RowMapping] = field(default_factory=list)


async def load(session: AsyncSession, uuids: Sequence[str]) -> dict[str, Record]:
    """uuid -> record, for those of `uuids` that exist (deleted or not)."""
    if not uuids:
        return {}
    wanted = list(uuids)
    inst = models.Instance.__table__
    found = {
        r["uuid"]: Record(r)
        for r in (await session.execute(select(inst).where(inst.c.uuid.in_(wanted)))).mappings()
    }
    if not found:
        return found
    keys = list(found)

    extra = models.InstanceExtra.__table__
    for r in (
        await session.execute(select(extra).where(extra.c.instance_uuid.in_(keys)))
    ).mappings():
        found[r["instance_uuid"]].extra = r
    cache = models.InstanceInfoCache.__table__
    query = select(cache.c.instance_uuid, cache.c.network_info).where(
        cache.c.instance_uuid.in_(keys)
    )
    for uuid, info in await session.execute(query):
        found[uuid].network_info = list(info or [])
    for table, attr in (
        (models.InstanceMetadata.__table__, "metadata"),
        (models.InstanceSystemMetadata.__table__, "system_metadata"),
    ):
        query = select(table.c.instance_uuid, table.c.key, table.c.value).where(
            table.c.instance_uuid.in_(keys)
        )
        for row in await session.execute(query):
            getattr(found[row[0]], attr)[row[1]] = row[2]
    tags: dict[str, list[str]] = defaultdict(list)
    tag = models.Tag.__table__
    for uuid, name in await session.execute(
        select(tag.c.instance_uuid, tag.c.tag).where(tag.c.instance_uuid.in_(keys))
    ):
        tags[uuid].append(name)
    for uuid, names in tags.items():
        found[uuid].tags = sorted(names)
    fault = models.InstanceFault.__table__
    query = select(fault).where(fault.c.instance_uuid.in_(keys)).order_by(fault.c.id.desc())
    for r in (await session.execute(query)).mappings():
        record = found[r["instance_uuid"]]
        if record.fault is None:
            record.fault = r
    bdm = models.BlockDeviceMapping.__table__
    query = (
        select(bdm)
        .where(
            bdm.c.instance_uuid.in_(keys),
            bdm.c.destination_type == "volume",
            bdm.c.deleted.is_(False),
        )
        .order_by(bdm.c.id)
    )
    for r in (await session.execute(query)).mappings():
        found[r["instance_uuid"]].volumes.append(r)
    return found
