"""What drivers report about a guest beyond its power state: diagnostics and console
endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CpuDiagnostics:
    id: int
    time: int | None = None
    utilisation: int | None = None


@dataclass(frozen=True)
class NicDiagnostics:
    mac_address: str
    rx_octets: int | None = None
    rx_errors: int | None = None
    rx_drop: int | None = None
    rx_packets: int | None = None
    rx_rate: int | None = None
    tx_octets: int | None = None
    tx_errors: int | None = None
    tx_drop: int | None = None
    tx_packets: int | None = None
    tx_rate: int | None = None


@dataclass(frozen=True)
class DiskDiagnostics:
    read_bytes: int | None = None
    read_requests: int | None = None
    write_bytes: int | None = None
    write_requests: int | None = None
    errors_count: int | None = None


@dataclass(frozen=True)
class Diagnostics:
    """Nova's standard diagnostics model; None is unknown."""

    # running, paused, shutdown, crashed, suspended, pending.
    state: str
    driver: str
    hypervisor: str | None = None
    hypervisor_os: str | None = None
    uptime: int | None = None
    config_drive: bool = False
    memory_maximum: int | None = None
    memory_used: int | None = None
    cpu_details: list[CpuDiagnostics] = field(default_factory=list)
    nic_details: list[NicDiagnostics] = field(default_factory=list)
    disk_details: list[DiskDiagnostics] = field(default_factory=list)


@dataclass(frozen=True)
class ConsoleEndpoint:
    """Where a guest's console listens, for a console proxy to connect to."""

    host: str
    port: int
    tls_port: int | None = None
    internal_access_path: str | None = None


def diagnostics_data(d: Diagnostics) -> dict[str, str]:
    """The flat key scheme the router reads back (see agent.v1 GetDiagnostics)."""
    out: dict[str, str] = {"state": d.state, "driver": d.driver}
    scalars = {
        "hypervisor": d.hypervisor,
        "hypervisor_os": d.hypervisor_os,
        "uptime": d.uptime,
        "memory_maximum": d.memory_maximum,
        "memory_used": d.memory_used,
    }
    out.update({k: str(v) for k, v in scalars.items() if v is not None})
    out["config_drive"] = "true" if d.config_drive else "false"
    out["num_cpus"] = str(len(d.cpu_details))
    out["num_nics"] = str(len(d.nic_details))
    out["num_disks"] = str(len(d.disk_details))
    for prefix, items in (("cpu", d.cpu_details), ("nic", d.nic_details), ("disk", d.disk_details)):
        for i, item in enumerate(items):
            for name, value in vars(item).items():
                if value is not None:
                    out[f"{prefix}.{i}.{name}"] = str(value)
    return out


def console_data(c: ConsoleEndpoint) -> dict[str, str]:
    out = {"host": c.host, "port": str(c.port)}
    if c.tls_port is not None:
        out["tls_port"] = str(c.tls_port)
    if c.internal_access_path is not None:
        out["internal_access_path"] = c.internal_access_path
    return out
