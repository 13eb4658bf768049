"""The cell registry: every cell mapping of the API database, with an engine per cell database.

Mappings are re-read on a timer so a cell created with `novamesh-manage cell_v2 create_cell`
shows up without a restart. Engines are pooled per cell and kept across refreshes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from novamesh.common.apidb.models import CellMapping
from novamesh.common.db import create_async_engine, sessionmaker
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

LOG = logging.getLogger(__name__)

CELL0_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Cell:
    id: int
    uuid: str
    name: str
    transport_url: str
    database_connection: str
    disabled: bool
    engine: AsyncEngine = field(repr=False)
    sessions: async_sessionmaker[AsyncSession] = field(repr=False)

    @property
    def is_cell0(self) -> bool:
        return self.uuid == CELL0_UUID

    @property
    def label(self) -> str:
        return self.name or self.uuid


def cell_engine(url: str) -> AsyncEngine:
    """A cell's engine, pooled. A SQLite connection leaving the pool checks that its file is
    still the one at the database's path: a file that became unreachable (moved, unmounted)
    then fails the next request instead of being read through a descriptor still open, so the
    cell shows as down as it would on a server."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        if parsed.database and parsed.database != ":memory:":
            _guard_file(engine, parsed.database)
        return engine
    # A server that stopped answering (host down, packets dropped) must fail a connect in
    # seconds, not the OS's minutes: lists leave the cell out after `[cells] list_timeout`,
    # but every other request and the pool's slots would wait on it. Pre-ping (the default)
    # drops pooled connections the server ended.
    return create_async_engine(url, connect_args={"connect_timeout": 3}, pool_timeout=10)


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _guard_file(engine: AsyncEngine, path: str) -> None:
    def opened(_dbapi: Any, record: Any) -> None:
        record.info["file"] = _file_identity(path)

    def leaving_pool(_dbapi: Any, record: Any, _proxy: Any) -> None:
        if _file_identity(path) != record.info.get("file"):
            # The pool drops this connection and opens a new one, which fails if the path
            # no longer opens as a database.
            raise DisconnectionError(f"the database file {path} changed")

    event.listen(engine.sync_engine, "connect", opened)
    event.listen(engine.sync_engine, "checkout", leaving_pool)


class UnknownCell(LookupError):
    pass


class CellRegistry:
    def __init__(self, api_sessions: async_sessionmaker[AsyncSession], local: str = "") -> None:
        self._api = api_sessions
        self._cells: dict[str, Cell] = {}
        self._by_id: dict[int, Cell] = {}
        # Which cell this router serves: a name or uuid, else chosen by transport URL.
        self._local_hint = local
        self._local_transport = ""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def serve(self, transport_url: str) -> None:
        self._local_transport = transport_url

    async def refresh(self) -> None:
        async with self._api() as s:
            rows = (await s.scalars(select(CellMapping).order_by(CellMapping.id))).all()
        seen = set()
        for row in rows:
            seen.add(row.uuid)
            cell = self._cells.get(row.uuid)
            if cell is not None and cell.database_connection == row.database_connection:
                cell.name, cell.transport_url = row.name or "", row.transport_url
                cell.disabled = row.disabled
                continue
            if cell is not None:
                await cell.engine.dispose()
            engine = cell_engine(row.database_connection)
            cell = Cell(
                id=row.id,
                uuid=row.uuid,
                name=row.name or "",
                transport_url=row.transport_url,
                database_connection=row.database_connection,
                disabled=row.disabled,
                engine=engine,
                sessions=sessionmaker(engine),
            )
            self._cells[row.uuid] = cell
            self._by_id[row.id] = cell
        for gone in set(self._cells) - seen:
            cell = self._cells.pop(gone)
            self._by_id.pop(cell.id, None)
            await cell.engine.dispose()

    def start(self, interval: float) -> None:
        async def loop() -> None:
            while True:
                try:
                    await asyncio.wait_for(self._stopping.wait(), interval)
                    return
                except TimeoutError:
                    pass
                try:
                    await self.refresh()
                except Exception:
                    LOG.exception("cannot refresh the cell mappings")

        self._task = asyncio.create_task(loop())

    async def close(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await self._task
        for cell in self._cells.values():
            await cell.engine.dispose()
        self._cells.clear()
        self._by_id.clear()

    def all(self) -> list[Cell]:
        return list(self._cells.values())

    def get(self, uuid: str) -> Cell:
        try:
            return self._cells[uuid]
        except KeyError:
            raise UnknownCell(f"cell {uuid} is not mapped") from None

    def by_id(self, cell_id: int) -> Cell:
        try:
            return self._by_id[cell_id]
        except KeyError:
            raise UnknownCell(f"cell #{cell_id} is not mapped") from None

    def find(self, name_or_uuid: str) -> Cell:
        for cell in self._cells.values():
            if name_or_uuid in (cell.uuid, cell.name):
                return cell
        raise UnknownCell(f"cell {name_or_uuid} is not mapped")

    @property
    def cell0(self) -> Cell:
        return self.get(CELL0_UUID)

    @property
    def local(self) -> Cell:
        """The cell whose agents this router holds."""
        cells = [c for c in self._cells.values() if not c.is_cell0]
        if self._local_hint:
            for c in cells:
                if self._local_hint in (c.uuid, c.name):
                    return c
            raise UnknownCell(f"the configured cell {self._local_hint} is not mapped")
        for c in cells:
            if self._local_transport and c.transport_url == self._local_transport:
                return c
        for c in cells:
            if c.name == "cell1":
                return c
        if cells:
            return cells[0]
        raise UnknownCell("no cell is mapped; run `novamesh-manage cell_v2 simple_cell_setup`")
