"""What a fresh local cloud starts with: devstack's flavors and one small image, through the
public REST APIs (as an operator would create them), idempotently; and a clouds.yaml."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# noauth: `user:project`; the user `admin` has the admin role.
ADMIN_TOKEN = "admin:admin"
IMAGE_NAME = "cirros-0.6.2-x86_64-disk"


@dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    ram: int
    vcpus: int
    disk: int


# devstack's flavors (and the two tiny ones tempest uses).
FLAVORS = (
    Flavor("1", "m1.tiny", 512, 1, 1),
    Flavor("2", "m1.small", 2048, 1, 20),
    Flavor("3", "m1.medium", 4096, 2, 40),
    Flavor("4", "m1.large", 8192, 4, 80),
    Flavor("5", "m1.xlarge", 16384, 8, 160),
    Flavor("42", "m1.nano", 128, 1, 1),
    Flavor("84", "m1.micro", 192, 1, 1),
)


def fake_qcow2(size: int = 4096) -> bytes:
    """A few KB that start like a qcow2 image (magic, version 3): enough for the fake driver."""
    header = b"QFI\xfb" + (3).to_bytes(4, "big")
    return header + bytes(size - len(header))


class SeedError(RuntimeError):
    pass


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def call(method: str, url: str, body: object = None, data: bytes | None = None) -> Reply:
    headers = {"X-Auth-Token": ADMIN_TOKEN, "Accept": "application/json"}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif data is not None:
        headers["Content-Type"] = "application/octet-stream"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.read())
    except (urllib.error.URLError, OSError) as err:
        raise SeedError(f"{method} {url}: {err}") from err


def _expect(reply: Reply, ok: tuple[int, ...], what: str) -> Reply:
    if reply.status not in ok:
        raise SeedError(f"{what}: HTTP {reply.status} {reply.body[:300]!r}")
    return reply


def seed_flavors(compute_url: str, say: Callable[[str], None]) -> None:
    """Create each flavor missing by id; an existing flavor is left as it is."""
    base = compute_url.rstrip("/") + "/v2.1/flavors"
    created = []
    for f in FLAVORS:
        if call("GET", f"{base}/{f.id}").status == 200:
            continue
        flavor = {"name": f.name, "ram": f.ram, "vcpus": f.vcpus, "disk": f.disk, "id": f.id}
        _expect(call("POST", base, {"flavor": flavor}), (200, 201, 202), f"create {f.name}")
        created.append(f.name)
    say(f"flavors: created {', '.join(created)}" if created else "flavors: already there")


def find_image(image_url: str) -> str | None:
    """The id of the seeded image when it is there and active."""
    base = image_url.rstrip("/") + "/v2/images"
    listing = _expect(call("GET", f"{base}?name={IMAGE_NAME}"), (200,), "list images").json()
    for image in listing.get("images", []):
        if image.get("status") == "active":
            return str(image["id"])
    return None


def seed_image(image_url: str, say: Callable[[str], None]) -> str:
    """One public qcow2 image, uploaded; returns its id (the existing one when already there)."""
    existing = find_image(image_url)
    if existing is not None:
        say(f"image: {IMAGE_NAME} already there ({existing})")
        return existing
    base = image_url.rstrip("/") + "/v2/images"
    meta = {
        "name": IMAGE_NAME,
        "disk_format": "qcow2",
        "container_format": "bare",
        "visibility": "public",
        "min_disk": 1,
        "min_ram": 0,
    }
    image = _expect(call("POST", base, meta), (201,), "create image").json()
    upload = call("PUT", f"{base}/{image['id']}/file", data=fake_qcow2())
    _expect(upload, (201, 204), "upload image data")
    say(f"image: created {IMAGE_NAME} ({image['id']})")
    return str(image["id"])


def write_clouds_yaml(
    path: Path, compute_url: str, image_url: str | None, placement_url: str | None
) -> None:
    cloud: dict[str, object] = {
        "auth_type": "none",
        "region_name": "RegionOne",
        "compute_endpoint_override": compute_url.rstrip("/") + "/v2.1",
        # Version discovery only (the edge answers it): the CLI builds an identity client even
        # when nothing authenticates.
        "identity_endpoint_override": compute_url.rstrip("/") + "/identity/v3",
    }
    if image_url:
        cloud["image_endpoint_override"] = image_url.rstrip("/")
    if placement_url:
        cloud["placement_endpoint_override"] = placement_url.rstrip("/")
    # The same cloud as the noauth admin: the CLI's admin_token plugin sends the token as is,
    # and it needs an endpoint even though every service's endpoint is overridden.
    admin: dict[str, object] = {
        "auth_type": "admin_token",
        "auth": {"token": "admin:admin", "endpoint": compute_url.rstrip("/") + "/v2.1"},
        **{k: v for k, v in cloud.items() if k != "auth_type"},
    }
    text = (
        "# Written by `make run`: noauth (no Keystone yet); the services' endpoints are given\n"
        "# directly. Use: OS_CLIENT_CONFIG_FILE=<this file> openstack --os-cloud novamesh ...\n"
        "# (novamesh-admin: the same cloud as an admin, for aggregates, services, hypervisors)\n"
    )
    clouds = {"novamesh": cloud, "novamesh-admin": admin}
    text += yaml.safe_dump({"clouds": clouds}, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
