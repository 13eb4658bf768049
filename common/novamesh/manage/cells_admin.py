"""`novamesh-manage cell_v2 update_cell | delete_cell | delete_host | verify_instance |
map_instances`, with nova-manage's exit codes."""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.common.apidb.models import CellMapping, HostMapping, InstanceMapping
from novamesh.common.config import Config
from novamesh.common.db import create_sync_engine
from novamesh.manage.cells import CELL0_UUID, CommandError, api_session
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session


def _cell(s: Session, cell_uuid: str) -> CellMapping:
    cell = s.scalar(select(CellMapping).where(CellMapping.uuid == cell_uuid))
    if cell is None:
        raise CommandError(f"Cell with uuid {cell_uuid} was not found.", 1)
    return cell


def _count_live(database_connection: str) -> tuple[int, int]:
    """(live instances, all instance rows) in a cell database."""
    from novamesh.cells.db.models import Instance

    engine = create_sync_engine(database_connection)
    try:
        with Session(engine) as cs:
            live = cs.scalar(select(func.count()).where(Instance.deleted.is_(False))) or 0
            total = cs.scalar(select(func.count()).select_from(Instance)) or 0
            return int(live), int(total)
    finally:
        engine.dispose()


def update_cell(
    cfg: Config,
    cell_uuid: str,
    name: str | None = None,
    transport_url: str | None = None,
    database_connection: str | None = None,
    disable: bool = False,
    enable: bool = False,
) -> None:
    if disable and enable:
        raise CommandError("Cell cannot be disabled and enabled at the same time.", 4)
    with api_session(cfg) as s:
        cell = _cell(s, cell_uuid)
        if cell.uuid == CELL0_UUID and (disable or transport_url):
            raise CommandError("cell0 has no transport URL and cannot be disabled.", 2)
        if name and name != cell.name:
            taken = s.scalar(select(CellMapping).where(CellMapping.name == name))
            if taken is not None:
                raise CommandError(f"A cell named {name} already exists.", 2)
            cell.name = name
        if transport_url:
            cell.transport_url = transport_url
        if database_connection:
            cell.database_connection = database_connection
        if disable:
            cell.disabled = True
        if enable:
            cell.disabled = False


def delete_cell(cfg: Config, cell_uuid: str, force: bool = False) -> None:
    """Exit codes: 1 no such cell, 2 hosts mapped (no --force), 3 live instances, 4 mappings of
    deleted instances only (no --force)."""
    with api_session(cfg) as s:
        cell = _cell(s, cell_uuid)
        hosts = s.scalars(select(HostMapping).where(HostMapping.cell_id == cell.id)).all()
        if hosts and not force:
            raise CommandError(
                "There are existing hosts mapped to cell with uuid "
                f"{cell_uuid}; use --force to delete them too.",
                2,
            )
        mapped = s.scalar(select(func.count()).where(InstanceMapping.cell_id == cell.id))
        if mapped:
            live, _ = _count_live(cell.database_connection)
            if live:
                raise CommandError(
                    f"There are instances in cell with uuid {cell_uuid}; delete or move them "
                    "first.",
                    3,
                )
            if not force:
                raise CommandError(
                    f"There are instance mappings to cell with uuid {cell_uuid}, but all "
                    "instances have been deleted in the cell; archive them, or use --force.",
                    4,
                )
            s.execute(delete(InstanceMapping).where(InstanceMapping.cell_id == cell.id))
        for host in hosts:
            s.delete(host)
        s.delete(cell)


def delete_host(cfg: Config, cell_uuid: str, host: str) -> None:
    """Exit codes: 1 no such cell, 2 host not mapped, 3 mapped to another cell, 4 instances."""
    from novamesh.cells.db.models import ComputeNode, Instance

    with api_session(cfg) as s:
        cell = _cell(s, cell_uuid)
        mapping = s.scalar(select(HostMapping).where(HostMapping.host == host))
        if mapping is None:
            raise CommandError(f"The host {host} could not be found.", 2)
        if mapping.cell_id != cell.id:
            raise CommandError(
                f"The host {host} was not found in the cell {cell_uuid}; it is in "
                f"{mapping.cell.name or mapping.cell.uuid}.",
                3,
            )
        engine = create_sync_engine(cell.database_connection)
        try:
            with Session(engine) as cs, cs.begin():
                busy = cs.scalar(
                    select(func.count()).where(Instance.host == host, Instance.deleted.is_(False))
                )
                if busy:
                    raise CommandError(f"There are instances on the host {host}.", 4)
                for node in cs.scalars(select(ComputeNode).where(ComputeNode.host == host)):
                    node.mapped = False
        finally:
            engine.dispose()
        s.delete(mapping)


@dataclass
class Verified:
    code: int
    message: str


def verify_instance(cfg: Config, instance_uuid: str) -> Verified:
    """0 mapped to a cell, 1 no mapping, 2 mapped to no cell, 3 deleted (mapping left),
    4 archived (its row is gone, the mapping is left)."""
    from novamesh.cells.db.models import Instance

    with api_session(cfg) as s:
        mapping = s.scalar(
            select(InstanceMapping).where(InstanceMapping.instance_uuid == instance_uuid)
        )
        if mapping is None:
            return Verified(1, f"Instance {instance_uuid} is not mapped to a cell.")
        if mapping.cell_id is None:
            return Verified(2, f"Instance {instance_uuid} is not mapped to a cell (yet).")
        cell = s.get(CellMapping, mapping.cell_id)
        assert cell is not None
        engine = create_sync_engine(cell.database_connection)
        try:
            with Session(engine) as cs:
                row = cs.scalar(select(Instance).where(Instance.uuid == instance_uuid))
        finally:
            engine.dispose()
        label = f"{cell.name}({cell.uuid})"
        if row is None:
            return Verified(4, f"The instance {instance_uuid} was archived from {label}.")
        if row.deleted:
            return Verified(3, f"The instance {instance_uuid} is deleted, in cell {label}.")
        return Verified(0, f"Instance {instance_uuid} is in cell: {label}")


def map_instances(cfg: Config, cell_uuid: str, max_count: int | None = None) -> tuple[int, bool]:
    """Create the missing instance mappings of a cell's instances: (mapped, more left)."""
    from novamesh.cells.db.models import Instance

    with api_session(cfg) as s:
        cell = _cell(s, cell_uuid)
        known = set(s.scalars(select(InstanceMapping.instance_uuid)))
        engine = create_sync_engine(cell.database_connection)
        try:
            with Session(engine) as cs:
                rows = cs.execute(
                    select(Instance.uuid, Instance.project_id, Instance.user_id)
                    .where(Instance.deleted.is_(False))
                    .order_by(Instance.id)
                ).all()
        finally:
            engine.dispose()
        missing = [r for r in rows if r[0] not in known]
        batch = missing if max_count is None else missing[:max_count]
        for uuid, project_id, user_id in batch:
            s.add(
                InstanceMapping(
                    instance_uuid=uuid,
                    cell_id=cell.id,
                    project_id=project_id or "",
                    user_id=user_id or "",
                )
            )
        return len(batch), len(batch) < len(missing)
