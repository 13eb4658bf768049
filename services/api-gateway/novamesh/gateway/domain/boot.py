"""Booting servers (POST /servers and the typed CreateServer): validate against the catalog,
record the builds, hand them to the router, and undo the records if it refuses.

DB round trips: flavor (1, plus the selectin loads of its extra specs and projects), image (1),
keypair (1 when key_name is given), quota limits (2) and usage (1), then one transaction for
every instance's records and the quota recheck (1); one gRPC call to the router. A router
failure adds one transaction to remove the records again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import secrets
import string
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from novamesh.agent.v1 import agent_pb2, block_devices_pb2
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb import models
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import ApiError, BadRequest
from novamesh.gateway.db import catalog, records
from novamesh.gateway.domain import aggregates, bdm, bdm_legacy, boot_volumes, quotas, states
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.server_groups import add_members, check_member_quota, find_group
from novamesh.gateway.views.servers import DEFAULT_AVAILABILITY_ZONE
from novamesh.scheduler.v1 import request_spec_pb2


@dataclass
class RequestedNetwork:
    network_id: str = ""
    port_id: str = ""
    fixed_ip: str = ""
    tag: str = ""


@dataclass
class BootRequest:
    name: str
    flavor_ref: str
    image_ref: str = ""
    admin_pass: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # "auto", "none", or explicit networks.
    networks: str | list[RequestedNetwork] = "auto"
    auto_disk_config: bool | None = None
    access_ip_v4: str = ""
    access_ip_v6: str = ""
    availability_zone: str = ""
    config_drive: bool = False
    key_name: str = ""
    min_count: int = 1
    max_count: int = 1
    return_reservation_id: bool = False
    security_groups: list[str] = field(default_factory=list)
    user_data: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    scheduler_hints: dict[str, list[str]] = field(default_factory=dict)
    host: str = ""
    hypervisor_hostname: str = ""
    hostname: str = ""
    # 2.63: ids of the certificates that must have signed the image (shown with the server).
    trusted_image_certificates: list[str] = field(default_factory=list)
    # The legacy (v1) block_device_mapping as given (schema-valid entries).
    legacy_block_device_mapping: list[dict[str, object]] = field(default_factory=list)
    block_device_mapping: list[bdm.BlockDevice] = field(default_factory=list)


@dataclass
class BootResult:
    instances: list[router_pb2.Instance]
    admin_pass: str
    reservation_id: str


_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 12) -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def sanitize_hostname(name: str) -> str:
    """Nova's sanitize_hostname: lowercase, spaces and underscores to dashes, [a-z0-9.-]."""
    host = name.lower().replace(" ", "-").replace("_", "-")
    host = re.sub(r"[^\w.-]+", "", host, flags=re.ASCII).replace("_", "-")
    host = host.strip(".-")[:63].rstrip(".-")
    return host or "server"


def to_flavor(flavor: models.Flavor) -> request_spec_pb2.Flavor:
    return request_spec_pb2.Flavor(
        id=flavor.flavorid,
        name=flavor.name,
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb,
        swap=flavor.swap,
        extra_specs={spec.key: spec.value for spec in flavor.extra_specs},
        description=flavor.description or "",
        is_public=flavor.is_public,
        rxtx_factor=flavor.rxtx_factor,
        disabled=flavor.disabled,
    )


def to_image_meta(image: models.Image) -> request_spec_pb2.ImageMeta:
    return request_spec_pb2.ImageMeta(
        id=image.id,
        name=image.name or "",
        container_format=image.container_format or "",
        disk_format=image.disk_format or "",
        size=image.size or 0,
        min_ram=image.min_ram,
        min_disk=image.min_disk,
        properties={k: str(v) for k, v in (image.properties or {}).items()},
        checksum=image.checksum or "",
    )


async def _flavor(deps: Deps, who: Identity, ref: str) -> models.Flavor:
    flavor_id = ref.rstrip("/").rsplit("/", 1)[-1]
    flavor = await catalog.get_flavor(deps.sessions, flavor_id)
    visible = flavor is not None and (
        flavor.is_public
        or who.is_admin
        or any(p.project_id == who.project_id for p in flavor.projects)
    )
    if flavor is None or flavor.disabled or not visible:
        raise BadRequest(f"Flavor {flavor_id} could not be found.")
    return flavor


async def _image(deps: Deps, who: Identity, ref: str) -> models.Image:
    image_id = ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        uuidlib.UUID(image_id)
    except ValueError:
        raise BadRequest("Invalid imageRef provided.") from None
    image = await catalog.get_image(deps.sessions, image_id)
    if image is None or image.status == "deleted":
        raise BadRequest(f"Image {image_id} could not be found.")
    if not (
        who.is_admin
        or image.visibility in ("public", "community")
        or image.owner == who.project_id
        or (
            image.visibility == "shared"
            and await catalog.image_member_status(deps.sessions, image_id, who.project_id)
            == "accepted"
        )
    ):
        raise BadRequest(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    return image


def _check_fit(flavor: models.Flavor, image: models.Image) -> None:
    if image.min_ram and flavor.memory_mb < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if flavor.root_gb:
        if image.min_disk and flavor.root_gb < image.min_disk:
            raise BadRequest("Flavor's disk is too small for requested image.")
        if image.size and image.size > flavor.root_gb * 1024**3:
            raise BadRequest("Flavor's disk is too small for requested image.")


def _destination(who: Identity, req: BootRequest) -> tuple[str, str, str]:
    """(zone, host, node) from `zone:host:node` (admin) or the 2.74 host fields."""
    zone, host, node = req.availability_zone, req.host, req.hypervisor_hostname
    if ":" in zone:
        zone, _, rest = zone.partition(":")
        host, _, node = rest.partition(":")
        policy.authorize(who, "os_compute_api:servers:create:forced_host")
    elif host or node:
        policy.authorize(who, "os_compute_api:servers:create:forced_host")
    return zone, host, node


async def _check_zone(deps: Deps, zone: str, host: str) -> None:
    """A requested zone must exist (have hosts) unless a host is forced, as in Nova; the
    default zone is always accepted (its hosts may not have registered yet)."""
    if not zone or host or zone == DEFAULT_AVAILABILITY_ZONE:
        return
    if zone not in await aggregates.zones(deps, DEFAULT_AVAILABILITY_ZONE):
        raise BadRequest("The requested availability zone is not available")


def _requested_networks(req: BootRequest) -> list[agent_pb2.RequestedNetwork]:
    if isinstance(req.networks, str):
        return []
    out = []
    for net in req.networks:
        if not net.port_id:
            try:
                uuidlib.UUID(net.network_id)
            except ValueError:
                raise BadRequest(
                    f"Bad networks format: network uuid is not in proper format ({net.network_id})"
                ) from None
        out.append(
            agent_pb2.RequestedNetwork(
                network_id=net.network_id,
                port_id=net.port_id,
                fixed_ip=net.fixed_ip,
                tag=net.tag,
            )
        )
    return out


async def create(deps: Deps, who: Identity, request_id: str, req: BootRequest) -> BootResult:
    policy.authorize(who, "os_compute_api:servers:create", who.project_id)
    if req.legacy_block_device_mapping and req.block_device_mapping:
        raise BadRequest("Using different block_device_mapping syntaxes is not allowed")
    if req.legacy_block_device_mapping:
        req = dataclasses.replace(req, block_device_mapping=_from_legacy(req))
    from_volume = bdm.boots_from_volume(req.block_device_mapping)
    image_ref = req.image_ref or bdm.root_image(req.block_device_mapping)
    if not image_ref and not req.block_device_mapping:
        raise BadRequest("Missing imageRef attribute")
    if bdm.volumes(req.block_device_mapping) and req.max_count > 1:
        raise BadRequest("Cannot attach one or more volumes to multiple instances")
    if req.min_count > req.max_count:
        raise BadRequest("min_count must be <= max_count")
    zone, host, node = _destination(who, req)
    await _check_zone(deps, zone, host)
    flavor = await _flavor(deps, who, req.flavor_ref)
    image = await _image(deps, who, image_ref) if image_ref else None
    if image is not None and not from_volume:
        _check_fit(flavor, image)
    volume_images = await _volume_images(deps, who, req.block_device_mapping)
    devices = _block_devices(deps, req, image.id if image is not None else "", flavor)
    boot_image = image
    if from_volume:
        # A volume-backed server has no image of its own (image ""); its image metadata,
        # for the scheduler and the guest, is the one its root volume is made from.
        boot_image = volume_images.get(bdm.root_volume_image(devices)) or image
        if boot_image is not None:
            _check_fit_volume(flavor, boot_image, devices)
    key_data = ""
    if req.key_name:
        keypair = await catalog.get_keypair(deps.sessions, who.user_id, req.key_name)
        if keypair is None:
            raise BadRequest("Invalid key_name provided.")
        key_data = keypair.public_key
    networks = _requested_networks(req)
    group = await _server_group(deps, req)
    if group is not None:
        await check_member_quota(deps, who, group.uuid, len(group.members), req.max_count)
    limits = await quotas.limits_for(deps, who.project_id, who.user_id)
    quotas.check_metadata(limits, len(req.metadata))
    count = await quotas.allowed_instances(
        deps, who, limits, flavor.vcpus, flavor.memory_mb, req.min_count, req.max_count
    )
    admin_pass = req.admin_pass or generate_password()
    reservation_id = "r-" + secrets.token_hex(4)
    flavor_msg = to_flavor(flavor)
    image_meta = (
        to_image_meta(boot_image) if boot_image is not None else request_spec_pb2.ImageMeta()
    )
    if from_volume:
        if boot_image is None:
            image_meta = await boot_volumes.root_image_meta(deps, devices)
        image_meta.id = ""
    auto_disk = req.auto_disk_config
    if auto_disk is None:
        auto_disk = str(image_meta.properties.get("auto_disk_config", "")).lower() == "true"
    now = dt.datetime.now(dt.UTC)
    spec = request_spec_pb2.RequestSpec(
        project_id=who.project_id,
        user_id=who.user_id,
        flavor=flavor_msg,
        image=image_meta,
        availability_zone=zone,
        scheduler_hints={
            k: request_spec_pb2.StringList(values=v) for k, v in req.scheduler_hints.items()
        },
        num_instances=count,
        security_groups=req.security_groups or ["default"],
        is_bfv=from_volume,
    )
    if group is not None:
        spec.instance_group.CopyFrom(group)
    if host or node:
        spec.requested_destination.host = host
        spec.requested_destination.node = node
    sysmeta = {
        "auto_disk_config": str(auto_disk),
        "security_groups": ",".join(req.security_groups or ["default"]),
        "scheduler_hints": json.dumps(req.scheduler_hints),
        "pinned_availability_zone": zone,
        "network_allocation": req.networks if isinstance(req.networks, str) else "requested",
        "root_device_name": _root_device_name(devices),
    }
    if req.trusted_image_certificates:
        sysmeta["trusted_image_certificates"] = json.dumps(req.trusted_image_certificates)
    for key, value in image_meta.properties.items():
        sysmeta[f"image_{key}"] = value
    if group is not None:
        # What GET /servers/{id} shows as server_groups from 2.71.
        sysmeta["server_group"] = group.uuid
    server_uuids = [str(uuidlib.uuid4()) for _ in range(count)]
    # Volumes go with a single server (checked above); taken before anything is recorded.
    claimed = await boot_volumes.claim(deps, who, server_uuids[0], devices, volume_images)
    instances = []
    for index in range(count):
        name = req.name if count == 1 else f"{req.name}-{index + 1}"
        hostname = req.hostname or sanitize_hostname(name)
        if req.hostname and count > 1:
            hostname = f"{req.hostname}-{index + 1}"
        inst = router_pb2.Instance(
            uuid=server_uuids[index],
            name=name,
            hostname=hostname,
            project_id=who.project_id,
            user_id=who.user_id,
            vm_state=states.BUILDING,
            task_state=states.SCHEDULING,
            power_state=0,
            availability_zone=zone,
            flavor=flavor_msg,
            image_ref=image.id if image is not None and not from_volume else "",
            key_name=req.key_name,
            key_data=key_data,
            metadata=req.metadata,
            user_data=req.user_data,
            description=req.description,
            tags=req.tags,
            config_drive=req.config_drive,
            access_ip_v4=req.access_ip_v4,
            access_ip_v6=req.access_ip_v6,
            reservation_id=reservation_id,
            launch_index=index,
            system_metadata=sysmeta,
            requested_networks=networks,
            image=image_meta,
            block_device_mappings=[_bdm_message(d) for d in devices],
        )
        inst.created_at.FromDatetime(now)
        inst.updated_at.FromDatetime(now)
        instances.append(inst)
    builds = [
        records.BuildRecord(
            instance_uuid=inst.uuid,
            project_id=who.project_id,
            user_id=who.user_id,
            instance=inst.SerializeToString(),
            spec=spec.SerializeToString(),
            tags=list(inst.tags),
        )
        for inst in instances
    ]
    try:
        await records.record_builds(deps.sessions, builds)
    except BaseException:
        await boot_volumes.release(deps, claimed)
        raise
    try:
        await quotas.recheck_instances(deps, who, limits, flavor.vcpus, flavor.memory_mb, count)
    except quotas.QuotaExceeded:
        await _undo(deps, [inst.uuid for inst in instances])
        await boot_volumes.release(deps, claimed)
        raise
    if group is not None:
        try:
            await add_members(deps, group.uuid, [inst.uuid for inst in instances])
        except BaseException:
            # add_members removed the builds already; the volumes are this module's to return.
            await boot_volumes.release(deps, claimed)
            raise
    passwords = {inst.uuid: admin_pass for inst in instances}
    try:
        await deps.router.build_instances(spec, instances, passwords, request_id)
    except BaseException:
        await _undo(deps, [inst.uuid for inst in instances])
        await boot_volumes.release(deps, claimed)
        raise
    return BootResult(instances, admin_pass, reservation_id)


def _block_devices(
    deps: Deps, req: BootRequest, image_id: str, flavor: models.Flavor
) -> list[bdm.BlockDevice]:
    requested = [dataclasses.replace(d) for d in req.block_device_mapping]
    for device in requested:
        # The root image may be named by URL in imageRef and by id in the mapping.
        if (
            device.source_type == "image"
            and device.destination_type == "local"
            and device.boot_index == 0
            and not req.image_ref
        ):
            device.uuid = image_id
    disks = bdm.FlavorDisks(flavor.root_gb, flavor.ephemeral_gb, flavor.swap)
    return bdm.check(requested, image_id, disks, deps.cfg.api.max_local_block_devices)


def _from_legacy(req: BootRequest) -> list[bdm.BlockDevice]:
    image_id = req.image_ref.rstrip("/").rsplit("/", 1)[-1] if req.image_ref else ""
    return bdm_legacy.convert([dict(raw) for raw in req.legacy_block_device_mapping], image_id)


async def _volume_images(
    deps: Deps, who: Identity, requested: list[bdm.BlockDevice]
) -> dict[str, models.Image]:
    """The images new volumes are made from, each visible and active, as Nova's _validate_bdm
    requires ("failed to get image")."""
    found: dict[str, models.Image] = {}
    for image_id in bdm.volume_images(requested):
        try:
            found[image_id] = await _image(deps, who, image_id)
        except BadRequest:
            raise bdm.invalid(f"failed to get image {image_id}.") from None
    return found


def _check_fit_volume(
    flavor: models.Flavor, image: models.Image, devices: list[bdm.BlockDevice]
) -> None:
    """Nova's checks of a volume-backed boot's image: memory against min_ram, and a root
    volume the boot creates against min_disk (the flavor's disk does not count)."""
    if image.min_ram and flavor.memory_mb < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    bdm.check_root_volume_size(devices, image.min_disk or 0)


def _root_device_name(devices: list[bdm.BlockDevice]) -> str:
    """The boot device's name as requested, else the first virtio disk: what the compute names
    it (Nova's libvirt driver; the hosts here are KVM-style guests on virtio)."""
    root = next((d for d in devices if d.boot_index == 0 and d.device_name), None)
    if root is None:
        return "/dev/vda"
    name = root.device_name
    return name if name.startswith("/dev/") else f"/dev/{name}"


def _bdm_message(device: bdm.BlockDevice) -> block_devices_pb2.BlockDevice:
    return block_devices_pb2.BlockDevice(
        uuid=str(uuidlib.uuid4()),
        source_type=device.source_type,
        destination_type=device.destination_type,
        boot_index=-1 if device.boot_index is None else device.boot_index,
        device_name=device.device_name,
        device_type=device.device_type,
        disk_bus=device.disk_bus,
        guest_format=device.guest_format,
        volume_size=device.volume_size or 0,
        delete_on_termination=device.delete_on_termination,
        image_id=device.uuid if device.source_type == "image" else "",
        volume_id=device.volume_id or (device.uuid if device.source_type == "volume" else ""),
        volume_type=device.volume_type,
        tag=device.tag,
    )


async def _server_group(deps: Deps, req: BootRequest) -> request_spec_pb2.InstanceGroup | None:
    """The group named by the `group` hint, with its current members, for the scheduler."""
    wanted = req.scheduler_hints.get("group") or []
    if not wanted:
        return None
    found = await find_group(deps, wanted[0])
    if found is None:
        raise BadRequest(f"Instance group {wanted[0]} could not be found.")
    return request_spec_pb2.InstanceGroup(
        uuid=found.uuid,
        name=found.name,
        policy=found.policy,
        rules={k: str(v) for k, v in found.rules.items()},
        members=found.members,
    )


async def _undo(deps: Deps, uuids: Sequence[str]) -> None:
    try:
        await records.forget_builds(deps.sessions, uuids)
    except Exception as exc:  # pragma: no cover - the original error matters more
        raise ApiError(f"Build failed and its records could not be removed: {exc}") from exc
