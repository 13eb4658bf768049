"""Database plumbing: engines for SQLite and PostgreSQL, sessions, and alembic migrations.

Each database (API, placement, each cell) has its own declarative base and its own alembic
folder beside its models; `migrate()` runs one of them programmatically.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def metadata() -> MetaData:
    return MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Naive UTC in the database, whatever the backend; aware datetimes are converted."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value


def sync_url(url: str) -> str:
    """The URL for synchronous use (alembic, manage commands)."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername == "sqlite+aiosqlite":
        u = u.set(drivername="sqlite")
    return u.render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL for the services' asyncio engines."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets several processes read while one writes; busy_timeout makes writers queue.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _ensure_sqlite_dir(url: str) -> None:
    u = make_url(url)
    if u.drivername.startswith("sqlite") and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


def create_async_engine(url: str, echo: bool = False, **kw: Any) -> AsyncEngine:
    _ensure_sqlite_dir(url)
    aurl = async_url(url)
    if aurl.startswith("sqlite"):
        engine = _create_async_engine(aurl, echo=echo, **kw)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return _create_async_engine(aurl, echo=echo, **kw)


def create_sync_engine(url: str, echo: bool = False) -> Engine:
    from sqlalchemy import create_engine

    _ensure_sqlite_dir(url)
    engine = create_engine(sync_url(url), echo=echo)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


LOG = logging.getLogger(__name__)

# The session factories with a transaction() open in this task (and the tasks it starts).
_OPEN: ContextVar[frozenset[int]] = ContextVar("novamesh_open_transactions", default=frozenset())
# Set (to 1) by the test suites: a nested session is then an error instead of a warning.
STRICT_ENV = "NOVAMESH_STRICT_SESSIONS"


class NestedSessionError(RuntimeError):
    """A second session from the same factory was opened while a transaction() was open."""


class GuardedSessionmaker(async_sessionmaker[AsyncSession]):
    """Refuses a second session while this task holds a transaction() from the same factory.

    The transaction may hold the database's write lock (all of SQLite, or rows on
    PostgreSQL); the second session needs another pooled connection. Under load every pooled
    connection can be queued behind that lock, and the holder then waits on the pool: a
    deadlock that ends only at the busy or pool timeout. Read what you need first.
    """

    def __call__(self, **local_kw: Any) -> AsyncSession:
        if id(self) in _OPEN.get():
            message = "a session was opened inside a transaction from the same factory"
            if os.environ.get(STRICT_ENV) == "1":
                raise NestedSessionError(message)
            LOG.warning(message, stack_info=True)
        return super().__call__(**local_kw)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return GuardedSessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work commits together or not at all. Open no other session from the
    same factory inside it (GuardedSessionmaker says why)."""
    async with factory() as session, session.begin():
        token = _OPEN.set(_OPEN.get() | {id(factory)})
        try:
            yield session
        finally:
            _OPEN.reset(token)


def migrate(url: str, script_location: Path, revision: str = "head") -> None:
    """Upgrade the database at `url` with the alembic scripts in `script_location`."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    _ensure_sqlite_dir(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    command.upgrade(cfg, revision)


def current_revision(url: str) -> str | None:
    """The alembic revision a database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def run_alembic_env(target_metadata: MetaData) -> None:
    """Body of every alembic env.py: run migrations online against the configured URL."""
    from alembic import context as alembic_context

    cfg = alembic_context.config
    engine = create_sync_engine(cfg.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        alembic_context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with alembic_context.begin_transaction():
            alembic_context.run_migrations()
    engine.dispose()
