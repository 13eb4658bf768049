"""Upstream's fake image service, recreated in the mesh's image service for the image samples.

Upstream's image-proxy samples list the eleven images of its fake Glance, by id, name and
properties; the image metadata samples change the first one. Before each case of the `images`
directory they are made afresh (public, active, a byte of data), so no case sees another's
changes. The four ephemeral-encryption images have ids the templates leave open.
"""

from __future__ import annotations

import json
import uuid

import httpx

NO_KERNEL = {"kernel_id": "nokernel", "ramdisk_id": "nokernel"}
X86 = {"architecture": "x86_64"}
# (id or the template's placeholder, name, properties); "" is how a null property is stored.
FAKE_IMAGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("70a599e0-31e7-49b7-b260-868f441e862b", "fakeimage7",
     {**X86, "auto_disk_config": "True", **NO_KERNEL}),
    ("155d900f-4e14-4e4c-a73d-069cbf4541e6", "fakeimage123456", {**X86, **NO_KERNEL}),
    ("a2459075-d96c-40d5-893e-577ff92e721c", "fakeimage123456", dict(NO_KERNEL)),
    ("a440c04b-79fa-479c-bed1-0b816eaec379", "fakeimage6",
     {**X86, "auto_disk_config": "False", **NO_KERNEL}),
    ("c905cedb-7281-47e4-8a62-f26bc5fc4c77", "fakeimage123456",
     {"kernel_id": "155d900f-4e14-4e4c-a73d-069cbf4541e6", "ramdisk_id": ""}),
    ("cedef40a-ed67-4d10-800e-17455edce175", "fakeimage123456", dict(NO_KERNEL)),
    ("76fa36fc-c930-4bf3-8c8a-ea2a2420deb6", "fakeimage123456", {**X86, **NO_KERNEL}),
    ("eph_encryption_id", "fakeimage123456", {"hw_ephemeral_encryption": "True"}),
    ("eph_encryption_disabled_id", "fakeimage123456", {"hw_ephemeral_encryption": "False"}),
    ("eph_encryption_luks_id", "fakeimage123456",
     {"hw_ephemeral_encryption": "True", "hw_ephemeral_encryption_format": "luks"}),
    ("eph_encryption_plain_id", "fakeimage123456",
     {"hw_ephemeral_encryption": "True", "hw_ephemeral_encryption_format": "plain"}),
)  # fmt: skip
FIRST = FAKE_IMAGES[0][0]
# Properties a case may have set: removed again unless the image has them.
_RESETTABLE = {k for _, _, props in FAKE_IMAGES for k in props} | {"Label"}


class FakeImages:
    def __init__(self, image_url: str) -> None:
        self.http = httpx.Client(base_url=image_url.rstrip("/"), timeout=20)
        # Placeholder -> the id the image got here (the literal ids stay themselves).
        self.ids = {key: key if "-" in key else str(uuid.uuid4()) for key, _, _ in FAKE_IMAGES}

    def close(self) -> None:
        self.http.close()

    def reset(self) -> None:
        """Every fake image as upstream's fixture has it (made once, its properties put back
        before each case: a deleted image's id cannot be used again)."""
        for key, name, properties in FAKE_IMAGES:
            image_id = self.ids[key]
            found = self.http.get(f"/v2/images/{image_id}")
            if found.status_code == 404:
                self._create(image_id, name, properties)
                continue
            current = found.json()
            stale = (set(current) & _RESETTABLE) - set(properties)
            ops = [{"op": "remove", "path": f"/{k}"} for k in sorted(stale)]
            ops += [{"op": "add", "path": f"/{k}", "value": v} for k, v in properties.items()]
            self.http.patch(
                f"/v2/images/{image_id}",
                content=json.dumps(ops),
                headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
            ).raise_for_status()

    def _create(self, image_id: str, name: str, properties: dict[str, str]) -> None:
        body = {
            "id": image_id,
            "name": name,
            "visibility": "public",
            "container_format": "bare",
            "disk_format": "raw",
            **properties,
        }
        self.http.post(
            "/v2/images", content=json.dumps(body), headers={"Content-Type": "application/json"}
        ).raise_for_status()
        self.http.put(
            f"/v2/images/{image_id}/file",
            content=b"\0",
            headers={"Content-Type": "application/octet-stream"},
        ).raise_for_status()

    def placeholders(self) -> dict[str, str]:
        return {k: v for k, v in self.ids.items() if k != v}
