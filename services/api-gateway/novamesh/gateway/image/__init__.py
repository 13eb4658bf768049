"""The built-in image service (the part of Glance v2 that Nova users and the openstack CLI use).

It runs inside the api-gateway process: `register(server, cfg)` adds the REST face
(`ImageRestService`, served as REST by Envoy on the image listener) and the typed
`ImageService` for the mesh to a gRPC server. Image records live in the API database (migrated
by whoever owns that database, e.g. the gateway at start-up); bits live on local disk under
`[image] store_dir`.
"""

from __future__ import annotations

from pathlib import Path

import grpc
from novamesh.common import db
from novamesh.common.config import Config
from novamesh.gateway.image.auth import Authenticator, for_config
from novamesh.gateway.image.repo import ImageRepo
from novamesh.gateway.image.rest import ImageRestServicer, RestSettings
from novamesh.gateway.image.service import Images, Settings
from novamesh.gateway.image.store import LocalStore
from novamesh.gateway.image.typed import ImageServicer
from novamesh.image.v1 import image_pb2, image_pb2_grpc, image_rest_pb2, image_rest_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

SERVICE_NAMES = [
    image_rest_pb2.DESCRIPTOR.services_by_name["ImageRestService"].full_name,
    image_pb2.DESCRIPTOR.services_by_name["ImageService"].full_name,
]


def build(cfg: Config, sessions: async_sessionmaker[AsyncSession]) -> Images:
    return Images(
        ImageRepo(sessions),
        LocalStore(Path(cfg.expand(cfg.image.store_dir))),
        Settings(
            max_image_size=cfg.image.max_image_size,
            disk_formats=list(cfg.image.disk_formats),
            container_formats=list(cfg.image.container_formats),
        ),
    )


def register(
    server: grpc.aio.Server,
    cfg: Config,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    authenticate: Authenticator | None = None,
) -> list[str]:
    """Add the image services to `server`; returns their full names (health, reflection).

    `sessions` reuses the caller's API-database session factory (else one is made from
    `[database] api_url`); `authenticate` replaces the `[auth]`-configured caller resolution.
    """
    if sessions is None:
        engine = db.create_async_engine(cfg.expand(cfg.database.api_url), echo=cfg.database.echo)
        sessions = db.sessionmaker(engine)
    images = build(cfg, sessions)
    rest = ImageRestServicer(
        images,
        authenticate or for_config(cfg.auth),
        RestSettings(
            public_url=cfg.endpoints.image_public_url,
            limit_param_default=cfg.image.limit_param_default,
            api_limit_max=cfg.image.api_limit_max,
        ),
    )
    image_rest_pb2_grpc.add_ImageRestServiceServicer_to_server(rest, server)
    image_pb2_grpc.add_ImageServiceServicer_to_server(ImageServicer(images), server)
    return list(SERVICE_NAMES)
