"""`novamesh-manage cell_v2 ...`: cell mappings, cell0, host discovery.

Everything here is synchronous SQLAlchemy against the API database and the cell databases: an
operator command runs once and exits.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from novamesh.common.apidb.models import CellMapping, HostMapping
from novamesh.common.config import Config
from novamesh.common.db import create_sync_engine
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

CELL0_UUID = "00000000-0000-0000-0000-000000000000"
CELL0_NAME = "cell0"
# cell0 has no agents, hence no channel.
CELL0_TRANSPORT = "none:///"


class CommandError(Exception):
    """A failure the operator can act on; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def api_session(cfg: Config) -> Iterator[Session]:
    engine = create_sync_engine(cfg.expand(cfg.database.api_url))
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        engine.dispose()


def default_transport_url(cfg: Config) -> str:
    return f"grpc://{cfg.endpoints.router}"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ****, for listings."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL: a transport URL
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
            return urlunsplit(parts._replace(netloc=netloc))
        return url


@dataclass
class CellInfo:
    uuid: str
    name: str
    transport_url: str
    database_connection: str
    disabled: bool


def list_cells(cfg: Config) -> list[CellInfo]:
    with api_session(cfg) as s:
        rows = s.scalars(select(CellMapping).order_by(CellMapping.name, CellMapping.id)).all()
        return [
            CellInfo(r.uuid, r.name or "", r.transport_url, r.database_connection, r.disabled)
            for r in rows
        ]


def map_cell0(cfg: Config, database_connection: str | None = None) -> tuple[str, bool]:
    """Create the cell0 mapping; returns (uuid, created). Idempotent."""
    url = database_connection or cfg.expand(cfg.database.cell0_url)
    with api_session(cfg) as s:
        existing = s.scalar(select(CellMapping).where(CellMapping.uuid == CELL0_UUID))
        if existing is not None:
            return existing.uuid, False
        s.add(
            CellMapping(
                uuid=CELL0_UUID,
                name=CELL0_NAME,
                transport_url=CELL0_TRANSPORT,
                database_connection=url,
            )
        )
    return CELL0_UUID, True


def create_cell(
    cfg: Config,
    name: str | None,
    database_connection: str | None,
    transport_url: str | None,
    disabled: bool = False,
) -> str:
    """Create a cell mapping and return its uuid.

    Exit codes follow nova-manage: 1 for missing input, 2 when a cell with the same name or the
    same database and transport URLs already exists.
    """
    if not database_connection:
        raise CommandError("Must specify --database_connection for the new cell.", 1)
    if not transport_url:
        raise CommandError("Must specify --transport-url for the new cell.", 1)
    with api_session(cfg) as s:
        for cell in s.scalars(select(CellMapping)):
            same_urls = (
                cell.database_connection == database_connection
                and cell.transport_url == transport_url
            )
            if same_urls or (name and cell.name == name):
                raise CommandError(
                    f"A cell with this name or with this transport URL and database connection "
                    f"already exists: {cell.name} ({cell.uuid}).",
                    2,
                )
        new_uuid = str(uuidlib.uuid4())
        s.add(
            CellMapping(
                uuid=new_uuid,
                name=name,
                transport_url=transport_url,
                database_connection=database_connection,
                disabled=disabled,
            )
        )
    return new_uuid


def find_cell(cfg: Config, name_or_uuid: str) -> CellInfo | None:
    for cell in list_cells(cfg):
        if name_or_uuid in (cell.uuid, cell.name):
            return cell
    return None


def discover_hosts(cfg: Config, cell_uuid: str | None = None) -> list[tuple[str, str]]:
    """Map every compute host found in the cells' databases; returns (host, cell name) added.

    A host already mapped to another cell is an error: hosts never silently change cell.
    """
    from novamesh.cells.db.models import ComputeNode, Service

    added: list[tuple[str, str]] = []
    with api_session(cfg) as s:
        cells = [
            c
            for c in s.scalars(select(CellMapping).order_by(CellMapping.id))
            if c.uuid != CELL0_UUID and (cell_uuid is None or c.uuid == cell_uuid)
        ]
        if cell_uuid is not None and not cells:
            raise CommandError(f"Cell {cell_uuid} does not exist.", 1)
        mapped = {m.host: m for m in s.scalars(select(HostMapping))}
        for cell in cells:
            engine = create_sync_engine(cell.database_connection)
            try:
                with Session(engine) as cs, cs.begin():
                    nodes = cs.scalars(
                        select(ComputeNode).where(ComputeNode.deleted.is_(False))
                    ).all()
                    hosts = {n.host for n in nodes}
                    hosts |= set(
                        cs.scalars(
                            select(Service.host).where(
                                Service.binary == "nova-compute", Service.deleted.is_(False)
                            )
                        )
                    )
                    for host in sorted(hosts):
                        existing = mapped.get(host)
                        if existing is not None and existing.cell_id != cell.id:
                            raise CommandError(
                                f"Host {host} is in cell {cell.name} ({cell.uuid}) but is "
                                f"already mapped to another cell; run `novamesh-manage cell_v2 "
                                f"delete_host` first if it really moved.",
                                2,
                            )
                        if existing is None:
                            mapping = HostMapping(host=host, cell_id=cell.id)
                            s.add(mapping)
                            mapped[host] = mapping
                            added.append((host, cell.name or cell.uuid))
                    for node in nodes:
                        node.mapped = True
            finally:
                engine.dispose()
    return added


def list_hosts(cfg: Config) -> list[tuple[str, str, str]]:
    """(cell name, cell uuid, host) for every host mapping."""
    with api_session(cfg) as s:
        rows = s.scalars(select(HostMapping).order_by(HostMapping.host)).all()
        return [(m.cell.name or "", m.cell.uuid, m.host) for m in rows]
