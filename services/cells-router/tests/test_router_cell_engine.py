"""A cell database that went away fails requests at once: a PostgreSQL server that accepts
connections and never answers within seconds (connect_timeout), so one dead cell cannot hold a
router's requests for minutes; a SQLite file moved away even through the connection pool."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from novamesh.cells.registry import cell_engine
from sqlalchemy import text


@pytest.fixture
def silent_server() -> Iterator[int]:
    # The kernel completes the TCP handshake for a listening socket nobody accepts from, and
    # nothing ever answers the client's startup message: a hung server, as the client sees it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_a_silent_postgresql_fails_fast(silent_server: int) -> None:
    engine = cell_engine(f"postgresql://nobody@127.0.0.1:{silent_server}/cell")
    started = time.monotonic()
    try:
        with pytest.raises(Exception):  # noqa: B017 (the driver's own timeout error)
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 10


async def test_a_pooled_sqlite_cell_goes_dark_when_its_file_is_moved(tmp_path: Path) -> None:
    path = tmp_path / "cell.db"
    engine = cell_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        path.rename(tmp_path / "cell.db.away")
        path.mkdir()  # the path no longer opens as a database
        # The pooled connection still reads the moved file; its checkout must refuse it.
        with pytest.raises(Exception):  # noqa: B017 (the driver's own error)
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        path.rmdir()
        (tmp_path / "cell.db.away").rename(path)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
