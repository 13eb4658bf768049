"""A server's guest NUMA topology (os-server-topology, 2.78), derived from its flavor's `hw:`
extra specs as Nova's hardware.numa_get_constraints derives it.

A flavor without NUMA, CPU-pinning or page-size specs gives a guest with no NUMA topology.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from novamesh.gateway.api import errors

_PAGE_SIZES_KB = {"small": 4, "large": 2048}
_UNITS_KB = {"": 1, "k": 1, "kb": 1, "m": 1024, "mb": 1024, "g": 1024 * 1024, "gb": 1024 * 1024}


@dataclass(frozen=True)
class GuestNode:
    id: int
    vcpus: list[int]
    memory_mb: int
    siblings: list[list[int]] = field(default_factory=list)


@dataclass(frozen=True)
class Topology:
    nodes: list[GuestNode]
    pagesize_kb: int | None
    dedicated: bool


def parse_cpu_set(spec: str) -> list[int]:
    """Nova's CPU set syntax: `0-3,^2,5`."""
    wanted: set[int] = set()
    unwanted: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        target = unwanted if part.startswith("^") else wanted
        part = part.lstrip("^")
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise errors.BadRequest(f"Invalid range expression {spec!r}") from None
        target.update(range(first, last + 1))
    return sorted(wanted - unwanted)


def page_size_kb(spec: str) -> int | None:
    if spec in _PAGE_SIZES_KB:
        return _PAGE_SIZES_KB[spec]
    if spec == "any":
        # The host chooses; without a host page-size inventory the guest gets small pages.
        return _PAGE_SIZES_KB["small"]
    match = re.fullmatch(r"(\d+)\s*([a-zA-Z]*)", spec.strip())
    if match is None or match.group(2).lower() not in _UNITS_KB:
        return None
    return int(match.group(1)) * _UNITS_KB[match.group(2).lower()]


def _int(specs: dict[str, str], key: str) -> int | None:
    value = specs.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.BadRequest(f"Invalid {key} value {value!r}") from None


def guest_topology(vcpus: int, memory_mb: int, specs: dict[str, str]) -> Topology | None:
    numa_nodes = _int(specs, "hw:numa_nodes")
    dedicated = specs.get("hw:cpu_policy") == "dedicated"
    page = specs.get("hw:mem_page_size")
    if numa_nodes is None and not dedicated and page is None:
        return None
    count = max(numa_nodes or 1, 1)
    nodes: list[GuestNode] = []
    explicit = any(f"hw:numa_cpus.{i}" in specs for i in range(count))
    for i in range(count):
        if explicit:
            cpus = parse_cpu_set(specs.get(f"hw:numa_cpus.{i}", ""))
        else:
            per = vcpus // count
            cpus = list(range(i * per, (i + 1) * per if i < count - 1 else vcpus))
        mem = _int(specs, f"hw:numa_mem.{i}")
        if mem is None:
            per_mem = memory_mb // count
            mem = per_mem if i < count - 1 else memory_mb - per_mem * (count - 1)
        nodes.append(GuestNode(i, cpus, mem, _siblings(cpus, specs) if dedicated else []))
    return Topology(nodes, page_size_kb(page) if page is not None else None, dedicated)


def _siblings(cpus: list[int], specs: dict[str, str]) -> list[list[int]]:
    # With hw:cpu_thread_policy=require, Nova pins vCPUs onto thread siblings in pairs.
    if specs.get("hw:cpu_thread_policy") != "require":
        return []
    return [cpus[i : i + 2] for i in range(0, len(cpus), 2)]
