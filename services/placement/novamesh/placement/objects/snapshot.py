"""An immutable in-memory view of every resource provider, for fast reads.

Allocation candidates, provider listings and usages are computed from this view rather than
with SQL joins: at thousands of providers that is what keeps GET /allocation_candidates in
milliseconds. A refresh reloads only providers whose `revision` changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from novamesh.placement.db import models
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

RP = cast(Table, models.ResourceProvider.__table__)
INV = cast(Table, models.Inventory.__table__)
RC = cast(Table, models.ResourceClass.__table__)
ALLOC = cast(Table, models.Allocation.__table__)
TRAIT = cast(Table, models.Trait.__table__)
RPT = cast(Table, models.ResourceProviderTrait.__table__)
AGG = cast(Table, models.PlacementAggregate.__table__)
RPA = cast(Table, models.ResourceProviderAggregate.__table__)

SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"


@dataclass(frozen=True)
class Inv:
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)


@dataclass
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    parent_id: int | None
    root_id: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    revision: int
    inventories: dict[str, Inv] = field(default_factory=dict)
    usages: dict[str, int] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    # Renderings of this provider version, by whoever renders it (see their users).
    memo: dict[object, str] = field(default_factory=dict, compare=False, repr=False)

    def free(self, rc: str) -> int:
        inv = self.inventories.get(rc)
        if inv is None:
            return 0
        return inv.capacity - self.usages.get(rc, 0)

    def can_take(self, rc: str, amount: int) -> bool:
        inv = self.inventories.get(rc)
        if inv is None:
            return False
        return (
            inv.min_unit <= amount <= inv.max_unit
            and amount % inv.step_size == 0
            and self.usages.get(rc, 0) + amount <= inv.capacity
        )


class Snapshot:
    def __init__(self, seq: int, providers: dict[int, Provider]) -> None:
        self.seq = seq
        self.by_id = providers
        self.by_uuid = {p.uuid: p for p in providers.values()}
        self.children: dict[int, list[int]] = defaultdict(list)
        self.by_rc: dict[str, list[Provider]] = defaultdict(list)
        self.sharing: list[Provider] = []
        self.agg_members: dict[str, set[int]] = defaultdict(set)
        for p in sorted(providers.values(), key=lambda p: p.id):
            if p.parent_id is not None:
                self.children[p.parent_id].append(p.id)
            for rc in p.inventories:
                self.by_rc[rc].append(p)
            if SHARING_TRAIT in p.traits:
                self.sharing.append(p)
            for agg in p.aggregates:
                self.agg_members[agg].add(p.id)
        self.has_trees = any(p.parent_id is not None for p in providers.values())
        # Answers computed from this snapshot, by whoever computes them (see its users).
        self.memo: dict[object, Any] = {}

    @classmethod
    def empty(cls) -> Snapshot:
        return cls(-1, {})

    def root(self, p: Provider) -> Provider:
        return self.by_id[p.root_id]

    def parent_uuid(self, p: Provider) -> str | None:
        return self.by_id[p.parent_id].uuid if p.parent_id is not None else None

    def tree(self, root_id: int) -> list[Provider]:
        """Every provider of the tree under `root_id`, parents before children."""
        out: list[Provider] = []
        stack = [root_id]
        while stack:
            pid = stack.pop()
            if pid in self.by_id:
                out.append(self.by_id[pid])
                stack.extend(reversed(self.children.get(pid, [])))
        return out

    def descendants(self, pid: int) -> set[int]:
        return {p.id for p in self.tree(pid)}

    def ancestors(self, p: Provider) -> list[Provider]:
        """`p` and its ancestors up to the root."""
        out = [p]
        while out[-1].parent_id is not None:
            out.append(self.by_id[out[-1].parent_id])
        return out


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


async def _details(conn: AsyncConnection, ids: list[int] | None) -> dict[int, dict[str, Any]]:
    """Inventories, usages, traits and aggregates of `ids` (None: of every provider)."""
    out: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"inv": {}, "use": {}, "traits": set(), "aggs": set()}
    )
    batches: Iterable[list[int] | None] = [None] if ids is None else _chunks(ids)
    for batch in batches:
        q_inv = select(
            INV.c.resource_provider_id,
            RC.c.name,
            INV.c.total,
            INV.c.reserved,
            INV.c.min_unit,
            INV.c.max_unit,
            INV.c.step_size,
            INV.c.allocation_ratio,
            INV.c.created_at,
            INV.c.updated_at,
        ).join(RC, RC.c.id == INV.c.resource_class_id)
        q_use = (
            select(ALLOC.c.resource_provider_id, RC.c.name, func.sum(ALLOC.c.used))
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .group_by(ALLOC.c.resource_provider_id, RC.c.name)
        )
        q_tr = select(RPT.c.resource_provider_id, TRAIT.c.name).join(
            TRAIT, TRAIT.c.id == RPT.c.trait_id
        )
        q_ag = select(RPA.c.resource_provider_id, AGG.c.uuid).join(
            AGG, AGG.c.id == RPA.c.aggregate_id
        )
        if batch is not None:
            q_inv = q_inv.where(INV.c.resource_provider_id.in_(batch))
            q_use = q_use.where(ALLOC.c.resource_provider_id.in_(batch))
            q_tr = q_tr.where(RPT.c.resource_provider_id.in_(batch))
            q_ag = q_ag.where(RPA.c.resource_provider_id.in_(batch))
        for r in await conn.execute(q_inv):
            out[r[0]]["inv"][r[1]] = Inv(
                total=r[2],
                reserved=r[3],
                min_unit=r[4],
                max_unit=r[5],
                step_size=r[6],
                allocation_ratio=r[7],
                created_at=r[8],
                updated_at=r[9],
            )
        for u in await conn.execute(q_use):
            out[u[0]]["use"][u[1]] = int(u[2] or 0)
        for t in await conn.execute(q_tr):
            out[t[0]]["traits"].add(t[1])
        for a in await conn.execute(q_ag):
            out[a[0]]["aggs"].add(a[1])
    return out


_RP_COLS = (
    RP.c.id,
    RP.c.uuid,
    RP.c.name,
    RP.c.generation,
    RP.c.parent_provider_id,
    RP.c.root_provider_id,
    RP.c.created_at,
    RP.c.updated_at,
    RP.c.revision,
)


async def refresh(conn: AsyncConnection, old: Snapshot, seq: int) -> Snapshot:
    """A snapshot at `seq` built from `old` plus whatever changed since `old.seq`.

    Writers are serialised and stamp touched providers with their own seq, so the rows with
    `revision > old.seq` are exactly what changed; deletions show up as a count mismatch.
    """
    full = old.seq < 0
    q = select(*_RP_COLS)
    if not full:
        q = q.where(RP.c.revision > old.seq)
    rows = (await conn.execute(q)).all()
    changed = [r[0] for r in rows]
    details = await _details(conn, None if full else changed) if rows else {}
    providers: dict[int, Provider] = {} if full else dict(old.by_id)
    for r in rows:
        p = Provider(
            id=r[0],
            uuid=r[1],
            name=r[2],
            generation=r[3],
            parent_id=r[4],
            root_id=r[5] if r[5] is not None else r[0],
            created_at=r[6],
            updated_at=r[7],
            revision=r[8],
        )
        d = details.get(r[0])
        if d is not None:
            p.inventories = d["inv"]
            p.usages = d["use"]
            p.traits = frozenset(d["traits"])
            p.aggregates = frozenset(d["aggs"])
        providers[p.id] = p
    if not full:
        count = (await conn.execute(select(func.count()).select_from(RP))).scalar_one()
        if count != len(providers):
            alive = set((await conn.execute(select(RP.c.id))).scalars())
            providers = {k: v for k, v in providers.items() if k in alive}
    return Snapshot(seq, providers)
