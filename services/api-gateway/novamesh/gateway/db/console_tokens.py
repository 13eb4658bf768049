"""Console auth tokens in the API database: only a token's SHA-256 is stored, with its expiry.

Issuing one is one transaction (it also drops the expired ones); checking one is one query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from novamesh.common.apidb import models
from novamesh.common.db import transaction
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class TokenRecord:
    console_type: str
    host: str
    port: int
    tls_port: int | None
    internal_access_path: str | None
    instance_uuid: str
    access_url_base: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    sessions: async_sessionmaker[AsyncSession],
    token: str,
    record: TokenRecord,
    expires: dt.datetime,
) -> None:
    table = models.ConsoleAuthToken
    async with transaction(sessions) as session:
        await session.execute(delete(table).where(table.expires < dt.datetime.now(dt.UTC)))
        session.add(
            table(
                token_hash=token_hash(token),
                console_type=record.console_type,
                host=record.host,
                port=record.port,
                tls_port=record.tls_port,
                internal_access_path=record.internal_access_path,
                instance_uuid=record.instance_uuid,
                access_url_base=record.access_url_base,
                expires=expires,
            )
        )


async def find(
    sessions: async_sessionmaker[AsyncSession], token: str, now: dt.datetime
) -> TokenRecord | None:
    table = models.ConsoleAuthToken
    async with sessions() as session:
        row = await session.scalar(
            select(table).where(table.token_hash == token_hash(token), table.expires > now)
        )
    if row is None:
        return None
    return TokenRecord(
        console_type=row.console_type,
        host=row.host,
        port=row.port,
        tls_port=row.tls_port,
        internal_access_path=row.internal_access_path,
        instance_uuid=row.instance_uuid,
        access_url_base=row.access_url_base or "",
    )
