"""Database access for images and image members (the API database's `images` tables).

Visibility, core-attribute filters and ordering are done in SQL; tag and extra-property filters
(JSON columns, whose operators differ between SQLite and PostgreSQL) and the marker are applied
to the ordered rows in Python, which is fine at the scale of an image catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from novamesh.common.apidb import models
from novamesh.common.db import transaction, utcnow
from novamesh.gateway.image.domain import Caller, ImageRecord, MemberRecord
from sqlalchemy import ColumnElement, and_, delete, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

_IMAGE_FIELDS = [f.name for f in fields(ImageRecord)]
_MEMBER_FIELDS = [f.name for f in fields(MemberRecord)]


@dataclass
class ListQuery:
    """What `GET /v2/images` asks for, already validated."""

    # Exact-match conditions on columns: name, status, owner, disk_format, ...; a list value
    # means "one of" (Glance's `in:` operator).
    columns: dict[str, object | list[object]]
    # Comparisons: (column, operator, value) with operator in lt, lte, gt, gte, neq, eq.
    comparisons: list[tuple[str, str, object]]
    visibility: str | None
    member_status: str
    tags: list[str]
    properties: dict[str, str]
    sort: list[tuple[str, str]]


def _to_record(row: models.Image) -> ImageRecord:
    rec = ImageRecord(**{name: getattr(row, name) for name in _IMAGE_FIELDS})
    rec.properties = dict(rec.properties or {})
    rec.tags = list(rec.tags or [])
    return rec


def _to_member(row: models.ImageMember) -> MemberRecord:
    return MemberRecord(**{name: getattr(row, name) for name in _MEMBER_FIELDS})


_OPS = {
    "eq": lambda c, v: c == v,
    "neq": lambda c, v: c != v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
}


class ImageRepo:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def get(self, image_id: str) -> ImageRecord | None:
        async with self.sessions() as session:
            row = await session.get(models.Image, image_id)
            return _to_record(row) if row is not None else None

    async def create(self, rec: ImageRecord) -> ImageRecord | None:
        """Insert; None when the id is taken."""
        now = utcnow()
        values = {name: getattr(rec, name) for name in _IMAGE_FIELDS}
        values.update(created_at=now, updated_at=now)
        try:
            async with transaction(self.sessions) as session:
                session.add(models.Image(**values))
        except IntegrityError:
            return None
        return await self.get(rec.id)

    async def save(self, rec: ImageRecord, expect_status: Sequence[str] = ()) -> bool:
        """Write every attribute back; with `expect_status`, only from one of those states."""
        values = {name: getattr(rec, name) for name in _IMAGE_FIELDS if name != "id"}
        values.pop("created_at")
        values["updated_at"] = utcnow()
        stmt = update(models.Image).where(models.Image.id == rec.id).values(**values)
        if expect_status:
            stmt = stmt.where(models.Image.status.in_(list(expect_status)))
        async with transaction(self.sessions) as session:
            result = await session.execute(stmt)
        rec.updated_at = values["updated_at"]
        return bool(getattr(result, "rowcount", 0))

    async def set_status(self, image_id: str, new: str, expect: Sequence[str]) -> bool:
        """Compare-and-set the status, so two uploads can't both start."""
        stmt = (
            update(models.Image)
            .where(models.Image.id == image_id, models.Image.status.in_(list(expect)))
            .values(status=new, updated_at=utcnow())
        )
        async with transaction(self.sessions) as session:
            result = await session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def delete(self, image_id: str) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(models.ImageMember).where(models.ImageMember.image_id == image_id)
            )
            await session.execute(delete(models.Image).where(models.Image.id == image_id))

    async def find(self, caller: Caller, query: ListQuery) -> list[ImageRecord]:
        img = models.Image
        conds: list[ColumnElement[bool]] = []
        for column, value in query.columns.items():
            attr = getattr(img, column)
            conds.append(attr.in_(value) if isinstance(value, list) else attr == value)
        for column, op, value in query.comparisons:
            conds.append(_OPS[op](getattr(img, column), value))

        if not caller.is_admin:
            member_of = (
                select(models.ImageMember.image_id)
                .where(models.ImageMember.member == caller.project_id)
                .where(
                    true()
                    if query.member_status == "all"
                    else models.ImageMember.status == query.member_status
                )
            )
            conds.append(
                or_(
                    img.visibility.in_(["public", "community"]),
                    img.owner == caller.project_id,
                    and_(img.visibility == "shared", img.id.in_(member_of)),
                )
            )
        if query.visibility is not None:
            if query.visibility != "all":
                conds.append(img.visibility == query.visibility)
        else:
            # Community images are listed only when asked for, or to their owner.
            conds.append(or_(img.visibility != "community", img.owner == caller.project_id))

        order = []
        for key, direction in query.sort:
            attr = getattr(img, key)
            order.append(attr.asc() if direction == "asc" else attr.desc())
        stmt = select(img).where(and_(true(), *conds)).order_by(*order)
        async with self.sessions() as session:
            rows = (await session.execute(stmt)).scalars().all()
        out = []
        for row in rows:
            rec = _to_record(row)
            if query.tags and not set(query.tags) <= set(rec.tags):
                continue
            if any(rec.properties.get(k) != v for k, v in query.properties.items()):
                continue
            out.append(rec)
        return out

    # Members.

    async def members(self, image_id: str) -> list[MemberRecord]:
        stmt = (
            select(models.ImageMember)
            .where(models.ImageMember.image_id == image_id)
            .order_by(models.ImageMember.id)
        )
        async with self.sessions() as session:
            return [_to_member(r) for r in (await session.execute(stmt)).scalars().all()]

    async def member(self, image_id: str, member: str) -> MemberRecord | None:
        stmt = select(models.ImageMember).where(
            models.ImageMember.image_id == image_id, models.ImageMember.member == member
        )
        async with self.sessions() as session:
            row = (await session.execute(stmt)).scalars().first()
            return _to_member(row) if row is not None else None

    async def add_member(self, image_id: str, member: str) -> MemberRecord | None:
        """None when the project is already a member."""
        now = utcnow()
        try:
            async with transaction(self.sessions) as session:
                session.add(
                    models.ImageMember(
                        image_id=image_id,
                        member=member,
                        status="pending",
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return None
        return await self.member(image_id, member)

    async def set_member_status(self, image_id: str, member: str, status: str) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(models.ImageMember)
                .where(
                    models.ImageMember.image_id == image_id,
                    models.ImageMember.member == member,
                )
                .values(status=status, updated_at=utcnow())
            )

    async def delete_member(self, image_id: str, member: str) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(models.ImageMember).where(
                    models.ImageMember.image_id == image_id,
                    models.ImageMember.member == member,
                )
            )
