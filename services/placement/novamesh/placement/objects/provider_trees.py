"""Many providers in one transaction: create or update each, then replace its inventories,
traits and aggregates. What an agent reports for its whole host, and how benches load."""

from __future__ import annotations

from dataclasses import dataclass, field

from novamesh.placement import errors
from novamesh.placement.objects import aggregates, inventories, traits
from novamesh.placement.objects.common import (
    AGG,
    INV,
    RC,
    RP,
    RPA,
    RPT,
    TRAIT,
    rc_ids,
    require_provider,
    trait_ids,
)
from novamesh.placement.objects.inventories import InventorySpec
from novamesh.placement.objects.store import Store, Writer
from sqlalchemy import bindparam, insert, select, update


@dataclass
class ProviderState:
    uuid: str
    name: str
    parent_uuid: str | None = None
    inventories: dict[str, InventorySpec] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)
    aggregates: list[str] = field(default_factory=list)


async def _ensure_custom(w: Writer, states: list[ProviderState]) -> None:
    """Create the custom traits and resource classes the states name."""
    for table, names in (
        (TRAIT, {t for s in states for t in s.traits if t.startswith("CUSTOM_")}),
        (RC, {rc for s in states for rc in s.inventories if rc.startswith("CUSTOM_")}),
    ):
        if not names:
            continue
        have = set(
            (await w.conn.execute(select(table.c.name).where(table.c.name.in_(names)))).scalars()
        )
        missing = sorted(names - have)
        if missing:
            await w.conn.execute(insert(table), [{"name": n} for n in missing])


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _ids(w: Writer, uuids: list[str]) -> dict[str, tuple[int, int | None]]:
    """uuid -> (id, root id) of the providers that exist."""
    out: dict[str, tuple[int, int | None]] = {}
    for chunk in _chunks(uuids):
        q = select(RP.c.uuid, RP.c.id, RP.c.root_provider_id).where(RP.c.uuid.in_(chunk))
        for r in await w.conn.execute(q):
            out[r[0]] = (r[1], r[2])
    return out


async def _create_many(w: Writer, states: list[ProviderState]) -> None:
    """Insert new providers with everything they carry in a few statements per tree level
    (one at a time costs a dozen statements per provider)."""
    names = [s.name for s in states]
    if len(set(names)) != len(names) or len({s.uuid for s in states}) != len(states):
        raise errors.conflict(
            "Conflicting resource providers in the request.", errors.DUPLICATE_NAME
        )
    for chunk in _chunks(names):
        taken = (await w.conn.execute(select(RP.c.name).where(RP.c.name.in_(chunk)))).first()
        if taken is not None:
            raise errors.conflict(
                f"Conflicting resource provider name: {taken[0]} already exists.",
                errors.DUPLICATE_NAME,
            )
    parents = sorted({s.parent_uuid for s in states if s.parent_uuid})
    placed = await _ids(w, parents)
    pending = list(states)
    while pending:
        level = [s for s in pending if not s.parent_uuid or s.parent_uuid in placed]
        if not level:
            missing = pending[0]
            raise errors.invalid(
                f'Unable to create resource provider "{missing.name}", {missing.uuid}: Object '
                "action create failed because: parent provider UUID does not exist."
            )
        rows = []
        for s in level:
            parent = placed[s.parent_uuid] if s.parent_uuid else None
            rows.append(
                {
                    "uuid": s.uuid,
                    "name": s.name,
                    "generation": 1,
                    "parent_provider_id": parent[0] if parent else None,
                    "root_provider_id": parent[1] if parent else None,
                    "revision": w.seq,
                }
            )
        await w.conn.execute(insert(RP), rows)
        got = await _ids(w, [s.uuid for s in level])
        roots = [{"rid": got[s.uuid][0]} for s in level if not s.parent_uuid]
        if roots:
            await w.conn.execute(
                update(RP)
                .where(RP.c.id == bindparam("rid"))
                .values(root_provider_id=bindparam("rid")),
                roots,
            )
        for s in level:
            rid, root = got[s.uuid]
            placed[s.uuid] = (rid, root if root is not None else rid)
        done = {s.uuid for s in level}
        pending = [s for s in pending if s.uuid not in done]
    rcs = await rc_ids(w.conn, {rc for s in states for rc in s.inventories})
    inv_rows = [
        {"resource_provider_id": placed[s.uuid][0], "resource_class_id": rcs[rc], **spec.as_row()}
        for s in states
        for rc, spec in s.inventories.items()
    ]
    if inv_rows:
        await w.conn.execute(insert(INV), inv_rows)
    tids = await trait_ids(w.conn, {t for s in states for t in s.traits})
    trait_rows = [
        {"resource_provider_id": placed[s.uuid][0], "trait_id": tids[t]}
        for s in states
        for t in sorted(set(s.traits))
    ]
    if trait_rows:
        await w.conn.execute(insert(RPT), trait_rows)
    aggs = sorted({a for s in states for a in s.aggregates})
    agg_ids: dict[str, int] = {}
    for chunk in _chunks(aggs):
        q = select(AGG.c.uuid, AGG.c.id).where(AGG.c.uuid.in_(chunk))
        agg_ids.update({r[0]: r[1] for r in await w.conn.execute(q)})
    new_aggs = [a for a in aggs if a not in agg_ids]
    if new_aggs:
        await w.conn.execute(insert(AGG), [{"uuid": a} for a in new_aggs])
        for chunk in _chunks(new_aggs):
            q = select(AGG.c.uuid, AGG.c.id).where(AGG.c.uuid.in_(chunk))
            agg_ids.update({r[0]: r[1] for r in await w.conn.execute(q)})
    agg_rows = [
        {"resource_provider_id": placed[s.uuid][0], "aggregate_id": agg_ids[a]}
        for s in states
        for a in sorted(set(s.aggregates))
    ]
    if agg_rows:
        await w.conn.execute(insert(RPA), agg_rows)
    w.touch(*(placed[s.uuid][0] for s in states))


async def put(store: Store, states: list[ProviderState]) -> dict[str, int]:
    """Apply every state, all or nothing; returns each provider's generation afterwards."""
    for s in states:
        bad = inventories.check_capacity(s.uuid, s.inventories, True)
        if bad:
            raise errors.invalid(bad)
    async with store.write() as w:
        await _ensure_custom(w, states)
        uuids = [s.uuid for s in states]
        known = {
            r[0]: r
            for chunk in _chunks(uuids)
            for r in await w.conn.execute(
                select(RP.c.uuid, RP.c.id, RP.c.name, RP.c.parent_provider_id).where(
                    RP.c.uuid.in_(chunk)
                )
            )
        }
        await _create_many(w, [s for s in states if s.uuid not in known])
        for s in states:
            row = known.get(s.uuid)
            if row is None:
                continue
            parent_id = None
            if s.parent_uuid:
                parent_id = (await require_provider(w.conn, s.parent_uuid)).id
            if parent_id != row.parent_provider_id:
                raise errors.invalid(
                    f"Resource provider {s.uuid} already exists under another parent; "
                    "reparent it with PUT /resource_providers/{uuid} first."
                )
            if row.name != s.name:
                await w.conn.execute(update(RP).where(RP.c.id == row.id).values(name=s.name))
            await inventories.replace_all_in(w, s.uuid, None, s.inventories)
            await traits.set_for_provider_in(w, s.uuid, None, s.traits)
            await aggregates.set_for_provider_in(w, s.uuid, None, s.aggregates)
        return {
            r[0]: int(r[1])
            for chunk in _chunks(uuids)
            for r in await w.conn.execute(
                select(RP.c.uuid, RP.c.generation).where(RP.c.uuid.in_(chunk))
            )
        }
