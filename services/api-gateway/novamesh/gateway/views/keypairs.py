"""Keypair views per microversion (type from 2.2)."""

from __future__ import annotations

from typing import Any

from novamesh.common.apidb import models
from novamesh.gateway.views.common import ViewContext, strtime


def summary(ctx: ViewContext, kp: models.KeyPair) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": kp.name,
        "public_key": kp.public_key,
        "fingerprint": kp.fingerprint,
    }
    if ctx.v("2.2"):
        view["type"] = kp.type
    return {"keypair": view}


def created(ctx: ViewContext, kp: models.KeyPair, private_key: str | None) -> dict[str, Any]:
    view = summary(ctx, kp)["keypair"]
    view["user_id"] = kp.user_id
    if private_key is not None:
        view["private_key"] = private_key
    return {"keypair": view}


def show(ctx: ViewContext, kp: models.KeyPair) -> dict[str, Any]:
    view = summary(ctx, kp)["keypair"]
    view.update(
        {
            "user_id": kp.user_id,
            "deleted": False,
            "created_at": strtime(kp.created_at),
            "updated_at": strtime(kp.updated_at),
            "deleted_at": None,
            "id": kp.id,
        }
    )
    return {"keypair": view}
