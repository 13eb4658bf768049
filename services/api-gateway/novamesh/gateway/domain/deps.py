"""What domain operations run against: the API database and the router."""

from __future__ import annotations

from dataclasses import dataclass

from novamesh.common.config import Config
from novamesh.gateway.domain.ports import Router
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass
class Deps:
    cfg: Config
    sessions: async_sessionmaker[AsyncSession]
    router: Router
