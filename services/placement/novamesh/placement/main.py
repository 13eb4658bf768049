"""novamesh-placement: the typed PlacementService and the Placement REST face on one port."""

from __future__ import annotations

import asyncio
import logging

from novamesh.common import config as config_mod
from novamesh.common import db, service
from novamesh.placement import policy
from novamesh.placement.db import MIGRATIONS
from novamesh.placement.objects.store import Store
from novamesh.placement.tree import PlacementTreeServicer
from novamesh.placement.typed import PlacementServicer
from novamesh.placement.v1 import (
    placement_pb2,
    placement_pb2_grpc,
    provider_tree_pb2,
    provider_tree_pb2_grpc,
)

LOG = logging.getLogger(__name__)


async def open_store(url: str, echo: bool = False) -> Store:
    """Engine plus bootstrap. SQLite databases are migrated here (one process owns the file);
    PostgreSQL ones by `novamesh-manage db sync`, so replicas never race on migrations."""
    if url.startswith("sqlite"):
        await asyncio.to_thread(db.migrate, url, MIGRATIONS)
    store = Store(db.create_async_engine(url, echo=echo))
    await store.bootstrap()
    return store


async def build(cfg: config_mod.Config) -> service.ServiceSpec:
    from novamesh.placement import rest

    store = await open_store(cfg.expand(cfg.database.placement_url), cfg.database.echo)
    typed = PlacementServicer(store)
    tree_servicer = PlacementTreeServicer(store)
    anonymous = None
    if cfg.placement.anonymous_as_default_user:
        anonymous = policy.Credentials(
            frozenset({"admin", "member", "reader"}), cfg.auth.default_project, False
        )
    rest_handler = rest.generic_handler(
        store,
        policy.parse_mode(cfg.placement.policy),
        cfg.endpoints.placement_public_url,
        anonymous,
    )

    async def on_stop() -> None:
        await store.engine.dispose()

    return service.ServiceSpec(
        listen=cfg.endpoints.placement,
        registrars=[
            lambda server: placement_pb2_grpc.add_PlacementServiceServicer_to_server(typed, server),
            lambda server: server.add_generic_rpc_handlers((rest_handler,)),
            lambda server: provider_tree_pb2_grpc.add_PlacementTreeServiceServicer_to_server(
                tree_servicer, server
            ),
        ],
        service_names=[
            placement_pb2.DESCRIPTOR.services_by_name["PlacementService"].full_name,
            rest.SERVICE_NAME,
            provider_tree_pb2.DESCRIPTOR.services_by_name["PlacementTreeService"].full_name,
        ],
        on_stop=on_stop,
    )


def main() -> None:
    service.run("placement", build)
