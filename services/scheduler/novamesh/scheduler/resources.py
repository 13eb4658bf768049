"""A request spec translated into a placement allocation-candidates query (Nova's ResourceRequest).

The flavor gives VCPU (PCPU with hw:cpu_policy=dedicated), MEMORY_MB and DISK_GB (root, unless
booted from volume, + ephemeral + swap rounded up to GB); `resources[N]:RC=amount` extra specs
override or add amounts (0 removes a class); `trait[N]:NAME=required|forbidden` add trait
constraints; `group_policy` is passed through; image properties `trait:NAME=required` add required
traits to the unnumbered group. Pre-filters add forbidden COMPUTE_STATUS_DISABLED and the tenant's
aggregates (member_of).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from novamesh.scheduler.spec import RequestSpec

LOG = logging.getLogger(__name__)

_RESOURCES = re.compile(r"^resources([a-zA-Z0-9_-]{0,64}):([A-Z0-9_]+)$")
_TRAIT = re.compile(r"^trait([a-zA-Z0-9_-]{0,64}):([A-Z0-9_]+)$")
STATUS_DISABLED = "COMPUTE_STATUS_DISABLED"


@dataclass(slots=True)
class RequestGroup:
    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    required_traits: set[str] = field(default_factory=set)
    forbidden_traits: set[str] = field(default_factory=set)
    # Each entry: the provider must be in at least one of these aggregates.
    member_of: list[list[str]] = field(default_factory=list)
    in_tree: str = ""


@dataclass(slots=True)
class ResourceRequest:
    groups: list[RequestGroup]
    group_policy: str = ""
    limit: int = 0

    @property
    def unnumbered(self) -> RequestGroup:
        return self.groups[0]


@dataclass(slots=True)
class Candidate:
    """One allocation request from placement, keyed by the compute node (root provider)."""

    root_uuid: str
    # provider uuid -> resource class -> amount
    allocations: dict[str, dict[str, int]]
    mappings: dict[str, list[str]] = field(default_factory=dict)


def _flavor_resources(spec: RequestSpec) -> dict[str, int]:
    flavor = spec.flavor
    cpu_class = "PCPU" if flavor.extra_specs.get("hw:cpu_policy") == "dedicated" else "VCPU"
    root = 0 if spec.is_bfv else flavor.root_gb
    return {
        cpu_class: flavor.vcpus,
        "MEMORY_MB": flavor.memory_mb,
        "DISK_GB": root + flavor.ephemeral_gb + flavor.swap_gb(),
    }


def build(spec: RequestSpec, limit: int = 0, in_tree: str = "") -> ResourceRequest:
    groups: dict[str, RequestGroup] = {"": RequestGroup(resources=_flavor_resources(spec))}
    group_policy = ""
    for key, value in spec.flavor.extra_specs.items():
        if key == "group_policy":
            group_policy = value
            continue
        m = _RESOURCES.match(key)
        if m:
            try:
                amount = int(value)
            except ValueError:
                LOG.warning("ignoring extra spec %s=%r: not an integer", key, value)
                continue
            groups.setdefault(m[1], RequestGroup(suffix=m[1])).resources[m[2]] = amount
            continue
        m = _TRAIT.match(key)
        if m:
            group = groups.setdefault(m[1], RequestGroup(suffix=m[1]))
            if value == "required":
                group.required_traits.add(m[2])
            elif value == "forbidden":
                group.forbidden_traits.add(m[2])
    unnumbered = groups[""]
    for key, value in spec.image.properties.items():
        m = _TRAIT.match(key)
        if m and not m[1] and value == "required":
            unnumbered.required_traits.add(m[2])
    unnumbered.forbidden_traits.add(STATUS_DISABLED)
    if spec.member_of:
        unnumbered.member_of.append(sorted(spec.member_of))
    if in_tree:
        unnumbered.in_tree = in_tree
    for group in groups.values():
        group.resources = {rc: n for rc, n in group.resources.items() if n > 0}
    numbered = [g for k, g in sorted(groups.items()) if k]
    if len(numbered) > 1 and not group_policy:
        # Placement refuses several numbered groups without a policy; Nova defaults to none.
        group_policy = "none"
    return ResourceRequest([unnumbered, *numbered], group_policy, limit)
