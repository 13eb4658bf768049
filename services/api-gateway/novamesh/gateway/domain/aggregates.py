"""Host aggregates (os-aggregates) and the availability zones they define.

An `availability_zone` metadata key makes an aggregate a zone; a host is in at most one zone.
The scheduler reads these tables (every few seconds) and mirrors each host's aggregates onto
its compute node's resource provider in placement, so nothing here talks to placement.

DB round trips: one transaction per request (plus one query for the host check of add_host).
"""

from __future__ import annotations

import uuid as uuidlib

from novamesh.common.apidb import models
from novamesh.common.db import transaction, utcnow
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Conflict, NotFound
from novamesh.gateway.domain.deps import Deps
from sqlalchemy import asc, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

AZ_KEY = "availability_zone"

for _name in ("index", "create", "show", "update", "delete", "add_host", "remove_host",
              "set_metadata", "images"):  # fmt: skip
    policy.register(f"os_compute_api:os-aggregates:{_name}", "rule:admin_api", "Host aggregates")


def not_found(agg_id: str | int) -> NotFound:
    return NotFound(f"Aggregate {agg_id} could not be found.")


def metadata_of(agg: models.Aggregate) -> dict[str, str]:
    return {m.key: m.value for m in agg.metadata_items}


def zone_of(agg: models.Aggregate) -> str | None:
    return metadata_of(agg).get(AZ_KEY)


async def _get(session: AsyncSession, agg_id: str) -> models.Aggregate:
    try:
        number = int(agg_id)
    except ValueError:
        raise not_found(agg_id) from None
    agg = await session.scalar(select(models.Aggregate).where(models.Aggregate.id == number))
    if agg is None:
        raise not_found(agg_id)
    return agg


async def list_aggregates(deps: Deps, who: Identity) -> list[models.Aggregate]:
    policy.authorize(who, "os_compute_api:os-aggregates:index")
    async with deps.sessions() as session:
        return list(
            (await session.scalars(select(models.Aggregate).order_by(asc(models.Aggregate.id))))
            .unique()
            .all()
        )


async def get(deps: Deps, who: Identity, agg_id: str) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:show")
    async with deps.sessions() as session:
        return await _get(session, agg_id)


async def create(deps: Deps, who: Identity, name: str, zone: str | None) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:create")
    agg = models.Aggregate(uuid=str(uuidlib.uuid4()), name=name, hosts=[], metadata_items=[])
    if zone:
        agg.metadata_items.append(models.AggregateMetadata(key=AZ_KEY, value=zone))
    try:
        async with transaction(deps.sessions) as session:
            session.add(agg)
    except IntegrityError:
        raise Conflict(f"Aggregate {name} already exists.") from None
    return agg


async def _zone_conflicts(
    session: AsyncSession, agg: models.Aggregate, hosts: list[str], zone: str | None
) -> list[str]:
    """Zones other than `zone` that aggregates of these hosts already put them in."""
    if not hosts or zone is None:
        return []
    others = (
        await session.scalars(
            select(models.Aggregate)
            .join(models.AggregateHost)
            .where(models.AggregateHost.host.in_(hosts), models.Aggregate.id != agg.id)
        )
    ).unique()
    return sorted({z for other in others if (z := zone_of(other)) and z != zone})


async def update(
    deps: Deps, who: Identity, agg_id: str, name: str | None, zone: str | None, set_zone: bool
) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:update")
    try:
        async with transaction(deps.sessions) as session:
            agg = await _get(session, agg_id)
            if name is not None:
                agg.name = name
            if set_zone:
                hosts = [h.host for h in agg.hosts]
                if conflicts := await _zone_conflicts(session, agg, hosts, zone):
                    raise BadRequest(
                        f"Cannot update aggregate {agg.id}. Reason: One or more hosts already "
                        f"in availability zone(s) {conflicts}."
                    )
                _set_metadata(agg, {AZ_KEY: zone})
            await session.flush()
            await session.refresh(agg)
            return agg
    except IntegrityError:
        raise Conflict(f"Aggregate {name} already exists.") from None


async def delete(deps: Deps, who: Identity, agg_id: str) -> None:
    policy.authorize(who, "os_compute_api:os-aggregates:delete")
    async with transaction(deps.sessions) as session:
        agg = await _get(session, agg_id)
        if agg.hosts:
            raise BadRequest(
                f"Cannot perform action 'delete' on aggregate {agg.id}. "
                "Reason: Host aggregate is not empty."
            )
        await session.delete(agg)


async def add_host(deps: Deps, who: Identity, agg_id: str, host: str) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:add_host")
    async with transaction(deps.sessions) as session:
        agg = await _get(session, agg_id)
        known = await session.scalar(
            select(models.HostMapping.id).where(models.HostMapping.host == host)
        )
        if known is None:
            raise NotFound(f"Compute host {host} could not be found.")
        if any(h.host == host for h in agg.hosts):
            raise Conflict(f"Aggregate {agg.id} already has host {host}.")
        if conflicts := await _zone_conflicts(session, agg, [host], zone_of(agg)):
            raise BadRequest(
                f"Cannot add host to aggregate {agg.id}. Reason: One or more hosts already in "
                f"availability zone(s) {conflicts}."
            )
        agg.hosts.append(models.AggregateHost(host=host))
        await session.flush()
        await session.refresh(agg)
        return agg


async def remove_host(deps: Deps, who: Identity, agg_id: str, host: str) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:remove_host")
    async with transaction(deps.sessions) as session:
        agg = await _get(session, agg_id)
        found = [h for h in agg.hosts if h.host == host]
        if not found:
            raise NotFound(f"Aggregate {agg.id} has no host {host}.")
        agg.hosts.remove(found[0])
        await session.flush()
        await session.refresh(agg)
        return agg


def _set_metadata(agg: models.Aggregate, changes: dict[str, str | None]) -> None:
    """None deletes a key, as in Nova."""
    current = {m.key: m for m in agg.metadata_items}
    for key, value in changes.items():
        item = current.get(key)
        if value is None:
            if item is not None:
                agg.metadata_items.remove(item)
        elif item is not None:
            item.value = value
        else:
            agg.metadata_items.append(models.AggregateMetadata(key=key, value=value))


async def set_metadata(
    deps: Deps, who: Identity, agg_id: str, changes: dict[str, str | None]
) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:set_metadata")
    async with transaction(deps.sessions) as session:
        agg = await _get(session, agg_id)
        if AZ_KEY in changes:
            hosts = [h.host for h in agg.hosts]
            if conflicts := await _zone_conflicts(session, agg, hosts, changes[AZ_KEY]):
                raise BadRequest(
                    f"Cannot update metadata of aggregate {agg.id}. Reason: One or more hosts "
                    f"already in availability zone(s) {conflicts}."
                )
        _set_metadata(agg, changes)
        # The metadata rows changed, not the aggregate's: Nova still dates the aggregate.
        agg.updated_at = utcnow()
        await session.flush()
        await session.refresh(agg)
        return agg


async def check_exists(deps: Deps, who: Identity, agg_id: str) -> models.Aggregate:
    policy.authorize(who, "os_compute_api:os-aggregates:images")
    async with deps.sessions() as session:
        return await _get(session, agg_id)


async def zones(deps: Deps, default_zone: str) -> dict[str, list[str]]:
    """Every zone with its compute hosts: aggregate zones, and the default for the rest."""
    async with deps.sessions() as session:
        hosts = list((await session.scalars(select(models.HostMapping.host))).all())
        aggs = (await session.scalars(select(models.Aggregate))).unique().all()
    out: dict[str, list[str]] = {}
    placed: set[str] = set()
    for agg in aggs:
        zone = zone_of(agg)
        if zone:
            for h in agg.hosts:
                if h.host not in placed:
                    out.setdefault(zone, []).append(h.host)
                    placed.add(h.host)
    for host in hosts:
        if host not in placed:
            out.setdefault(default_zone, []).append(host)
    return out
