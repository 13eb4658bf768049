"""Commands that carry external events to a guest's host, and what a host does about a guest
evacuated away from it (stop counting it at once, destroy it at start-up), as plain types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PowerUpdate:
    uuid: str
    power_on: bool


@dataclass(frozen=True)
class ExtendVolume:
    uuid: str
    volume_id: str
    size_gb: int


@dataclass(frozen=True)
class DestroyEvacuated:
    uuid: str
    migration_uuid: str


@dataclass(frozen=True)
class ForgetEvacuated:
    uuid: str
    migration_uuid: str


HostEventCommand = PowerUpdate | ExtendVolume | DestroyEvacuated | ForgetEvacuated
