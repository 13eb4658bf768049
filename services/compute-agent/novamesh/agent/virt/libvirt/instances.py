"""A guest's files on its host: its directory, its disks, its console log and the spec it was
built from (kept so that restarts, resizes and unrescue can rebuild its domain XML)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from novamesh.agent.virt.model import BlockDevice, InstanceSpec, NetworkInterface, RequestedNetwork

CONSOLE_LOG_MAX = 100 * 1024  # Nova returns at most the last 100 KiB of the log.


class InstanceFiles:
    def __init__(self, root: Path, uuid: str) -> None:
        self.dir = root / uuid
        self.uuid = uuid

    @property
    def disk(self) -> Path:
        return self.dir / "disk"

    @property
    def rootfs(self) -> Path:
        """An LXC guest's root directory."""
        return self.dir / "rootfs"

    @property
    def ephemeral(self) -> Path:
        return self.dir / "disk.eph0"

    @property
    def config_drive(self) -> Path:
        return self.dir / "disk.config"

    @property
    def rescue_disk(self) -> Path:
        return self.dir / "disk.rescue"

    @property
    def resize_backup(self) -> Path:
        return self.dir / "disk.resize-backup"

    @property
    def console_log(self) -> Path:
        return self.dir / "console.log"

    @property
    def spec_file(self) -> Path:
        return self.dir / "spec.json"

    @property
    def old_spec_file(self) -> Path:
        return self.dir / "spec.resize-backup.json"

    @property
    def volumes_file(self) -> Path:
        return self.dir / "volumes.json"

    def volumes(self) -> dict[str, str]:
        """Attached volumes: volume id -> disk target."""
        if not self.volumes_file.exists():
            return {}
        return dict(json.loads(self.volumes_file.read_text()))

    def set_volume(self, volume_id: str, target: str | None) -> None:
        vols = self.volumes()
        if target is None:
            vols.pop(volume_id, None)
        else:
            vols[volume_id] = target
        self.volumes_file.write_text(json.dumps(vols))

    def save(self, spec: InstanceSpec, interfaces: tuple[NetworkInterface, ...]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        data = {
            "spec": dataclasses.asdict(spec),
            "interfaces": [dataclasses.asdict(i) for i in interfaces],
        }
        tmp = self.spec_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.spec_file)

    def load(self) -> tuple[InstanceSpec, tuple[NetworkInterface, ...]] | None:
        return _load(self.spec_file)

    def load_old(self) -> tuple[InstanceSpec, tuple[NetworkInterface, ...]] | None:
        return _load(self.old_spec_file)

    def console_output(self) -> str:
        if not self.console_log.exists():
            return ""
        with self.console_log.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - CONSOLE_LOG_MAX))
            return f.read().decode(errors="replace")


def _load(path: Path) -> tuple[InstanceSpec, tuple[NetworkInterface, ...]] | None:
    if not path.exists():
        return None
    raw: dict[str, Any] = json.loads(path.read_text())
    spec = dict(raw["spec"])
    spec["networks"] = tuple(RequestedNetwork(**n) for n in spec.get("networks", ()))
    spec["block_devices"] = tuple(BlockDevice(**b) for b in spec.get("block_devices", ()))
    return (
        InstanceSpec(**spec),
        tuple(NetworkInterface(**i) for i in raw.get("interfaces", ())),
    )
