"""Nova's image metadata proxy (until 2.38): an image's properties, read by whoever may see
the image and written by its owner (or an admin), as the image service would allow.

DB round trips: one read; writes one read and one update.
"""

from __future__ import annotations

from dataclasses import fields

from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Forbidden, NotFound
from novamesh.gateway.domain import quotas
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.image.domain import ImageRecord
from novamesh.gateway.image.repo import ImageRepo

MAX_VERSION = "2.38"
# Core attributes are not properties: the image service refuses them as property names.
_RESERVED = frozenset(f.name for f in fields(ImageRecord)) | {
    "location", "locations", "deleted", "deleted_at", "direct_url", "self", "file", "schema",
}  # fmt: skip
_SHARED = ("public", "community", "shared")


async def _image(deps: Deps, who: Identity, image_id: str, write: bool) -> ImageRecord:
    image = await ImageRepo(deps.sessions).get(image_id)
    mine = image is not None and (who.is_admin or image.owner == who.project_id)
    if image is None or image.status == "deleted" or not (mine or image.visibility in _SHARED):
        raise NotFound("Image not found.")
    if write and not mine:
        raise Forbidden(f"Not authorized for image {image_id}.")
    return image


async def _save(deps: Deps, who: Identity, image: ImageRecord, props: dict[str, str]) -> None:
    reserved = sorted(set(props) & _RESERVED)
    if reserved:
        raise Forbidden(f"Not authorized for image {image.id}: {reserved[0]} is reserved.")
    limits = await quotas.limits_for(deps, who.project_id, who.user_id)
    allowed = limits.get("metadata_items", -1)
    if allowed != -1 and len(props) > allowed:
        raise Forbidden("Image metadata limit exceeded")
    image.properties = props
    if not await ImageRepo(deps.sessions).save(image):
        raise NotFound("Image not found.")


async def get_all(deps: Deps, who: Identity, image_id: str) -> dict[str, str]:
    return dict((await _image(deps, who, image_id, write=False)).properties)


async def get_one(deps: Deps, who: Identity, image_id: str, key: str) -> str:
    props = await get_all(deps, who, image_id)
    if key not in props:
        raise NotFound("The resource could not be found.")
    return props[key]


async def merge(deps: Deps, who: Identity, image_id: str, items: dict[str, str]) -> dict[str, str]:
    image = await _image(deps, who, image_id, write=True)
    props = {**image.properties, **items}
    await _save(deps, who, image, props)
    return props


async def replace(
    deps: Deps, who: Identity, image_id: str, items: dict[str, str]
) -> dict[str, str]:
    image = await _image(deps, who, image_id, write=True)
    await _save(deps, who, image, dict(items))
    return dict(items)


async def set_one(
    deps: Deps, who: Identity, image_id: str, key: str, item: dict[str, str]
) -> dict[str, str]:
    if key not in item:
        raise BadRequest("Request body and URI mismatch")
    image = await _image(deps, who, image_id, write=True)
    await _save(deps, who, image, {**image.properties, key: item[key]})
    return {key: item[key]}


async def delete_one(deps: Deps, who: Identity, image_id: str, key: str) -> None:
    image = await _image(deps, who, image_id, write=True)
    if key not in image.properties:
        raise NotFound("Invalid metadata key")
    await _save(deps, who, image, {k: v for k, v in image.properties.items() if k != key})
