"""Domain types of the image service: records, the caller, and the errors it raises.

Nothing here knows about gRPC or HTTP; the REST servicer maps `ImageError` subclasses to status
codes, which is why each error carries the HTTP status Glance would answer with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Glance's image states that this service uses (no import tasks, so no uploading/importing).
QUEUED = "queued"
SAVING = "saving"
ACTIVE = "active"
DEACTIVATED = "deactivated"
KILLED = "killed"

VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")


@dataclass(frozen=True)
class Caller:
    """Who is asking: the project owns images, the admin role sees and changes everything."""

    user_id: str
    project_id: str
    roles: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass
class ImageRecord:
    id: str
    name: str | None = None
    status: str = QUEUED
    visibility: str = "shared"
    owner: str | None = None
    container_format: str | None = None
    disk_format: str | None = None
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    protected: bool = False
    os_hidden: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass
class MemberRecord:
    image_id: str
    member: str
    status: str = "pending"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class WrittenData:
    """What storing an image's bits measured."""

    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    virtual_size: int | None


class ImageError(Exception):
    """A request the image service refuses; `http_status` is Glance's answer."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ImageError):
    http_status = 400


class Unauthorized(ImageError):
    http_status = 401


class Forbidden(ImageError):
    http_status = 403


class NotFound(ImageError):
    http_status = 404


class Conflict(ImageError):
    http_status = 409


class TooLarge(ImageError):
    http_status = 413


class UnsupportedMediaType(ImageError):
    http_status = 415
