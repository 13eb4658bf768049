"""Cell database reads of an instance's block devices (the block_device_mapping table)."""

from __future__ import annotations

from novamesh.cells.db import models
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

BDM = models.BlockDeviceMapping


async def doomed_volumes(session: AsyncSession, instance_uuid: str) -> list[str]:
    """The volumes that go with the instance when it is deleted (delete_on_termination)."""
    rows = await session.scalars(
        select(BDM.volume_id).where(
            BDM.instance_uuid == instance_uuid,
            BDM.destination_type == "volume",
            BDM.delete_on_termination.is_(True),
            BDM.volume_id.is_not(None),
        )
    )
    return [v for v in rows.all() if v]
