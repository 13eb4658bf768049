"""API database access for flavors and the image catalog (read-mostly, one query per call)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from sqlalchemy import Select, and_, asc, desc, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class Duplicate(Exception):
    """A flavor with this id or name exists."""


@dataclass
class FlavorQuery:
    # None: every flavor (admin); a project: public ones plus the project's private ones.
    project_id: str | None = None
    # None: both; True/False: only public / only private.
    is_public: bool | None = True
    min_ram: int | None = None
    min_disk: int | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int | None = None
    marker: str | None = None


@dataclass
class NewFlavor:
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None
    extra_specs: dict[str, str] = field(default_factory=dict)


class MarkerNotFound(Exception):
    pass


_FLAVOR_SORT = {
    "flavorid": models.Flavor.flavorid,
    "name": models.Flavor.name,
    "memory_mb": models.Flavor.memory_mb,
    "vcpus": models.Flavor.vcpus,
    "root_gb": models.Flavor.root_gb,
    "ephemeral_gb": models.Flavor.ephemeral_gb,
    "swap": models.Flavor.swap,
    "rxtx_factor": models.Flavor.rxtx_factor,
    "id": models.Flavor.id,
    "created_at": models.Flavor.created_at,
}
FLAVOR_SORT_KEYS = frozenset(_FLAVOR_SORT)


def _visible(stmt: Select[models.Flavor], q: FlavorQuery) -> Select[models.Flavor]:
    if q.is_public is not None:
        public_clause = models.Flavor.is_public.is_(q.is_public)
        if q.project_id is not None and q.is_public:
            # A project also sees the private flavors it was given access to.
            shared = models.Flavor.projects.any(models.FlavorProject.project_id == q.project_id)
            stmt = stmt.where(or_(public_clause, shared))
        else:
            stmt = stmt.where(public_clause)
    if q.min_ram is not None:
        stmt = stmt.where(models.Flavor.memory_mb >= q.min_ram)
    if q.min_disk is not None:
        stmt = stmt.where(models.Flavor.root_gb >= q.min_disk)
    return stmt


async def list_flavors(
    sessions: async_sessionmaker[AsyncSession], q: FlavorQuery
) -> list[models.Flavor]:
    column = _FLAVOR_SORT[q.sort_key]
    order = desc if q.sort_dir == "desc" else asc
    async with sessions() as session:
        stmt: Select[models.Flavor] = _visible(select(models.Flavor), q)
        if q.marker is not None:
            marker = await session.scalar(
                select(models.Flavor).where(models.Flavor.flavorid == q.marker)
            )
            if marker is None:
                raise MarkerNotFound(q.marker)
            value = getattr(marker, column.key)
            after = column < value if q.sort_dir == "desc" else column > value
            stmt = stmt.where(or_(after, and_(column == value, models.Flavor.id > marker.id)))
        stmt = stmt.order_by(order(column), asc(models.Flavor.id))
        if q.limit is not None:
            stmt = stmt.limit(q.limit)
        return list((await session.scalars(stmt)).all())


async def get_flavor(
    sessions: async_sessionmaker[AsyncSession], flavorid: str
) -> models.Flavor | None:
    async with sessions() as session:
        return await session.scalar(select(models.Flavor).where(models.Flavor.flavorid == flavorid))


async def create_flavor(
    sessions: async_sessionmaker[AsyncSession], new: NewFlavor
) -> models.Flavor:
    flavor = models.Flavor(
        flavorid=new.flavorid,
        name=new.name,
        memory_mb=new.memory_mb,
        vcpus=new.vcpus,
        root_gb=new.root_gb,
        ephemeral_gb=new.ephemeral_gb,
        swap=new.swap,
        rxtx_factor=new.rxtx_factor,
        is_public=new.is_public,
        description=new.description,
        extra_specs=[models.FlavorExtraSpec(key=k, value=v) for k, v in new.extra_specs.items()],
        projects=[],
    )
    try:
        async with transaction(sessions) as session:
            session.add(flavor)
    except IntegrityError as exc:
        raise Duplicate(str(exc)) from exc
    return flavor


async def delete_flavor(sessions: async_sessionmaker[AsyncSession], flavorid: str) -> bool:
    async with transaction(sessions) as session:
        flavor = await session.scalar(
            select(models.Flavor).where(models.Flavor.flavorid == flavorid)
        )
        if flavor is None:
            return False
        await session.delete(flavor)
        return True


async def get_image(
    sessions: async_sessionmaker[AsyncSession], image_id: str
) -> models.Image | None:
    async with sessions() as session:
        return await session.get(models.Image, image_id)


async def list_images(
    sessions: async_sessionmaker[AsyncSession],
    project_id: str | None,
    filters: dict[str, str],
    limit: int | None,
    marker: str | None,
) -> list[models.Image]:
    """Images the project may see (all for None), newest first as Glance lists them."""
    async with sessions() as session:
        stmt = select(models.Image).where(models.Image.status != "deleted")
        if project_id is not None:
            stmt = stmt.where(
                or_(
                    models.Image.visibility.in_(("public", "community")),
                    models.Image.owner == project_id,
                )
            )
        for key in ("name", "status"):
            if key in filters:
                stmt = stmt.where(getattr(models.Image, key) == filters[key])
        if "minRam" in filters:
            stmt = stmt.where(models.Image.min_ram >= int(filters["minRam"]))
        if "minDisk" in filters:
            stmt = stmt.where(models.Image.min_disk >= int(filters["minDisk"]))
        if marker is not None:
            anchor = await session.get(models.Image, marker)
            if anchor is None:
                raise MarkerNotFound(marker)
            stmt = stmt.where(
                or_(
                    models.Image.created_at < anchor.created_at,
                    and_(
                        models.Image.created_at == anchor.created_at,
                        models.Image.id < anchor.id,
                    ),
                )
            )
        stmt = stmt.order_by(desc(models.Image.created_at), desc(models.Image.id))
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await session.scalars(stmt)).all())


def images_by_ids(images: Sequence[models.Image]) -> dict[str, models.Image]:
    return {image.id: image for image in images}


async def get_keypair(
    sessions: async_sessionmaker[AsyncSession], user_id: str, name: str
) -> models.KeyPair | None:
    async with sessions() as session:
        return await session.scalar(
            select(models.KeyPair).where(
                models.KeyPair.user_id == user_id, models.KeyPair.name == name
            )
        )


async def image_member_status(
    sessions: async_sessionmaker[AsyncSession], image_id: str, project_id: str
) -> str | None:
    async with sessions() as session:
        return await session.scalar(
            select(models.ImageMember.status).where(
                models.ImageMember.image_id == image_id,
                models.ImageMember.member == project_id,
            )
        )


async def update_flavor_description(
    sessions: async_sessionmaker[AsyncSession], flavorid: str, description: str | None
) -> models.Flavor | None:
    async with transaction(sessions) as session:
        flavor = await session.scalar(
            select(models.Flavor).where(models.Flavor.flavorid == flavorid)
        )
        if flavor is None:
            return None
        flavor.description = description
        return flavor
