"""Server groups (os-server-groups): a policy for where their members may run.

Members are added by the boot that names the group in `os:scheduler_hints` and count only while
their instance mapping exists and is not queued for deletion, so a deleted server leaves its
groups without touching them (Nova removes the member row at delete; the effect is the same).

DB round trips: one query or one transaction per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest, Forbidden, NotFound
from novamesh.gateway.db import quotas as quota_store
from novamesh.gateway.db import records
from novamesh.gateway.domain import quotas
from novamesh.gateway.domain.deps import Deps
from sqlalchemy import asc, select
from sqlalchemy.ext.asyncio import AsyncSession

POLICIES = ("anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity")

for _name, _check, _desc in [
    ("os_compute_api:os-server-groups:create", "rule:admin_or_owner", "Create a server group"),
    ("os_compute_api:os-server-groups:delete", "rule:admin_or_owner", "Delete a server group"),
    ("os_compute_api:os-server-groups:index", "rule:admin_or_owner", "List server groups"),
    ("os_compute_api:os-server-groups:index:all_projects", "rule:admin_api", "All projects"),
    ("os_compute_api:os-server-groups:show", "rule:admin_or_owner", "Show a server group"),
]:
    policy.register(_name, _check, _desc)


@dataclass
class ServerGroup:
    uuid: str
    name: str
    policy: str
    project_id: str
    user_id: str
    rules: dict[str, int] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)


def not_found(uuid: str) -> NotFound:
    return NotFound(f"Instance group {uuid} could not be found.")


async def _live_members(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, list[str]]:
    if not group_ids:
        return {}
    rows = await session.execute(
        select(models.InstanceGroupMember.group_id, models.InstanceGroupMember.instance_uuid)
        .join(
            models.InstanceMapping,
            models.InstanceMapping.instance_uuid == models.InstanceGroupMember.instance_uuid,
        )
        .where(
            models.InstanceGroupMember.group_id.in_(list(group_ids)),
            models.InstanceMapping.queued_for_delete.is_(False),
        )
        .order_by(asc(models.InstanceGroupMember.id))
    )
    out: dict[int, list[str]] = {}
    for group_id, uuid in rows.all():
        out.setdefault(group_id, []).append(uuid)
    return out


def _domain(row: models.InstanceGroup, members: list[str]) -> ServerGroup:
    pol = row.policies[0] if row.policies else None
    return ServerGroup(
        uuid=row.uuid,
        name=row.name,
        policy=pol.policy if pol else "",
        project_id=row.project_id,
        user_id=row.user_id,
        rules=dict(pol.rules or {}) if pol else {},
        members=members,
    )


async def create(deps: Deps, who: Identity, group: ServerGroup) -> ServerGroup:
    policy.authorize(who, "os_compute_api:os-server-groups:create", who.project_id)
    if group.rules and group.policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    limit = (await quotas.limits_for(deps, who.project_id, who.user_id)).get("server_groups", -1)
    if limit != -1:
        used = await quota_store.server_group_count(deps.sessions, who.project_id)
        if used >= limit:
            raise Forbidden("Quota exceeded, too many server groups.")
    async with transaction(deps.sessions) as session:
        session.add(
            models.InstanceGroup(
                uuid=group.uuid,
                name=group.name,
                user_id=who.user_id,
                project_id=who.project_id,
                policies=[models.InstanceGroupPolicy(policy=group.policy, rules=group.rules)],
                members=[],
            )
        )
    group.project_id, group.user_id = who.project_id, who.user_id
    return group


async def _row(session: AsyncSession, uuid: str) -> models.InstanceGroup | None:
    return await session.scalar(
        select(models.InstanceGroup).where(models.InstanceGroup.uuid == uuid)
    )


async def get(deps: Deps, who: Identity, uuid: str) -> ServerGroup:
    async with deps.sessions() as session:
        row = await _row(session, uuid)
        if row is None or not (who.is_admin or row.project_id == who.project_id):
            raise not_found(uuid)
        policy.authorize(who, "os_compute_api:os-server-groups:show", row.project_id)
        members = await _live_members(session, [row.id])
        return _domain(row, members.get(row.id, []))


async def find_group(deps: Deps, uuid: str) -> ServerGroup | None:
    """The group a boot names, whoever owns it (Nova looks it up by uuid alone)."""
    async with deps.sessions() as session:
        row = await _row(session, uuid)
        if row is None:
            return None
        members = await _live_members(session, [row.id])
        return _domain(row, members.get(row.id, []))


async def groups_of(deps: Deps, instance_uuid: str) -> list[str]:
    """The groups a server is a member of (2.71 `server_groups`): a deleted group took its
    membership rows with it, so its servers no longer name it."""
    query = (
        select(models.InstanceGroup.uuid)
        .join(
            models.InstanceGroupMember,
            models.InstanceGroupMember.group_id == models.InstanceGroup.id,
        )
        .where(models.InstanceGroupMember.instance_uuid == instance_uuid)
    )
    async with deps.sessions() as session:
        return list((await session.scalars(query)).all())


async def delete(deps: Deps, who: Identity, uuid: str) -> None:
    async with transaction(deps.sessions) as session:
        row = await _row(session, uuid)
        if row is None or not (who.is_admin or row.project_id == who.project_id):
            raise not_found(uuid)
        policy.authorize(who, "os_compute_api:os-server-groups:delete", row.project_id)
        await session.delete(row)


async def list_groups(
    deps: Deps, who: Identity, all_projects: bool, limit: int, offset: int
) -> list[ServerGroup]:
    policy.authorize(who, "os_compute_api:os-server-groups:index", who.project_id)
    stmt = select(models.InstanceGroup).order_by(asc(models.InstanceGroup.id))
    if not (
        all_projects and policy.allowed(who, "os_compute_api:os-server-groups:index:all_projects")
    ):
        stmt = stmt.where(models.InstanceGroup.project_id == who.project_id)
    async with deps.sessions() as session:
        rows = list((await session.scalars(stmt.offset(offset).limit(limit))).all())
        members = await _live_members(session, [r.id for r in rows])
        return [_domain(r, members.get(r.id, [])) for r in rows]


async def check_member_quota(
    deps: Deps, who: Identity, group: str, members: int, adding: int
) -> None:
    """Before a boot records anything: the group may hold `server_group_members` servers."""
    limits = await quotas.limits_for(deps, who.project_id, who.user_id)
    allowed = limits.get("server_group_members", -1)
    if allowed != -1 and members + adding > allowed:
        raise Forbidden(f"Quota exceeded, too many servers in group {group}")


async def add_members(deps: Deps, group_uuid: str, uuids: Sequence[str]) -> None:
    """The instances of a boot join the group (after their records exist: membership counts
    only through a live instance mapping, so a failed boot leaves no visible member).

    Parallel boots each passed check_member_quota before any of them joined; counting again
    with this boot's members written catches most of them (the boot's records are removed).
    """
    async with deps.sessions() as session:
        owner = await _row(session, group_uuid)
    if owner is None:
        raise BadRequest(f"Instance group {group_uuid} could not be found.")
    # Read before the transaction: once it has written, it holds SQLite's write lock, and a
    # second session opened under it could wait on a pool whose connections all queue for it.
    limits = await quotas.limits_for(deps, owner.project_id, owner.user_id)
    allowed = limits.get("server_group_members", -1)
    try:
        async with transaction(deps.sessions) as session:
            row = await _row(session, group_uuid)
            if row is None:
                raise BadRequest(f"Instance group {group_uuid} could not be found.")
            for uuid in uuids:
                session.add(models.InstanceGroupMember(group_id=row.id, instance_uuid=uuid))
            await session.flush()
            live = len((await _live_members(session, [row.id])).get(row.id, []))
            if allowed != -1 and live > allowed:
                raise Forbidden(f"Quota exceeded, too many servers in group {group_uuid}")
    except Forbidden:
        await records.forget_builds(deps.sessions, uuids)
        raise
