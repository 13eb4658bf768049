"""SQLAlchemy models of the API database."""

from __future__ import annotations

import datetime as dt

from novamesh.common.db import UTCDateTime, metadata, utcnow
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    metadata = metadata()


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, onupdate=utcnow)


class CellMapping(Timestamps, Base):
    __tablename__ = "cell_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    # The cell's agent channel: the router endpoint its agents connect to.
    transport_url: Mapped[str] = mapped_column(Text)
    database_connection: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class HostMapping(Timestamps, Base):
    __tablename__ = "host_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cell_id: Mapped[int] = mapped_column(ForeignKey("cell_mappings.id"))
    host: Mapped[str] = mapped_column(String(255), unique=True)
    cell: Mapped[CellMapping] = relationship(lazy="joined")


class InstanceMapping(Timestamps, Base):
    __tablename__ = "instance_mappings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    # NULL until the instance is scheduled (or buried in cell0).
    cell_id: Mapped[int | None] = mapped_column(ForeignKey("cell_mappings.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    queued_for_delete: Mapped[bool] = mapped_column(Boolean, default=False)
    cell: Mapped[CellMapping | None] = relationship(lazy="joined")


class BuildRequest(Timestamps, Base):
    """An instance that has no cell yet; `instance` is a serialized cells.v1.Instance."""

    __tablename__ = "build_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    instance: Mapped[bytes] = mapped_column(LargeBinary)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class RequestSpec(Base):
    """What the boot asked for; `spec` is a serialized scheduler.v1.RequestSpec."""

    __tablename__ = "request_specs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    spec: Mapped[bytes] = mapped_column(LargeBinary)


class Flavor(Timestamps, Base):
    __tablename__ = "flavors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    vcpu_weight: Mapped[int | None] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    projects: Mapped[list[FlavorProject]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class FlavorExtraSpec(Timestamps, Base):
    __tablename__ = "flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Timestamps, Base):
    __tablename__ = "flavor_projects"
    __table_args__ = (UniqueConstraint("flavor_id", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(255))


class KeyPair(Timestamps, Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")


class Image(Timestamps, Base):
    """An image of the built-in image service (the part of Glance v2 Nova users need)."""

    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="queued")
    visibility: Mapped[str] = mapped_column(String(16), default="shared")
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    container_format: Mapped[str | None] = mapped_column(String(32))
    disk_format: Mapped[str | None] = mapped_column(String(32))
    # Bytes: images pass 2 GiB, so 64-bit on every backend.
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    properties: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class ImageMember(Timestamps, Base):
    """A project an image with visibility `shared` is shared with, and its answer."""

    __tablename__ = "image_members"
    __table_args__ = (UniqueConstraint("image_id", "member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    member: Mapped[str] = mapped_column(String(255), index=True)
    # pending, accepted or rejected.
    status: Mapped[str] = mapped_column(String(20), default="pending")


class Aggregate(Timestamps, Base):
    """A host aggregate; an `availability_zone` metadata key makes it an availability zone."""

    __tablename__ = "aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    hosts: Mapped[list[AggregateHost]] = relationship(lazy="selectin", cascade="all, delete-orphan")
    metadata_items: Mapped[list[AggregateMetadata]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class AggregateHost(Timestamps, Base):
    __tablename__ = "aggregate_hosts"
    __table_args__ = (UniqueConstraint("host", "aggregate_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("aggregates.id", ondelete="CASCADE"))


class AggregateMetadata(Timestamps, Base):
    __tablename__ = "aggregate_metadata"
    __table_args__ = (UniqueConstraint("aggregate_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class InstanceGroup(Timestamps, Base):
    """A server group: its policy (one, as Nova has had since 2.64) and its member instances."""

    __tablename__ = "instance_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    policies: Mapped[list[InstanceGroupPolicy]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )
    members: Mapped[list[InstanceGroupMember]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class InstanceGroupPolicy(Base):
    __tablename__ = "instance_group_policy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("instance_groups.id", ondelete="CASCADE"), index=True
    )
    # affinity, anti-affinity, soft-affinity or soft-anti-affinity.
    policy: Mapped[str] = mapped_column(String(255))
    # 2.64 rules, e.g. {"max_server_per_host": 2}.
    rules: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class InstanceGroupMember(Timestamps, Base):
    __tablename__ = "instance_group_member"
    __table_args__ = (UniqueConstraint("group_id", "instance_uuid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("instance_groups.id", ondelete="CASCADE"), index=True
    )
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)


class Quota(Timestamps, Base):
    """A project's (or, with user_id, one of its users') own limit for one resource."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "resource"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    # "" for the project's own limit.
    user_id: Mapped[str] = mapped_column(String(255), default="")
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Timestamps, Base):
    """A quota class's limit for one resource; the `default` class overrides the configuration."""

    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_name: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)


class ConsoleAuthToken(Timestamps, Base):
    """A remote console's access token. Only its SHA-256 is kept; it is valid until `expires`."""

    __tablename__ = "console_auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(255), unique=True)
    # novnc, spice-html5, serial, webmks ...
    console_type: Mapped[str] = mapped_column(String(255))
    # Where the guest's console listens on its host: what a console proxy connects to.
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    tls_port: Mapped[int | None] = mapped_column(Integer)
    internal_access_path: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    access_url_base: Mapped[str | None] = mapped_column(String(255))
    expires: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Volume(Timestamps, Base):
    """A volume of the built-in volume record store (what the deprecated os-volumes proxy
    creates and os-volume_attachments attaches); one attachment at a time."""

    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(Text)
    # GiB.
    size: Mapped[int] = mapped_column(Integer)
    volume_type: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    # available, attaching, in-use, detaching.
    status: Mapped[str] = mapped_column(String(255), default="available")
    properties: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    attached_server: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_device: Mapped[str | None] = mapped_column(String(255))
    attachment_id: Mapped[str | None] = mapped_column(String(36))
    # A volume a boot created from an image: bootable, with the image's metadata (Cinder's
    # volume_image_metadata: image_id, image_name, disk_format, min_disk, properties...).
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    image_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON)


class ImageCleanup(Timestamps, Base):
    """An image an action may leave behind, watched until the action is over: a snapshot whose
    upload failed (kind `snapshot`), or a shelve snapshot once its server is unshelved (kind
    `unshelve`). A gateway holds a row while `lease_until` is ahead and renews it as it watches;
    a row whose lease ran out (its gateway went away) is taken over by any gateway."""

    __tablename__ = "image_cleanups"
    __table_args__ = (UniqueConstraint("image_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(255))
    # Past this the action is taken for stuck and the row is dropped, the image left alone.
    give_up_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
