"""The image service's behaviour: Glance v2 semantics over the repository and the store.

Visibility: an admin sees every image; others see public and community images, their project's
own images, and `shared` images their project is a member of. Images a caller can't see are
"not found"; images it can see but doesn't own are "forbidden" to change.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from novamesh.gateway.image import schemas
from novamesh.gateway.image.domain import (
    ACTIVE,
    DEACTIVATED,
    KILLED,
    MEMBER_STATUSES,
    QUEUED,
    SAVING,
    BadRequest,
    Caller,
    Conflict,
    Forbidden,
    ImageRecord,
    MemberRecord,
    NotFound,
    TooLarge,
    UnsupportedMediaType,
)
from novamesh.gateway.image.patch import Change
from novamesh.gateway.image.repo import ImageRepo, ListQuery
from novamesh.gateway.image.store import LocalStore

# Attributes stored in their own columns; everything else is an extra property.
BASE_ATTRS = (
    "checksum",
    "created_at",
    "container_format",
    "disk_format",
    "id",
    "min_disk",
    "min_ram",
    "name",
    "size",
    "virtual_size",
    "status",
    "tags",
    "owner",
    "updated_at",
    "visibility",
    "protected",
    "os_hidden",
)
READONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
)
DISALLOWED_ON_CREATE = ("direct_url", "self", "file", "schema", "stores")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"
MAX_TAGS = 128


@dataclass
class Settings:
    max_image_size: int
    disk_formats: list[str]
    container_formats: list[str]


class Images:
    def __init__(self, repo: ImageRepo, store: LocalStore, settings: Settings) -> None:
        self.repo = repo
        self.store = store
        self.settings = settings
        self.schema = schemas.image_schema(settings.disk_formats, settings.container_formats)

    # Access checks.

    async def _visible(self, caller: Caller, image_id: str) -> ImageRecord:
        image = await self.repo.get(image_id)
        if image is None or not await self._can_see(caller, image):
            raise NotFound(f"No image found with ID {image_id}")
        return image

    async def _can_see(self, caller: Caller, image: ImageRecord) -> bool:
        if caller.is_admin or image.owner == caller.project_id:
            return True
        if image.visibility in ("public", "community"):
            return True
        if image.visibility == "shared":
            return await self.repo.member(image.id, caller.project_id) is not None
        return False

    async def _owned(self, caller: Caller, image_id: str, action: str) -> ImageRecord:
        image = await self._visible(caller, image_id)
        if not (caller.is_admin or image.owner == caller.project_id):
            raise Forbidden(f"You are not authorized to complete {action} action.")
        return image

    def _check_property_value(self, attr: str, value: object) -> None:
        error = schemas.validate(self.schema, {attr: value})
        if error:
            raise BadRequest(error)

    def _check_visibility_change(self, caller: Caller, visibility: object) -> None:
        if visibility == "public" and not caller.is_admin:
            raise Forbidden("You are not authorized to complete publicize_image action.")

    # Images.

    async def create(self, caller: Caller, body: object) -> ImageRecord:
        if not isinstance(body, dict):
            raise BadRequest("Body expected in request.")
        for key in DISALLOWED_ON_CREATE:
            if key in body:
                raise Forbidden(f"Attribute '{key}' is read-only.")
        error = schemas.validate(self.schema, body)
        if error:
            raise BadRequest(error)
        for key in body:
            if key in READONLY and key != "id":
                raise Forbidden(f"Attribute '{key}' is read-only.")
            if key in RESERVED or key.startswith(RESERVED_PREFIX):
                raise Forbidden(f"Attribute '{key}' is reserved.")
            if len(key) > 255:
                raise BadRequest("Custom property should not be greater than 255 characters.")
        owner = body.get("owner", caller.project_id)
        if owner != caller.project_id and not caller.is_admin:
            raise Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        self._check_visibility_change(caller, body.get("visibility"))
        tags = list(dict.fromkeys(body.get("tags") or []))
        if len(tags) > MAX_TAGS:
            raise TooLarge(f"Maximum number of tags exceeded: {len(tags)} > {MAX_TAGS}")
        rec = ImageRecord(
            id=body.get("id") or str(uuid.uuid4()),
            name=body.get("name"),
            visibility=body.get("visibility", "shared"),
            owner=owner,
            container_format=body.get("container_format"),
            disk_format=body.get("disk_format"),
            min_ram=body.get("min_ram", 0),
            min_disk=body.get("min_disk", 0),
            protected=body.get("protected", False),
            os_hidden=body.get("os_hidden", False),
            properties={k: v for k, v in body.items() if k not in BASE_ATTRS},
            tags=tags,
        )
        created = await self.repo.create(rec)
        if created is None:
            raise Conflict(f"An image with identifier {rec.id} already exists")
        return created

    async def get(self, caller: Caller, image_id: str) -> ImageRecord:
        return await self._visible(caller, image_id)

    async def find(
        self, caller: Caller, query: ListQuery, marker: str | None, limit: int
    ) -> tuple[list[ImageRecord], str | None]:
        """A page of images and the marker of the next page (None on the last one)."""
        images = await self.repo.find(caller, query)
        if marker is not None:
            ids = [i.id for i in images]
            if marker not in ids:
                raise BadRequest(f"No image found with ID {marker}")
            images = images[ids.index(marker) + 1 :]
        page = images[:limit]
        more = len(page) == limit and limit > 0
        return page, page[-1].id if more else None

    async def update(self, caller: Caller, image_id: str, changes: list[Change]) -> ImageRecord:
        image = await self._owned(caller, image_id, "modify_image")
        for change in changes:
            self._apply(caller, image, change)
        if changes:
            await self.repo.save(image)
        return image

    def _apply(self, caller: Caller, image: ImageRecord, change: Change) -> None:
        attr = change.attr
        if attr in READONLY:
            raise Forbidden(f"Attribute '{attr}' is read-only.")
        if attr in RESERVED or attr.startswith(RESERVED_PREFIX):
            raise Forbidden(f"Attribute '{attr}' is reserved.")
        if attr == "locations":
            raise BadRequest("Image locations are not supported by this image service.")
        is_base = attr in BASE_ATTRS
        if change.op == "remove":
            if is_base:
                raise Forbidden(f"Property {attr} may not be removed.")
            if attr not in image.properties:
                raise Conflict(f"Property {attr} does not exist.")
            del image.properties[attr]
            return
        self._check_property_value(attr, change.value)
        if attr == "owner" and not caller.is_admin:
            raise Forbidden("Owner can't be updated by non admin.")
        if attr == "visibility":
            self._check_visibility_change(caller, change.value)
        if change.op == "replace" and not is_base and attr not in image.properties:
            raise Conflict(f"Property {attr} does not exist.")
        if change.op == "add" and change.strict_add and (is_base or attr in image.properties):
            raise Conflict(f"Property {attr} already present.")
        if attr == "tags":
            tags = list(dict.fromkeys(change.value))
            if len(tags) > MAX_TAGS:
                raise TooLarge(f"Maximum number of tags exceeded: {len(tags)} > {MAX_TAGS}")
            image.tags = tags
        elif is_base:
            setattr(image, attr, change.value)
        else:
            image.properties[attr] = change.value

    async def delete(self, caller: Caller, image_id: str) -> None:
        image = await self._owned(caller, image_id, "delete_image")
        if image.protected:
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        await self.repo.delete(image_id)
        await self.store.delete(image_id)

    # Data.

    async def upload(
        self, caller: Caller, image_id: str, content_type: str, chunks: AsyncIterable[bytes]
    ) -> ImageRecord:
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/octet-stream":
            raise UnsupportedMediaType(
                f"Content-Type must be application/octet-stream, not {content_type or 'none'}"
            )
        image = await self._owned(caller, image_id, "upload_image")
        if not await self.repo.set_status(image_id, SAVING, expect=(QUEUED,)):
            raise Conflict(
                f"Image status transition from {image.status} to {SAVING} is not allowed"
            )
        try:
            written = await self.store.write(
                image_id, chunks, self.settings.max_image_size, image.disk_format
            )
        except BaseException:
            # A failed upload leaves the image queued, ready for another try.
            await self.repo.set_status(image_id, QUEUED, expect=(SAVING,))
            raise
        current = await self.repo.get(image_id)
        if current is None or current.status != SAVING:
            # Deleted (or killed) while the bits were arriving.
            await self.store.delete(image_id)
            raise Conflict(f"Image {image_id} was deleted during the upload")
        current.size = written.size
        current.checksum = written.checksum
        current.os_hash_algo = written.os_hash_algo
        current.os_hash_value = written.os_hash_value
        current.virtual_size = written.virtual_size
        current.status = ACTIVE
        if not await self.repo.save(current, expect_status=(SAVING,)):
            await self.store.delete(image_id)
            raise Conflict(f"Image {image_id} changed during the upload")
        return current

    async def download(
        self, caller: Caller, image_id: str, offset: int = 0, chunk_size: int = 1024 * 1024
    ) -> tuple[ImageRecord, AsyncIterator[bytes] | None]:
        """The image and its bits; None for the bits when it has none yet (HTTP 204)."""
        image = await self._visible(caller, image_id)
        if image.status == DEACTIVATED and not caller.is_admin:
            raise Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
            )
        if image.status in (QUEUED, SAVING, KILLED) or not self.store.exists(image_id):
            return image, None
        if offset < 0 or (image.size is not None and offset > image.size):
            raise BadRequest(f"Offset {offset} is outside the image data")
        return image, self.store.read(image_id, offset, chunk_size)

    # Tags and actions.

    async def add_tag(self, caller: Caller, image_id: str, tag: str) -> None:
        image = await self._owned(caller, image_id, "modify_image")
        if len(tag) > 255:
            raise BadRequest(f"Provided object does not match schema 'image': '{tag}' is too long")
        if tag in image.tags:
            return
        if len(image.tags) >= MAX_TAGS:
            raise TooLarge(f"Maximum number of tags exceeded: {len(image.tags) + 1} > {MAX_TAGS}")
        image.tags.append(tag)
        await self.repo.save(image)

    async def delete_tag(self, caller: Caller, image_id: str, tag: str) -> None:
        image = await self._owned(caller, image_id, "modify_image")
        if tag not in image.tags:
            raise NotFound(f"Tag {tag} not found")
        image.tags.remove(tag)
        await self.repo.save(image)

    async def deactivate(self, caller: Caller, image_id: str) -> None:
        image = await self._owned(caller, image_id, "deactivate")
        if image.status == DEACTIVATED:
            return
        if image.status != ACTIVE:
            raise BadRequest(f"Not allowed to deactivate image in status '{image.status}'")
        image.status = DEACTIVATED
        await self.repo.save(image, expect_status=(ACTIVE,))

    async def reactivate(self, caller: Caller, image_id: str) -> None:
        image = await self._owned(caller, image_id, "reactivate")
        if image.status == ACTIVE:
            return
        if image.status != DEACTIVATED:
            raise BadRequest(f"Not allowed to reactivate image in status '{image.status}'")
        image.status = ACTIVE
        await self.repo.save(image, expect_status=(DEACTIVATED,))

    # Members.

    async def members(self, caller: Caller, image_id: str) -> list[MemberRecord]:
        image = await self._visible(caller, image_id)
        self._require_shared(image)
        members = await self.repo.members(image_id)
        if caller.is_admin or image.owner == caller.project_id:
            return members
        return [m for m in members if m.member == caller.project_id]

    async def member(self, caller: Caller, image_id: str, member: str) -> MemberRecord:
        image = await self._visible(caller, image_id)
        self._require_shared(image)
        found = await self.repo.member(image_id, member)
        mine = caller.is_admin or image.owner == caller.project_id
        if found is None or not (mine or member == caller.project_id):
            raise NotFound(f"Member {member} not found for image {image_id}")
        return found

    async def add_member(self, caller: Caller, image_id: str, body: object) -> MemberRecord:
        image = await self._owned(caller, image_id, "add_member")
        self._require_shared(image)
        member = body.get("member") if isinstance(body, dict) else None
        if not isinstance(body, dict) or set(body) != {"member"} or not isinstance(member, str):
            raise BadRequest("Member to be added not specified")
        if not member or len(member) > 255:
            raise BadRequest(f"Invalid member id {member!r}")
        added = await self.repo.add_member(image_id, member)
        if added is None:
            raise Conflict(f"Member {member} already associated with image {image_id}")
        return added

    async def update_member(
        self, caller: Caller, image_id: str, member: str, body: object
    ) -> MemberRecord:
        found = await self.member(caller, image_id, member)
        if member != caller.project_id:
            # Only the consumer accepts or rejects an image shared with it.
            raise Forbidden("You are not permitted to modify 'status' on this image member.")
        status = body.get("status") if isinstance(body, dict) else None
        if status not in MEMBER_STATUSES:
            raise BadRequest(f"Status must be one of: {', '.join(MEMBER_STATUSES)}")
        await self.repo.set_member_status(image_id, member, str(status))
        found.status = str(status)
        return await self.repo.member(image_id, member) or found

    async def delete_member(self, caller: Caller, image_id: str, member: str) -> None:
        image = await self._owned(caller, image_id, "delete_member")
        self._require_shared(image)
        if await self.repo.member(image_id, member) is None:
            raise NotFound(f"Member {member} not found for image {image_id}")
        await self.repo.delete_member(image_id, member)

    @staticmethod
    def _require_shared(image: ImageRecord) -> None:
        if image.visibility != "shared":
            raise Forbidden(
                f"Only shared images have members. Image {image.id} has visibility "
                f"{image.visibility}."
            )
