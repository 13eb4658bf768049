"""What a libvirt host offers: its size for placement, its CPU as traits, its uptime."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

GIB = 1024**3

# libvirt CPU feature names -> os-traits HW_CPU_X86_* names (the ones Nova reports).
_CPU_TRAITS = {
    "mmx": "MMX",
    "sse": "SSE",
    "sse2": "SSE2",
    "pni": "SSE3",
    "ssse3": "SSSE3",
    "sse4.1": "SSE41",
    "sse4.2": "SSE42",
    "sse4a": "SSE4A",
    "avx": "AVX",
    "avx2": "AVX2",
    "avx512f": "AVX512F",
    "aes": "AESNI",
    "fma": "FMA3",
    "fma4": "FMA4",
    "bmi1": "BMI",
    "bmi2": "BMI2",
    "f16c": "F16C",
    "sha-ni": "SHA",
    "vmx": "VMX",
    "svm": "SVM",
    "abm": "ABM",
    "clmul": "CLMUL",
    "pclmuldq": "CLMUL",
    "xop": "XOP",
    "tbm": "TBM",
    "mpx": "MPX",
}

# Traits every libvirt host has, as Nova's libvirt driver reports them.
STATIC_TRAITS = (
    "COMPUTE_IMAGE_TYPE_AKI",
    "COMPUTE_IMAGE_TYPE_AMI",
    "COMPUTE_IMAGE_TYPE_ARI",
    "COMPUTE_IMAGE_TYPE_ISO",
    "COMPUTE_IMAGE_TYPE_QCOW2",
    "COMPUTE_IMAGE_TYPE_RAW",
    "COMPUTE_NET_VIF_MODEL_VIRTIO",
    "COMPUTE_STORAGE_BUS_VIRTIO",
    "COMPUTE_GRAPHICS_MODEL_CIRRUS",
    "COMPUTE_VOLUME_EXTEND",
)


@dataclass(frozen=True)
class CpuInfo:
    arch: str
    model: str
    vendor: str
    features: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "arch": self.arch,
                "model": self.model,
                "vendor": self.vendor,
                "topology": {"cells": 1, "sockets": 1, "cores": 1, "threads": 1},
                "features": list(self.features),
            }
        )

    def traits(self) -> tuple[str, ...]:
        found = {f"HW_CPU_X86_{_CPU_TRAITS[f]}" for f in self.features if f in _CPU_TRAITS}
        return tuple(sorted(found))


def cpu_from_capabilities(caps_xml: str) -> CpuInfo:
    """The host CPU from `virConnect.getCapabilities()` (model, vendor, feature names)."""
    root = ET.fromstring(caps_xml)
    cpu = root.find("./host/cpu")
    if cpu is None:
        return CpuInfo("x86_64", "", "", ())
    return CpuInfo(
        arch=cpu.findtext("arch", "x86_64"),
        model=cpu.findtext("model", ""),
        vendor=cpu.findtext("vendor", ""),
        features=tuple(sorted({f.get("name", "") for f in cpu.findall("feature")} - {""})),
    )


def memory_mb() -> int:
    # Not getInfo(): that reads NUMA node 0 only, less than the host has.
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def disk_gb(path: Path, reserved_gb: int = 0) -> int:
    path.mkdir(parents=True, exist_ok=True)
    st = os.statvfs(path)
    return max(0, st.f_blocks * st.f_frsize // GIB - reserved_gb)


def uptime() -> str:
    """`uptime`-style text, as Nova's os-hypervisors uptime shows it."""
    with open("/proc/uptime") as f:
        seconds = float(f.read().split()[0])
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f" up {days} days, {hours:2d}:{rest // 60:02d},  load average: {', '.join(load)}"
