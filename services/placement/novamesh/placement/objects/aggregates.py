"""Aggregate membership of providers."""

from __future__ import annotations

from novamesh.placement.objects.common import AGG, RPA, bump_generation, require_provider
from novamesh.placement.objects.store import Store, Writer
from sqlalchemy import delete, insert, select


async def set_for_provider(
    store: Store,
    rp_uuid: str,
    generation: int | None,
    aggregates: list[str],
    increment: bool = True,
) -> int:
    """Replace a provider's aggregates; returns its generation afterwards."""
    async with store.write() as w:
        return await set_for_provider_in(w, rp_uuid, generation, aggregates, increment)


async def set_for_provider_in(
    w: Writer,
    rp_uuid: str,
    generation: int | None,
    aggregates: list[str],
    increment: bool = True,
) -> int:
    row = await require_provider(w.conn, rp_uuid)
    gen = await bump_generation(w, row.id, generation) if increment else row.generation
    w.touch(row.id)
    wanted = sorted(set(aggregates))
    ids: dict[str, int] = {}
    if wanted:
        found = await w.conn.execute(select(AGG.c.uuid, AGG.c.id).where(AGG.c.uuid.in_(wanted)))
        ids = {r[0]: r[1] for r in found}
        for agg in wanted:
            if agg not in ids:
                res = await w.conn.execute(insert(AGG).values(uuid=agg))
                pk = res.inserted_primary_key
                assert pk is not None
                ids[agg] = int(pk[0])
    current = set(
        (
            await w.conn.execute(
                select(RPA.c.aggregate_id).where(RPA.c.resource_provider_id == row.id)
            )
        ).scalars()
    )
    target = set(ids.values())
    if current - target:
        await w.conn.execute(
            delete(RPA).where(
                RPA.c.resource_provider_id == row.id,
                RPA.c.aggregate_id.in_(sorted(current - target)),
            )
        )
    if target - current:
        await w.conn.execute(
            insert(RPA),
            [{"resource_provider_id": row.id, "aggregate_id": a} for a in sorted(target - current)],
        )
    return int(gen)
