"""The late server-group check, right before a build is sent to its host (Nova does it on the
compute host): the scheduler may have let two members of a group onto one host when it could
not see the other's pick (several scheduler replicas, a pick it had forgotten). The check sees
every member recorded in the cell, so it catches what the scheduler's view missed.

A member counts against this build when it is recorded on the host and is established there:
created earlier (creation time, then uuid), already past this check (`GroupGate.passed`), or no
longer building. Checks of one group run one at a time, so of two builds racing onto one host
exactly one keeps it whichever checks first, and the other fails as retryable and is rescheduled
to an alternate; they never both give way. (The gate is per router process; replicas rely on
the creation order alone.)
"""

from __future__ import annotations

import asyncio
import datetime as dt

from novamesh.cells.db import models
from novamesh.common.apidb import models as api_models
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ANTI_AFFINITY_VIOLATED = "Anti-affinity instance group policy was violated."
AFFINITY_VIOLATED = "Affinity instance group policy was violated."
_HARD = ("affinity", "anti-affinity")
# Seconds a finished build keeps counting as past the check (its state catches up meanwhile).
PASSED_GRACE = 60.0


class GroupGate:
    """One check at a time per group, and which builds passed theirs (until they finish)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self.passed: set[str] = set()

    def lock(self, group_uuid: str) -> asyncio.Lock:
        return self._locks.setdefault(group_uuid, asyncio.Lock())


async def current_members(api: async_sessionmaker[AsyncSession], group_uuid: str) -> set[str]:
    """The group's members now (the request spec has those of its boot only)."""
    async with api() as session:
        rows = await session.scalars(
            select(api_models.InstanceGroupMember.instance_uuid)
            .join(api_models.InstanceGroup)
            .where(api_models.InstanceGroup.uuid == group_uuid)
        )
        return set(rows.all())


def _max_per_host(group: request_spec_pb2.InstanceGroup) -> int:
    try:
        return max(1, int(group.rules.get("max_server_per_host", "1")))
    except ValueError:
        return 1


async def violation(
    session: AsyncSession,
    group: request_spec_pb2.InstanceGroup,
    members: set[str],
    instance_uuid: str,
    host: str,
    passed: set[str] | frozenset[str] = frozenset(),
) -> str | None:
    """Why this instance may not run on `host`, or None. `session` is the instance's cell."""
    if group.policy not in _HARD:
        return None
    others = members - {instance_uuid}
    if not others:
        return None
    rows = (
        await session.execute(
            select(
                models.Instance.uuid,
                models.Instance.host,
                models.Instance.created_at,
                models.Instance.vm_state,
            ).where(
                models.Instance.uuid.in_(sorted(others | {instance_uuid})),
                models.Instance.deleted.is_(False),
            )
        )
    ).all()
    mine = next((r for r in rows if r.uuid == instance_uuid), None)
    if mine is None:
        return None
    key = _order(mine.created_at, mine.uuid)
    established = [
        r
        for r in rows
        if r.uuid != instance_uuid
        and r.host
        and (
            _order(r.created_at, r.uuid) < key
            or r.uuid in passed
            or (r.vm_state or "building") != "building"
        )
    ]
    on_host = sum(1 for r in established if r.host == host)
    if group.policy == "anti-affinity":
        return ANTI_AFFINITY_VIOLATED if on_host >= _max_per_host(group) else None
    return AFFINITY_VIOLATED if established and not on_host else None


def _order(created: dt.datetime | None, uuid: str) -> tuple[float, str]:
    return (created.timestamp() if created is not None else 0.0, uuid)
