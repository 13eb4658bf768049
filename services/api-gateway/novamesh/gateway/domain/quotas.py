"""Quotas: the effective limits (a project's or user's own, else the `default` quota class,
else configuration), usage, updates with Nova's checks, and enforcement on boot.

Enforcement on boot is Nova's: count, then record the builds, then count again; when a
concurrent boot took the room in between, the recheck fails and the new records are removed.

Soft-deleted servers (deferred delete) count for nothing, as in Nova, whose count of instances,
cores and RAM leaves out vm_state SOFT_DELETED; restoring one needs room for it again (403 when
the project or user is over quota, Nova's message).

Round trips: limits are up to three small queries (user, project, class); usage one query per
counted resource, plus, with deferred delete on, one router list of the project's soft-deleted
servers (its statements per cell do not grow with the number of servers).
"""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.cells.v1 import router_pb2
from novamesh.common.config import QuotaConfig
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Forbidden
from novamesh.gateway.db import quotas as store
from novamesh.gateway.domain import states
from novamesh.gateway.domain.deps import Deps

DEFAULT_CLASS = "default"

# Resources Nova enforces, in the order of its responses.
RESOURCES = (
    "cores",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
    "injected_files",
    "instances",
    "key_pairs",
    "metadata_items",
    "ram",
    "server_groups",
    "server_group_members",
)
# Nova-network quotas: always unlimited, shown (and accepted in updates) before 2.36.
NETWORK_RESOURCES = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")
# Removed in 2.57 together with personality files.
INJECTED_RESOURCES = ("injected_file_content_bytes", "injected_file_path_bytes", "injected_files")

for _name, _check, _desc in [
    ("os_compute_api:os-quota-sets:show", "rule:admin_or_owner", "Show a project's quotas"),
    ("os_compute_api:os-quota-sets:detail", "rule:admin_or_owner", "Quotas with usage"),
    ("os_compute_api:os-quota-sets:defaults", "@", "Default quotas"),
    ("os_compute_api:os-quota-sets:update", "rule:admin_api", "Set a project's quotas"),
    ("os_compute_api:os-quota-sets:delete", "rule:admin_api", "Reset a project's quotas"),
    ("os_compute_api:os-quota-class-sets:show", "rule:admin_api", "Show a quota class"),
    ("os_compute_api:os-quota-class-sets:update", "rule:admin_api", "Set a quota class"),
    ("os_compute_api:limits", "@", "Show rate and absolute limits"),
    ("os_compute_api:limits:other_project", "rule:admin_api", "Another project's limits"),
]:
    policy.register(_name, _check, _desc)


@dataclass(frozen=True)
class Usage:
    limit: int
    in_use: int
    reserved: int = 0


def config_limits(cfg: QuotaConfig) -> dict[str, int]:
    return {
        "cores": cfg.cores,
        "injected_file_content_bytes": cfg.injected_file_content_bytes,
        "injected_file_path_bytes": cfg.injected_file_path_length,
        "injected_files": cfg.injected_files,
        "instances": cfg.instances,
        "key_pairs": cfg.key_pairs,
        "metadata_items": cfg.metadata_items,
        "ram": cfg.ram,
        "server_groups": cfg.server_groups,
        "server_group_members": cfg.server_group_members,
    }


async def class_limits(deps: Deps, class_name: str) -> dict[str, int]:
    """A class's limits; unset ones fall back to the default class, then configuration."""
    limits = config_limits(deps.cfg.quota)
    limits.update(await store.class_limits(deps.sessions, DEFAULT_CLASS))
    if class_name != DEFAULT_CLASS:
        limits.update(await store.class_limits(deps.sessions, class_name))
    return limits


async def limits_for(deps: Deps, project_id: str, user_id: str = "") -> dict[str, int]:
    limits = await class_limits(deps, DEFAULT_CLASS)
    project, user = await store.project_and_user_limits(deps.sessions, project_id, user_id)
    limits.update(project)
    if user_id:
        limits.update(user)
    return limits


async def soft_deleted(deps: Deps, project_id: str) -> frozenset[str]:
    """The project's soft-deleted servers, which the cells alone know. Without deferred delete
    (reclaim_instance_interval 0) a delete is immediate, so there is none to ask about."""
    if deps.cfg.api.reclaim_instance_interval <= 0:
        return frozenset()
    found = await deps.router.list_instances(
        router_pb2.ListInstancesRequest(
            filters={"project_id": project_id}, vm_states=[states.SOFT_DELETED]
        )
    )
    return frozenset(i.uuid for i in found.instances if i.vm_state == states.SOFT_DELETED)


async def usage(deps: Deps, project_id: str, user_id: str = "") -> dict[str, int]:
    gone = await soft_deleted(deps, project_id)
    counted = await store.instance_usage(deps.sessions, project_id, user_id, gone)
    used = {resource: 0 for resource in RESOURCES}
    used.update(instances=counted.instances, cores=counted.cores, ram=counted.ram)
    used["server_groups"] = await store.server_group_count(deps.sessions, project_id, user_id)
    if user_id:
        used["key_pairs"] = await store.keypair_count(deps.sessions, user_id)
    return used


async def detail(deps: Deps, project_id: str, user_id: str = "") -> dict[str, Usage]:
    limits = await limits_for(deps, project_id, user_id)
    used = await usage(deps, project_id, user_id)
    return {resource: Usage(limits[resource], used[resource]) for resource in RESOURCES}


def _check_value(resource: str, value: int) -> None:
    if value < -1:
        raise BadRequest(f"Quota limit {value} for {resource} must be greater than or equal to -1.")


async def update(
    deps: Deps, project_id: str, user_id: str, values: dict[str, int], *, force: bool
) -> None:
    """Set limits; without `force` no limit may go below what is already used, and a user's
    limit may not exceed its project's."""
    for resource, value in values.items():
        _check_value(resource, value)
    if not force:
        used = await usage(deps, project_id, user_id)
        for resource, value in values.items():
            if value != -1 and resource in used and value < used[resource]:
                raise BadRequest(
                    f"Quota limit {value} for {resource} must be greater than or equal to "
                    f"already used and reserved {used[resource]}."
                )
    if user_id:
        project = await limits_for(deps, project_id)
        for resource, value in values.items():
            ceiling = project.get(resource, -1)
            if ceiling != -1 and (value == -1 or value > ceiling):
                raise BadRequest(
                    f"Quota limit {value} for {resource} must be less than or equal to {ceiling}."
                )
    await store.set_project_limits(deps.sessions, project_id, user_id, values)


async def update_class(deps: Deps, class_name: str, values: dict[str, int]) -> None:
    for resource, value in values.items():
        _check_value(resource, value)
    await store.set_class_limits(deps.sessions, class_name, values)


async def reset(deps: Deps, project_id: str, user_id: str) -> None:
    await store.delete_project_limits(deps.sessions, project_id, user_id)


class QuotaExceeded(Forbidden):
    pass


def _over(want: dict[str, int], used: dict[str, int], limits: dict[str, int]) -> list[str]:
    return [
        r for r, n in want.items() if limits.get(r, -1) != -1 and used.get(r, 0) + n > limits[r]
    ]


def _exceeded(
    overs: list[str], want: dict[str, int], used: dict[str, int], limits: dict[str, int]
) -> QuotaExceeded:
    overs = sorted(overs)
    joined = ", ".join(overs)
    req = ", ".join(str(want[r]) for r in overs)
    use = ", ".join(str(used.get(r, 0)) for r in overs)
    allowed = ", ".join(str(limits[r]) for r in overs)
    return QuotaExceeded(
        f"Quota exceeded for {joined}: Requested {req}, but already used {use} of "
        f"{allowed} {joined}"
    )


async def _instances_used(deps: Deps, who: Identity) -> tuple[dict[str, int], dict[str, int]]:
    gone = await soft_deleted(deps, who.project_id)
    project, user = await store.instance_usage_with_user(
        deps.sessions, who.project_id, who.user_id, gone
    )
    return (
        {"instances": project.instances, "cores": project.cores, "ram": project.ram},
        {"instances": user.instances, "cores": user.cores, "ram": user.ram},
    )


async def allowed_instances(
    deps: Deps,
    who: Identity,
    limits: dict[str, int],
    vcpus: int,
    ram: int,
    min_count: int,
    max_count: int,
) -> int:
    """How many of max_count instances fit (at least min_count, else 403 like Nova)."""
    used, user_used = await _instances_used(deps, who)
    for count in range(max_count, min_count - 1, -1):
        want = {"instances": count, "cores": vcpus * count, "ram": ram * count}
        if not _over(want, used, limits) and not _over(want, user_used, limits):
            return count
    want = {"instances": min_count, "cores": vcpus * min_count, "ram": ram * min_count}
    counted = used if _over(want, used, limits) else user_used
    raise _exceeded(_over(want, counted, limits), want, counted, limits)


async def recheck_instances(
    deps: Deps, who: Identity, limits: dict[str, int], vcpus: int, ram: int, count: int
) -> None:
    """After the builds are recorded (they now count themselves): still within limits?"""
    want = {"instances": count, "cores": vcpus * count, "ram": ram * count}
    for now in await _instances_used(deps, who):
        before = {r: now[r] - want.get(r, 0) for r in now}
        overs = _over(want, before, limits)
        if overs:
            raise _exceeded(overs, want, before, limits)


def check_metadata(limits: dict[str, int], items: int) -> None:
    allowed = limits.get("metadata_items", -1)
    if allowed != -1 and items > allowed:
        raise Forbidden(f"Maximum number of metadata items exceeds {allowed}")


async def check_keypairs(deps: Deps, project_id: str, user_id: str) -> None:
    limits = await limits_for(deps, project_id, user_id)
    allowed = limits.get("key_pairs", -1)
    if allowed != -1 and await store.keypair_count(deps.sessions, user_id) >= allowed:
        raise Forbidden("Quota exceeded, too many key pairs.")


async def check_resize(
    deps: Deps, project_id: str, user_id: str, vcpus_delta: int, ram_delta: int
) -> None:
    """An upsize needs room for the extra cores and RAM (403 like Nova); a downsize always fits."""
    want = {k: v for k, v in (("cores", vcpus_delta), ("ram", ram_delta)) if v > 0}
    if not want:
        return
    limits = await limits_for(deps, project_id, user_id)
    gone = await soft_deleted(deps, project_id)
    project, user = await store.instance_usage_with_user(deps.sessions, project_id, user_id, gone)
    for counted in (project, user):
        used = {"cores": counted.cores, "ram": counted.ram}
        overs = _over(want, used, limits)
        if overs:
            raise _exceeded(overs, want, used, limits)


async def check_restore(deps: Deps, inst: router_pb2.Instance) -> None:
    """A restored server counts again: its owner needs room for one more instance of its flavor
    (Nova checks the instance's project and user, and answers 403 when over)."""
    owner = Identity(inst.user_id, inst.project_id, ())
    limits = await limits_for(deps, inst.project_id, inst.user_id)
    await allowed_instances(deps, owner, limits, inst.flavor.vcpus, inst.flavor.memory_mb, 1, 1)
