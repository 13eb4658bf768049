"""Commands about a guest's devices and consoles (diagnostics, remote consoles, interface and
volume attachments), as plain types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GetDiagnostics:
    uuid: str


@dataclass(frozen=True)
class GetConsole:
    uuid: str
    # vnc, spice, serial, mks or rdp.
    protocol: str


@dataclass(frozen=True)
class AttachInterface:
    uuid: str
    port_id: str
    network_id: str
    fixed_ip: str = ""
    tag: str = ""


@dataclass(frozen=True)
class DetachInterface:
    uuid: str
    port_id: str


@dataclass(frozen=True)
class AttachVolume:
    uuid: str
    volume_id: str
    device: str
    tag: str = ""
    # GiB; 0 lets the driver choose (a volume it already has keeps its size).
    size_gb: int = 0


@dataclass(frozen=True)
class DetachVolume:
    uuid: str
    volume_id: str


@dataclass(frozen=True)
class SwapVolume:
    uuid: str
    old_volume_id: str
    new_volume_id: str


@dataclass(frozen=True)
class GetHostUptime:
    """About the host, not a guest: no instance (the empty uuid keys it)."""

    uuid: str = ""


DeviceCommand = (
    GetDiagnostics
    | GetConsole
    | AttachInterface
    | DetachInterface
    | AttachVolume
    | DetachVolume
    | SwapVolume
    | GetHostUptime
)
