"""The fake driver: many simulated hosts in one process, for scale testing the whole mesh.

It is a product feature, not a test double: every host has a size from configuration, guests
take `spawn_seconds` to boot, keep a power state, answer the power actions, pause and suspend,
rescue, resize and cold migration between its hosts, password changes and crash dumps, keep a
console log, and get addresses on a simulated "private" network. Guests survive an agent
restart when a state file is given (the simulated hypervisor keeps running while the agent is
away).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import ipaddress
import json
import logging
import os
import time
import urllib.request
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from novamesh.agent.states import PowerState
from novamesh.agent.virt.driver import REQUIRED_CAPABILITIES
from novamesh.agent.virt.fake_devices import DEVICE_CAPABILITIES, FakeDevices
from novamesh.agent.virt.fake_migration import FakeLiveMigration
from novamesh.agent.virt.fake_topology import FakeTopology
from novamesh.agent.virt.model import (
    DriverError,
    HostCapacity,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    InvalidInstanceState,
    NetworkInterface,
    RequestedNetwork,
)

LOG = logging.getLogger(__name__)

DEFAULT_NETWORK = "private"
_POOL = ipaddress.IPv4Network("192.168.0.0/16")
_PORT_NAMESPACE = uuidlib.UUID("0a4f3a52-8b0c-4c52-9e55-3f1c1d7a6b10")
_IMAGE_TYPE_TRAITS = tuple(
    f"COMPUTE_IMAGE_TYPE_{t}" for t in ("AKI", "AMI", "ARI", "ISO", "QCOW2", "RAW")
)
_CPU_INFO = json.dumps(
    {
        "arch": "x86_64",
        "model": "fake",
        "vendor": "novamesh",
        "topology": {"cells": 1, "sockets": 1, "cores": 1, "threads": 1},
        "features": [],
    }
)


@dataclass(frozen=True)
class FakeSettings:
    hosts: tuple[str, ...]
    vcpus: int = 16
    memory_mb: int = 32768
    disk_gb: int = 500
    spawn_seconds: float = 0.0
    # Simulated host topology: NUMA cells, and PCI devices as "vendor:product:count".
    numa_nodes: int = 2
    pci_devices: tuple[str, ...] = ()
    # Where the simulated guests are kept across agent restarts; None keeps them in memory.
    state_file: Path | None = None
    # The image service snapshots are uploaded to (Glance v2 `PUT /v2/images/{id}/file`).
    image_upload_url: str = ""
    image_token: str = ""
    # host:port reported as every guest's console (a test's console server); empty: a
    # simulated port per guest.
    console_address: str = ""
    # Seconds a live migration takes, its progress reported on the way (0: instant).
    live_migration_seconds: float = 0.0


@dataclass
class _Guest:
    uuid: str
    host: str
    power_state: PowerState
    vcpus: int
    memory_mb: int
    disk_gb: int
    interfaces: list[NetworkInterface] = field(default_factory=list)
    flavor_name: str = ""
    rescued: bool = False
    # A digest only: the state file never holds a password.
    admin_password_sha256: str = ""
    crash_dumps: int = 0
    # Image ids of the snapshots taken of this guest.
    snapshots: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    # Attached volumes: volume id -> device name.
    volumes: dict[str, str] = field(default_factory=dict)
    # Attached volumes grown by volume-extended events: volume id -> size in GiB.
    volume_sizes: dict[str, int] = field(default_factory=dict)

    def log(self, line: str) -> None:
        # Bounded like a real serial log ring buffer.
        self.console.append(f"[{time.strftime('%Y-%m-%dT%H:%M:%S')}] {line}")
        del self.console[:-200]

    def info(self) -> InstanceInfo:
        return InstanceInfo(
            uuid=self.uuid,
            host=self.host,
            power_state=self.power_state,
            vcpus=self.vcpus,
            memory_mb=self.memory_mb,
            disk_gb=self.disk_gb,
            interfaces=tuple(self.interfaces),
        )


class FakeDriver(FakeDevices, FakeTopology, FakeLiveMigration):
    name = "fake"
    capabilities = (
        REQUIRED_CAPABILITIES
        | {
            "operation.pause",
            "operation.unpause",
            "operation.suspend",
            "operation.resume",
            "operation.get-host-ip",
            "operation.get-host-uptime",
            "console.serial.log",
            "operation.rescue",
            "operation.resize",
            "operation.set-admin-password",
            "operation.trigger-crash-dump",
            "operation.snapshot",
            "operation.live-migrate",
            "operation.force-live-migration-to-complete",
            "operation.abort-in-progress-live-migration",
        }
        | DEVICE_CAPABILITIES
    )

    def __init__(self, settings: FakeSettings) -> None:
        if not settings.hosts:
            raise ValueError("the fake driver needs at least one host")
        self._settings = settings
        self._guests: dict[str, _Guest] = {}
        # The source copy of each guest being resized or migrated, until confirm or revert.
        self._held: dict[str, _Guest] = {}
        self._used_addresses: set[str] = set()
        self._address_cursor = 0
        self._started = time.monotonic()
        self._flush_task: asyncio.Task[None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    async def init_host(self) -> None:
        path = self._settings.state_file
        if path is None or not path.exists():
            return
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            LOG.warning("ignoring unreadable fake hypervisor state %s: %s", path, exc)
            return
        for raw in saved.get("guests", []):
            if raw["host"] not in self._settings.hosts:
                continue
            guest = _Guest(
                uuid=raw["uuid"],
                host=raw["host"],
                power_state=PowerState(raw["power_state"]),
                vcpus=raw["vcpus"],
                memory_mb=raw["memory_mb"],
                disk_gb=raw["disk_gb"],
                interfaces=[NetworkInterface(**i) for i in raw.get("interfaces", [])],
                flavor_name=raw.get("flavor_name", ""),
                rescued=raw.get("rescued", False),
                admin_password_sha256=raw.get("admin_password_sha256", ""),
                crash_dumps=raw.get("crash_dumps", 0),
                snapshots=raw.get("snapshots", []),
                console=raw.get("console", []),
                volumes=raw.get("volumes", {}),
                volume_sizes=raw.get("volume_sizes", {}),
            )
            # A guest caught mid-boot by the restart never finished booting.
            if guest.power_state == PowerState.NOSTATE:
                continue
            self._guests[guest.uuid] = guest
            self._used_addresses.update(i.address for i in guest.interfaces)
        LOG.info("fake hypervisor recovered %d guests", len(self._guests))

    async def cleanup(self) -> None:
        if self._flush_task is not None:
            self._flush_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush_task
            self._flush_task = None
        self._write_state()

    # ---- hosts --------------------------------------------------------------------------

    def list_hosts(self) -> Sequence[str]:
        return self._settings.hosts

    def get_host_capacity(self, host: str) -> HostCapacity:
        self._check_host(host)
        return HostCapacity(
            host=host,
            nodename=host,
            hypervisor_type="fake",
            hypervisor_version=1000,
            vcpus=self._settings.vcpus,
            memory_mb=self._settings.memory_mb,
            local_gb=self._settings.disk_gb,
            host_ip="127.0.0.1",
            cpu_info=_CPU_INFO,
            traits=_IMAGE_TYPE_TRAITS,
        )

    # ---- required operations ------------------------------------------------------------

    async def spawn(self, host: str, instance: InstanceSpec) -> Sequence[NetworkInterface]:
        self._check_host(host)
        existing = self._guests.get(instance.uuid)
        if existing is not None and existing.power_state != PowerState.NOSTATE:
            return existing.interfaces
        guest = _Guest(
            uuid=instance.uuid,
            host=host,
            power_state=PowerState.NOSTATE,
            vcpus=instance.vcpus,
            memory_mb=instance.memory_mb,
            disk_gb=instance.disk_gb,
            flavor_name=instance.flavor_name,
        )
        self._guests[instance.uuid] = guest
        guest.interfaces = self._plug(instance)
        for volume in instance.volumes:
            # The boot's volumes, root first: what a real host would attach (and fill from
            # the image for a volume made from one).
            guest.volumes[volume.volume_id] = volume.device_name
            guest.volume_sizes[volume.volume_id] = volume.volume_size
            source = f" from image {volume.image_id}" if volume.image_id else ""
            guest.log(f"volume {volume.volume_id}{source} at {volume.device_name}")
        guest.log(f"booting {instance.uuid} on {host}")
        if self._settings.spawn_seconds > 0:
            await asyncio.sleep(self._settings.spawn_seconds)
        if self._guests.get(instance.uuid) is not guest:
            raise InstanceNotFound(f"instance {instance.uuid} was deleted while it was spawning")
        guest.power_state = PowerState.RUNNING
        guest.log("login: ")
        self._changed()
        return guest.interfaces

    async def destroy(self, host: str, uuid: str) -> None:
        held = self._held.get(uuid)
        if held is not None and held.host == host:
            del self._held[uuid]
            self._changed()
            return
        guest = self._guests.get(uuid)
        # While a move is under way only the named host's copy goes.
        if guest is None or (held is not None and guest.host != host):
            return
        del self._guests[uuid]
        if held is None:
            self._used_addresses.difference_update(i.address for i in guest.interfaces)
        self._changed()

    async def power_on(self, host: str, uuid: str) -> None:
        self._transition(
            host, uuid, {PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.RUNNING}, "start"
        ).power_state = PowerState.RUNNING
        self._changed()

    async def power_off(self, host: str, uuid: str) -> None:
        self._transition(host, uuid, None, "stop").power_state = PowerState.SHUTDOWN
        self._changed()

    async def reboot(self, host: str, uuid: str, *, hard: bool) -> None:
        allowed = None if hard else {PowerState.RUNNING}
        self._transition(host, uuid, allowed, "reboot").power_state = PowerState.RUNNING
        self._changed()

    async def get_info(self, host: str, uuid: str) -> InstanceInfo:
        return self._guest(host, uuid).info()

    async def list_instances(self, host: str) -> Sequence[InstanceInfo]:
        return [g.info() for g in self._guests.values() if g.host == host]

    # ---- optional capabilities ----------------------------------------------------------

    async def pause(self, host: str, uuid: str) -> None:
        self._transition(host, uuid, {PowerState.RUNNING}, "pause").power_state = PowerState.PAUSED
        self._changed()

    async def unpause(self, host: str, uuid: str) -> None:
        self._transition(
            host, uuid, {PowerState.PAUSED}, "unpause"
        ).power_state = PowerState.RUNNING
        self._changed()

    async def suspend(self, host: str, uuid: str) -> None:
        allowed = {PowerState.RUNNING, PowerState.PAUSED}
        self._transition(host, uuid, allowed, "suspend").power_state = PowerState.SUSPENDED
        self._changed()

    async def resume(self, host: str, uuid: str) -> None:
        self._transition(
            host, uuid, {PowerState.SUSPENDED}, "resume"
        ).power_state = PowerState.RUNNING
        self._changed()

    async def get_console_output(self, host: str, uuid: str) -> str:
        guest = self._guest(host, uuid)
        lines = [*guest.console, f"{guest.uuid} is {guest.power_state.name.lower()}"]
        return "\n".join(lines) + "\n"

    async def rescue(self, host: str, uuid: str, image_id: str, admin_pass: str) -> None:
        guest = self._transition(host, uuid, None, "rescue")
        if guest.rescued:
            raise InvalidInstanceState(f"instance {uuid} is already rescued")
        guest.rescued = True
        guest.power_state = PowerState.RUNNING
        guest.log(f"rescue boot from image {image_id or '(the instance image)'}")
        self._changed()

    async def unrescue(self, host: str, uuid: str) -> None:
        guest = self._transition(host, uuid, None, "unrescue")
        if not guest.rescued:
            raise InvalidInstanceState(f"instance {uuid} is not rescued")
        guest.rescued = False
        guest.power_state = PowerState.RUNNING
        guest.log("normal boot after rescue")
        self._changed()

    async def set_admin_password(self, host: str, uuid: str, password: str) -> None:
        guest = self._transition(host, uuid, {PowerState.RUNNING}, "set the password of")
        guest.admin_password_sha256 = hashlib.sha256(password.encode()).hexdigest()
        guest.log("admin password changed")
        self._changed()

    async def trigger_crash_dump(self, host: str, uuid: str) -> None:
        guest = self._transition(host, uuid, {PowerState.RUNNING}, "crash-dump")
        guest.crash_dumps += 1
        guest.log("NMI received: dumping memory")
        self._changed()

    def set_image_service(self, url: str, token: str) -> None:
        self._settings = dataclasses.replace(
            self._settings, image_upload_url=url, image_token=token
        )

    async def snapshot(self, host: str, uuid: str, image_id: str) -> None:
        """Upload a small qcow2-looking disk as the image's data to the image service."""
        guest = self._guest(host, uuid)
        url = self._settings.image_upload_url
        if not url:
            raise InvalidInstanceState("the fake driver has no image service to upload to")
        header = b"QFI\xfb" + (3).to_bytes(4, "big")
        data = header + json.dumps({"instance": uuid, "flavor": guest.flavor_name}).encode()
        data += bytes(4096 - len(data))
        target = f"{url.rstrip('/')}/v2/images/{image_id}/file"
        try:
            await asyncio.to_thread(_put, target, self._settings.image_token, data)
        except OSError as exc:
            raise DriverError(f"snapshot upload failed: {exc}") from exc
        guest.snapshots.append(image_id)
        guest.log(f"snapshot {image_id} uploaded")
        self._changed()

    # ---- moves (resize, cold migration) between this driver's hosts --------------------

    async def migrate_disk_and_power_off(self, host: str, uuid: str, dest_host: str) -> None:
        guest = self._guest(host, uuid)
        guest.power_state = PowerState.SHUTDOWN
        guest.log(f"powered off to move to {dest_host}")
        self._held[uuid] = self._guests.pop(uuid)
        self._changed()

    async def finish_migration(self, host: str, instance: InstanceSpec) -> None:
        self._check_host(host)
        held = self._held.get(instance.uuid)
        guest = _Guest(
            uuid=instance.uuid,
            host=host,
            power_state=PowerState.RUNNING,
            vcpus=instance.vcpus,
            memory_mb=instance.memory_mb,
            disk_gb=instance.disk_gb,
            flavor_name=instance.flavor_name,
            interfaces=list(held.interfaces) if held else self._plug(instance),
            console=list(held.console) if held else [],
        )
        guest.log(f"booted on {host} with flavor {instance.flavor_name or '?'}")
        self._guests[instance.uuid] = guest
        self._changed()

    async def confirm_migration(self, host: str, uuid: str) -> None:
        held = self._held.get(uuid)
        if held is not None and held.host == host:
            del self._held[uuid]
            self._changed()

    async def finish_revert_migration(self, host: str, instance: InstanceSpec) -> None:
        self._check_host(host)
        held = self._held.pop(instance.uuid, None)
        current = self._guests.get(instance.uuid)
        if current is not None and current.host != host:
            del self._guests[instance.uuid]
        if held is None or held.host != host:
            # Nothing kept here (an agent restart lost it): boot it again from the spec.
            await self.spawn(host, instance)
            return
        held.power_state = PowerState.RUNNING
        held.log("resumed on the source after a revert")
        self._guests[instance.uuid] = held
        self._changed()

    def guest_state(self, uuid: str) -> dict[str, object] | None:
        """What the simulated hypervisor holds for a guest (for operators and tests)."""
        guest = self._guests.get(uuid)
        held = self._held.get(uuid)
        if guest is None and held is None:
            return None
        state: dict[str, object] = {}
        if guest is not None:
            state.update(
                host=guest.host,
                power_state=int(guest.power_state),
                vcpus=guest.vcpus,
                memory_mb=guest.memory_mb,
                flavor_name=guest.flavor_name,
                rescued=guest.rescued,
                admin_password_sha256=guest.admin_password_sha256,
                crash_dumps=guest.crash_dumps,
                volumes=dict(guest.volumes),
                volume_sizes=dict(guest.volume_sizes),
            )
        if held is not None:
            state["held_on"] = held.host
        return state

    async def get_host_uptime(self, host: str) -> str:
        self._check_host(host)
        up = int(time.monotonic() - self._started)
        now = time.strftime("%H:%M:%S")
        return f" {now} up {up // 86400} days, {up % 86400 // 3600:2d}:{up % 3600 // 60:02d}"

    # ---- internals ----------------------------------------------------------------------

    def _check_host(self, host: str) -> None:
        if host not in self._settings.hosts:
            raise InstanceNotFound(f"host {host} is not run by this agent")

    def _guest(self, host: str, uuid: str) -> _Guest:
        guest = self._guests.get(uuid)
        if guest is None or guest.host != host or guest.power_state == PowerState.NOSTATE:
            raise InstanceNotFound(f"instance {uuid} is not on host {host}")
        return guest

    def _transition(
        self, host: str, uuid: str, allowed: set[PowerState] | None, action: str
    ) -> _Guest:
        guest = self._guest(host, uuid)
        if allowed is not None and guest.power_state not in allowed:
            raise InvalidInstanceState(
                f"cannot {action} instance {uuid} while its power state is "
                f"{guest.power_state.name.lower()}"
            )
        return guest

    def _plug(self, instance: InstanceSpec) -> list[NetworkInterface]:
        requested = [n for n in instance.networks if n.network_id != "auto"]
        if any(n.network_id == "none" for n in requested):
            return []
        if not requested:
            requested = [RequestedNetwork()]
        interfaces = []
        for index, net in enumerate(requested):
            address = net.fixed_ip or self._next_address()
            self._used_addresses.add(address)
            port_seed = f"{instance.uuid}/{index}"
            port_id = net.port_id or str(uuidlib.uuid5(_PORT_NAMESPACE, port_seed))
            mac_bytes = uuidlib.uuid5(_PORT_NAMESPACE, port_seed).bytes[:3]
            interfaces.append(
                NetworkInterface(
                    network=net.network_id or DEFAULT_NETWORK,
                    address=address,
                    version=ipaddress.ip_address(address).version,
                    mac_address="fa:16:3e:" + ":".join(f"{b:02x}" for b in mac_bytes),
                    port_id=port_id,
                    tag=net.tag,
                )
            )
        return interfaces

    def _next_address(self) -> str:
        # Round-robin from where the last search stopped: a freed address is reused only after
        # the pool wraps, and a host with thousands of guests does not rescan them all.
        size = _POOL.num_addresses
        for step in range(size):
            index = (self._address_cursor + step) % size
            if index % 256 in (0, 255):
                continue
            text = str(_POOL.network_address + index)
            if text not in self._used_addresses:
                self._address_cursor = index + 1
                return text
        raise InvalidInstanceState("the fake network has no free address", retryable=True)

    def _changed(self) -> None:
        """Save the guests soon; many changes in a burst cost one write."""
        if self._settings.state_file is None or self._flush_task is not None:
            return
        self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(0.2)
        self._flush_task = None
        self._write_state()

    def _write_state(self) -> None:
        path = self._settings.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        guests = [
            {**asdict(g), "power_state": int(g.power_state)}
            for g in self._guests.values()
            if g.power_state != PowerState.NOSTATE
        ]
        held = [{**asdict(g), "power_state": int(g.power_state)} for g in self._held.values()]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"guests": guests, "held": held}), encoding="utf-8")
        os.replace(tmp, path)


def _put(url: str, token: str, data: bytes) -> None:
    req = urllib.request.Request(
        url,
        data=data,
        method="PUT",
        headers={"Content-Type": "application/octet-stream", "X-Auth-Token": token},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        if resp.status not in (200, 201, 204):
            raise DriverError(f"the image service answered HTTP {resp.status}")
