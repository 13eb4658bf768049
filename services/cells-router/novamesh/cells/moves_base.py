"""What every kind of move shares: the move itself, the agent's view of the instance, the
small cell-database steps, and the errors a move answers with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novamesh.agent.v1 import agent_pb2
from novamesh.cells import convert
from novamesh.cells.db import migrations as mig_db
from novamesh.cells.db.queries import BadQuery
from novamesh.cells.v1 import router_pb2
from novamesh.scheduler.v1 import request_spec_pb2
from sqlalchemy.ext.asyncio import AsyncSession

NO_VALID_HOST = "No valid host was found."


class BadRequest(BadQuery):
    """The request cannot be done as asked (HTTP 400)."""


@dataclass(frozen=True)
class Move:
    migration_uuid: str
    instance: router_pb2.Instance
    source: str
    source_node: str
    old_flavor: request_spec_pb2.Flavor
    new_flavor: request_spec_pb2.Flavor
    # Whether the guest ran before the move (a stopped one stays stopped).
    power_on: bool
    host: str = ""
    migration_type: str = "resize"
    admin_pass: str = ""


def agent_spec(inst: router_pb2.Instance, flavor: request_spec_pb2.Flavor, node: str) -> Any:
    return agent_pb2.InstanceSpec(
        uuid=inst.uuid,
        name=inst.name,
        hostname=inst.hostname,
        project_id=inst.project_id,
        user_id=inst.user_id,
        flavor=flavor,
        image=inst.image,
        metadata=dict(inst.metadata),
        key_name=inst.key_name,
        key_data=inst.key_data,
        config_drive=inst.config_drive,
        networks=list(inst.requested_networks),
        node=node,
    )


def status(migration_uuid: str, status: str, **values: Any) -> Any:
    async def work(session: AsyncSession) -> None:
        await mig_db.set_status(session, migration_uuid, status, **values)

    return work


async def set_flavor(session: AsyncSession, uuid: str, flavor: request_spec_pb2.Flavor) -> None:
    await mig_db.set_flavor(session, uuid, convert.message_dict(flavor), flavor.id or None)
