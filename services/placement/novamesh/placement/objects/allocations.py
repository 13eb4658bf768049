"""Consumers and their allocations: generation-checked, capacity-checked, all-or-nothing.

Every write runs inside `Store.write()`, which serialises writers; the capacity check reads
usage inside that transaction, after the consumer's old allocations are gone and the new ones
are in, so two claims on the last unit can never both pass.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from novamesh.placement import errors
from novamesh.placement.objects.common import ALLOC, CONSUMER, INV, RC, RP, bump_generation
from novamesh.placement.objects.store import Store, Writer
from sqlalchemy import delete, func, insert, select, update

INCOMPLETE_PROJECT = "00000000-0000-0000-0000-000000000000"
INCOMPLETE_USER = "00000000-0000-0000-0000-000000000000"


class Unchecked:
    """Marker: the caller predates consumer generations (< 1.28); don't check."""


UNCHECKED = Unchecked()


@dataclass
class ConsumerWrite:
    uuid: str
    # provider uuid -> resource class -> amount. Empty: remove all of the consumer's allocations.
    allocations: dict[str, dict[str, int]]
    project_id: str | None = None
    user_id: str | None = None
    # None: the caller expects a new consumer.
    generation: int | Unchecked | None = UNCHECKED
    consumer_type: str | None = None


@dataclass
class ConsumerView:
    uuid: str
    project_id: str | None
    user_id: str | None
    generation: int | None
    consumer_type: str | None
    # provider uuid -> (provider generation, {rc: used})
    allocations: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)
    last_modified: dt.datetime | None = None


def _capacity_error(rc: str, rp_uuid: str, what: str) -> errors.PlacementError:
    return errors.conflict(
        f"Unable to allocate inventory: Unable to create allocation for '{rc}' on resource "
        f"provider '{rp_uuid}'. The requested amount would {what}."
    )


async def _usage(w: Writer, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    if not pairs:
        return {}
    rp_ids = sorted({p for p, _ in pairs})
    rows = await w.conn.execute(
        select(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id, func.sum(ALLOC.c.used))
        .where(ALLOC.c.resource_provider_id.in_(rp_ids))
        .group_by(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id)
    )
    return {(r[0], r[1]): int(r[2] or 0) for r in rows if (r[0], r[1]) in pairs}


async def replace(store: Store, writes: list[ConsumerWrite]) -> dict[str, int]:
    """Write the allocations of one or more consumers atomically.

    Returns each surviving consumer's new generation (consumers left without allocations are
    deleted and absent from the result).
    """
    async with store.write() as w:
        return await replace_in(w, writes)


async def replace_in(w: Writer, writes: list[ConsumerWrite]) -> dict[str, int]:
    conn = w.conn
    rp_uuids = sorted({rp for cw in writes for rp in cw.allocations})
    rps: dict[str, Any] = {}
    if rp_uuids:
        rps = {
            r.uuid: r
            for r in await conn.execute(
                select(RP.c.id, RP.c.uuid, RP.c.generation).where(RP.c.uuid.in_(rp_uuids))
            )
        }
    for rp_uuid in rp_uuids:
        if rp_uuid not in rps:
            raise errors.invalid(
                f"Allocation for resource provider '{rp_uuid}' that does not exist."
            )
    rc_names = sorted({rc for cw in writes for res in cw.allocations.values() for rc in res})
    rcs: dict[str, int] = {}
    if rc_names:
        rcs = {
            r[0]: r[1]
            for r in await conn.execute(select(RC.c.name, RC.c.id).where(RC.c.name.in_(rc_names)))
        }
    for rc in rc_names:
        if rc not in rcs:
            first = writes[0].uuid
            raise errors.invalid(
                f"Unable to allocate inventory for consumer {first}: No such resource class {rc}."
            )
    result: dict[str, int] = {}
    new_pairs = {
        (int(rps[rp_uuid].id), rcs[rc])
        for cw in writes
        for rp_uuid, res in cw.allocations.items()
        for rc, amount in res.items()
        if amount > 0
    }
    # Usage before this write, for upstream's rule that an allocation reducing an existing
    # overage is accepted.
    before = await _usage(w, new_pairs)
    emptied: set[int] = set()
    for cw in writes:
        existing = (await conn.execute(select(CONSUMER).where(CONSUMER.c.uuid == cw.uuid))).first()
        if not isinstance(cw.generation, Unchecked):
            if existing is not None and existing.generation != cw.generation:
                raise errors.conflict(
                    f"consumer generation conflict - expected {existing.generation} "
                    f"but got {_show(cw.generation)}",
                    errors.CONCURRENT_UPDATE,
                )
            if existing is None and cw.generation is not None:
                raise errors.conflict(
                    f"consumer generation conflict - expected null but got {cw.generation}",
                    errors.CONCURRENT_UPDATE,
                )
        old = await conn.execute(
            select(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id).where(
                ALLOC.c.consumer_id == cw.uuid
            )
        )
        old_rps = {int(r[0]) for r in old}
        w.touch(*old_rps)
        await conn.execute(delete(ALLOC).where(ALLOC.c.consumer_id == cw.uuid))
        rows = [
            {
                "resource_provider_id": rps[rp_uuid].id,
                "consumer_id": cw.uuid,
                "resource_class_id": rcs[rc],
                "used": amount,
            }
            for rp_uuid, res in cw.allocations.items()
            for rc, amount in res.items()
            if amount > 0
        ]
        if not rows:
            # Upstream writes an emptied consumer as zero allocations on its providers, which
            # moves their generations on as any allocation change does.
            emptied |= old_rps
            if existing is not None:
                await conn.execute(delete(CONSUMER).where(CONSUMER.c.id == existing.id))
            continue
        project = cw.project_id or (existing.project_id if existing else INCOMPLETE_PROJECT)
        user = cw.user_id or (existing.user_id if existing else INCOMPLETE_USER)
        ctype = cw.consumer_type or (existing.consumer_type if existing else None)
        if existing is None:
            await conn.execute(
                insert(CONSUMER).values(
                    uuid=cw.uuid,
                    project_id=project,
                    user_id=user,
                    generation=1,
                    consumer_type=ctype,
                )
            )
            result[cw.uuid] = 1
        else:
            await conn.execute(
                update(CONSUMER)
                .where(CONSUMER.c.id == existing.id)
                .values(
                    project_id=project,
                    user_id=user,
                    consumer_type=ctype,
                    generation=CONSUMER.c.generation + 1,
                )
            )
            result[cw.uuid] = existing.generation + 1
    for cw in writes:
        rows = [
            {
                "resource_provider_id": rps[rp_uuid].id,
                "consumer_id": cw.uuid,
                "resource_class_id": rcs[rc],
                "used": amount,
            }
            for rp_uuid, res in cw.allocations.items()
            for rc, amount in res.items()
            if amount > 0
        ]
        if rows:
            await conn.execute(insert(ALLOC), rows)
    await _check_capacity(w, new_pairs, before, rps, rcs, writes)
    bumped = set()
    for rp_uuid in sorted({rp for cw in writes for rp, res in cw.allocations.items() if res}):
        await bump_generation(w, rps[rp_uuid].id, None)
        bumped.add(int(rps[rp_uuid].id))
    for rp_id in sorted(emptied - bumped):
        await bump_generation(w, rp_id, None)
    return result


def _show(gen: int | None) -> str:
    return "None" if gen is None else str(gen)


async def _check_capacity(
    w: Writer,
    pairs: set[tuple[int, int]],
    before: dict[tuple[int, int], int],
    rps: dict[str, Any],
    rcs: dict[str, int],
    writes: list[ConsumerWrite],
) -> None:
    if not pairs:
        return
    uuid_by_id = {r.id: u for u, r in rps.items()}
    name_by_id = {v: k for k, v in rcs.items()}
    rp_ids = sorted({p for p, _ in pairs})
    invs = {
        (r.resource_provider_id, r.resource_class_id): r
        for r in await w.conn.execute(select(INV).where(INV.c.resource_provider_id.in_(rp_ids)))
    }
    after = await _usage(w, pairs)
    for cw in writes:
        for rp_uuid, res in cw.allocations.items():
            for rc, amount in res.items():
                if amount <= 0:
                    continue
                key = (rps[rp_uuid].id, rcs[rc])
                inv = invs.get(key)
                if inv is None:
                    raise errors.conflict(
                        f"Unable to allocate inventory: Inventory for '{rc}' on resource "
                        f"provider '{rp_uuid}' invalid."
                    )
                if amount < inv.min_unit or amount > inv.max_unit or amount % inv.step_size != 0:
                    raise _capacity_error(rc, rp_uuid, "violate inventory constraints")
    for key in sorted(pairs):
        inv = invs.get(key)
        if inv is None:
            continue
        capacity = (inv.total - inv.reserved) * inv.allocation_ratio
        used = after.get(key, 0)
        if used > capacity and used > before.get(key, 0):
            raise _capacity_error(name_by_id[key[1]], uuid_by_id[key[0]], "exceed the capacity")


async def get_consumer(store: Store, consumer_uuid: str) -> ConsumerView | None:
    async with store.read() as conn:
        c = (await conn.execute(select(CONSUMER).where(CONSUMER.c.uuid == consumer_uuid))).first()
        rows = await conn.execute(
            select(
                RP.c.uuid,
                RP.c.generation,
                RC.c.name,
                ALLOC.c.used,
                ALLOC.c.created_at,
                ALLOC.c.updated_at,
            )
            .select_from(
                ALLOC.join(RP, RP.c.id == ALLOC.c.resource_provider_id).join(
                    RC, RC.c.id == ALLOC.c.resource_class_id
                )
            )
            .where(ALLOC.c.consumer_id == consumer_uuid)
        )
        view = ConsumerView(
            uuid=consumer_uuid,
            project_id=c.project_id if c else None,
            user_id=c.user_id if c else None,
            generation=c.generation if c else None,
            consumer_type=c.consumer_type if c else None,
        )
        for r in rows:
            _gen, res = view.allocations.setdefault(r[0], (r[1], {}))
            res[r[2]] = res.get(r[2], 0) + int(r[3])
            stamp = r[5] or r[4]
            if stamp is not None and (view.last_modified is None or stamp > view.last_modified):
                view.last_modified = stamp
        if c is None and not view.allocations:
            return None
        return view


async def for_provider(
    store: Store, rp_id: int
) -> tuple[dict[str, dict[str, int]], dt.datetime | None]:
    async with store.read() as conn:
        rows = await conn.execute(
            select(
                ALLOC.c.consumer_id, RC.c.name, ALLOC.c.used, ALLOC.c.created_at, ALLOC.c.updated_at
            )
            .select_from(ALLOC.join(RC, RC.c.id == ALLOC.c.resource_class_id))
            .where(ALLOC.c.resource_provider_id == rp_id)
        )
        out: dict[str, dict[str, int]] = defaultdict(dict)
        last: dt.datetime | None = None
        for r in rows:
            out[r[0]][r[1]] = out[r[0]].get(r[1], 0) + int(r[2])
            stamp = r[4] or r[3]
            if stamp is not None and (last is None or stamp > last):
                last = stamp
        return dict(out), last


async def delete_consumer(store: Store, consumer_uuid: str) -> bool:
    """Remove every allocation of a consumer; False when it had none."""
    async with store.write() as w:
        old = await w.conn.execute(
            select(ALLOC.c.resource_provider_id).where(ALLOC.c.consumer_id == consumer_uuid)
        )
        touched = {r[0] for r in old}
        await w.conn.execute(delete(ALLOC).where(ALLOC.c.consumer_id == consumer_uuid))
        await w.conn.execute(delete(CONSUMER).where(CONSUMER.c.uuid == consumer_uuid))
        w.touch(*touched)
        return bool(touched)


async def usages_for_project(
    store: Store, project_id: str, user_id: str | None, consumer_type: str | None
) -> dict[str, dict[str, int]]:
    """consumer type -> {rc: used, "consumer_count": n}; type None is reported "unknown"."""
    q = (
        select(CONSUMER.c.consumer_type, RC.c.name, func.sum(ALLOC.c.used))
        .select_from(
            ALLOC.join(CONSUMER, CONSUMER.c.uuid == ALLOC.c.consumer_id).join(
                RC, RC.c.id == ALLOC.c.resource_class_id
            )
        )
        .where(CONSUMER.c.project_id == project_id)
        .group_by(CONSUMER.c.consumer_type, RC.c.name)
    )
    qc = (
        select(CONSUMER.c.consumer_type, func.count(func.distinct(CONSUMER.c.id)))
        .select_from(CONSUMER.join(ALLOC, ALLOC.c.consumer_id == CONSUMER.c.uuid))
        .where(CONSUMER.c.project_id == project_id)
        .group_by(CONSUMER.c.consumer_type)
    )
    if user_id is not None:
        q = q.where(CONSUMER.c.user_id == user_id)
        qc = qc.where(CONSUMER.c.user_id == user_id)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    async with store.read() as conn:
        for r in await conn.execute(q):
            out[r[0] or "unknown"][r[1]] = int(r[2] or 0)
        for r in await conn.execute(qc):
            out[r[0] or "unknown"]["consumer_count"] = int(r[1])
    if consumer_type is not None:
        if consumer_type == "all":
            total: dict[str, int] = defaultdict(int)
            for per in out.values():
                for k, v in per.items():
                    total[k] += v
            return {"all": dict(total)} if total else {}
        if consumer_type == "unknown":
            return {k: v for k, v in out.items() if k == "unknown"}
        return {k: v for k, v in out.items() if k == consumer_type}
    return dict(out)
