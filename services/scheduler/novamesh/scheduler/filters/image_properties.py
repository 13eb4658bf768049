"""ImagePropertiesFilter: the host can run the image's architecture, hypervisor and VM mode.

Hosts do not list their supported (arch, hypervisor, vm mode) triples in this mesh; they are
derived from the CPU info and hypervisor type: a QEMU/KVM host runs both kvm and qemu guests.
"""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec

_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "i386": "i686", "arm64": "aarch64"}
_VIRT_FAMILY = {"qemu": {"qemu", "kvm"}, "kvm": {"qemu", "kvm"}}
_MODE_ALIASES = {"pv": "xen", "hv": "hvm", "baremetal": "hvm"}


def _canon_arch(arch: str) -> str:
    arch = arch.lower()
    return _ARCH_ALIASES.get(arch, arch)


def version_string(version: int) -> str:
    """2011000 -> '2.11.0' (three digits per component, as hypervisors report versions)."""
    parts = []
    while version:
        parts.append(str(version % 1000))
        version //= 1000
    return ".".join(reversed(parts)) or "0"


_VERSION_OPS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.strip().split("."))


def version_satisfies(version: int, predicate: str) -> bool:
    """`>=8.0, <9` style predicates against a hypervisor's integer version."""
    have = _version_tuple(version_string(version))
    for clause in predicate.split(","):
        clause = clause.strip()
        for op in (">=", "<=", "==", "!=", ">", "<"):
            if clause.startswith(op):
                try:
                    want = _version_tuple(clause[len(op) :])
                except ValueError:
                    return False
                width = max(len(have), len(want))
                pad_have = have + (0,) * (width - len(have))
                pad_want = want + (0,) * (width - len(want))
                if not _VERSION_OPS[op](pad_have, pad_want):
                    return False
                break
        else:
            return False
    return True


class ImagePropertiesFilter(Filter):
    name = "ImagePropertiesFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        props = spec.image.properties
        return any(
            k in props
            for k in (
                "hw_architecture",
                "architecture",
                "img_hv_type",
                "hypervisor_type",
                "hw_vm_mode",
                "vm_mode",
                "img_hv_requested_version",
            )
        )

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        props = spec.image.properties
        arch = props.get("hw_architecture") or props.get("architecture")
        if arch:
            host_arch = host.cpu_info.get("arch")
            if host_arch and _canon_arch(str(host_arch)) != _canon_arch(arch):
                return f"architecture {host_arch}, image needs {arch}"
        hv_type = (props.get("img_hv_type") or props.get("hypervisor_type") or "").lower()
        if hv_type:
            host_hv = host.hypervisor_type.lower()
            if hv_type not in _VIRT_FAMILY.get(host_hv, {host_hv}):
                return f"hypervisor {host.hypervisor_type or '-'}, image needs {hv_type}"
        mode = (props.get("hw_vm_mode") or props.get("vm_mode") or "").lower()
        if mode:
            host_mode = "exe" if host.hypervisor_type.lower() == "lxc" else "hvm"
            if _MODE_ALIASES.get(mode, mode) != host_mode:
                return f"vm mode {host_mode}, image needs {mode}"
        wanted_version = props.get("img_hv_requested_version")
        if (
            wanted_version
            and host.hypervisor_version
            and not version_satisfies(host.hypervisor_version, wanted_version)
        ):
            return f"hypervisor version {version_string(host.hypervisor_version)}"
        return None
