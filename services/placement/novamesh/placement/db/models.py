"""SQLAlchemy models of the placement database.

Every write transaction first bumps the single `placement_state.seq` row. That serialises
writers (SQLite does anyway; on PostgreSQL the row lock does), which makes the generation and
capacity checks that follow race-free, and lets each process keep an in-memory view of the
providers that it refreshes only when `seq` moved (see objects/snapshot.py). Providers touched
by a write get `revision = seq`, so a refresh reloads only what changed.
"""

from __future__ import annotations

import datetime as dt

from novamesh.common.db import UTCDateTime, metadata, utcnow
from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = metadata()


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)


class PlacementState(Base):
    __tablename__ = "placement_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ResourceProvider(Timestamps, Base):
    __tablename__ = "resource_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), index=True
    )
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), index=True
    )
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class ResourceClass(Timestamps, Base):
    __tablename__ = "resource_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Trait(Timestamps, Base):
    __tablename__ = "traits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Inventory(Timestamps, Base):
    __tablename__ = "inventories"
    __table_args__ = (
        Index("ix_inventories_rp_rc", "resource_provider_id", "resource_class_id", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE")
    )
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    total: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    min_unit: Mapped[int] = mapped_column(BigInteger, default=1)
    max_unit: Mapped[int] = mapped_column(BigInteger)
    step_size: Mapped[int] = mapped_column(BigInteger, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class ResourceProviderTrait(Timestamps, Base):
    __tablename__ = "resource_provider_traits"
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"), primary_key=True
    )
    trait_id: Mapped[int] = mapped_column(ForeignKey("traits.id"), primary_key=True, index=True)


class PlacementAggregate(Timestamps, Base):
    __tablename__ = "placement_aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)


class ResourceProviderAggregate(Timestamps, Base):
    __tablename__ = "resource_provider_aggregates"
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"), primary_key=True
    )
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("placement_aggregates.id"), primary_key=True, index=True
    )


class Consumer(Timestamps, Base):
    __tablename__ = "consumers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # NULL: created before consumer types existed (reported as "unknown").
    consumer_type: Mapped[str | None] = mapped_column(String(255))


class Allocation(Timestamps, Base):
    __tablename__ = "allocations"
    __table_args__ = (Index("ix_allocations_rp_rc", "resource_provider_id", "resource_class_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    consumer_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    used: Mapped[int] = mapped_column(BigInteger)
