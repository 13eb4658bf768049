"""Keypairs: import (ssh, x509 from 2.2), generation (ssh, until 2.92), per-user listing.

DB round trips: one query or one transaction per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from novamesh.common import context as reqctx
from novamesh.common.apidb import models
from novamesh.common.db import transaction
from novamesh.gateway.api.errors import BadRequest, Conflict, NotFound, NotImplementedYet
from novamesh.gateway.domain import quotas
from novamesh.gateway.domain.deps import Deps
from sqlalchemy import and_, asc, or_, select
from sqlalchemy.exc import IntegrityError


@dataclass
class NewKeypair:
    name: str
    user_id: str
    type: str = "ssh"
    public_key: str | None = None


def ssh_fingerprint(public_key: str) -> str:
    """Nova's fingerprint of an OpenSSH public key: MD5 of the key blob, colon separated."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def x509_fingerprint(pem: str) -> str:
    """SHA-1 of the certificate's DER, colon separated, as Nova prints it."""
    body = "".join(
        line for line in pem.strip().splitlines() if line and not line.startswith("-----")
    )
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    if not pem.strip().startswith("-----BEGIN CERTIFICATE-----") or not der:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    digest = hashlib.sha1(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


async def generate_ssh() -> tuple[str, str]:
    """(private PEM, public OpenSSH) from ssh-keygen."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "key"
        proc = await asyncio.create_subprocess_exec(
            "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C",
            "Generated-by-Nova", "-f", str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise NotImplementedYet(f"Key generation failed: {err.decode().strip()}")
        return path.read_text(), (Path(tmp) / "key.pub").read_text().strip()


def _project_id() -> str:
    ctx = reqctx.current()
    return ctx.project_id if ctx is not None else ""


async def create(deps: Deps, new: NewKeypair) -> tuple[models.KeyPair, str | None]:
    private_key: str | None = None
    public_key = new.public_key
    if public_key is None:
        if new.type != "ssh":
            raise NotImplementedYet("Generating x509 keypairs is not supported.")
        private_key, public_key = await generate_ssh()
    fingerprint = (
        x509_fingerprint(public_key) if new.type == "x509" else ssh_fingerprint(public_key)
    )
    await quotas.check_keypairs(deps, _project_id(), new.user_id)
    keypair = models.KeyPair(
        name=new.name,
        user_id=new.user_id,
        fingerprint=fingerprint,
        public_key=public_key,
        type=new.type,
    )
    try:
        async with transaction(deps.sessions) as session:
            session.add(keypair)
    except IntegrityError:
        raise Conflict(f"Key pair '{new.name}' already exists.") from None
    return keypair, private_key


async def get(deps: Deps, user_id: str, name: str) -> models.KeyPair:
    async with deps.sessions() as session:
        keypair = await session.scalar(
            select(models.KeyPair).where(
                models.KeyPair.user_id == user_id, models.KeyPair.name == name
            )
        )
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


async def delete(deps: Deps, user_id: str, name: str) -> None:
    async with transaction(deps.sessions) as session:
        keypair = await session.scalar(
            select(models.KeyPair).where(
                models.KeyPair.user_id == user_id, models.KeyPair.name == name
            )
        )
        if keypair is None:
            raise NotFound(f"Keypair {name} not found for user {user_id}")
        await session.delete(keypair)


async def list_keypairs(
    deps: Deps, user_id: str, limit: int | None, marker: str | None
) -> list[models.KeyPair]:
    async with deps.sessions() as session:
        stmt = select(models.KeyPair).where(models.KeyPair.user_id == user_id)
        if marker is not None:
            anchor = await session.scalar(
                select(models.KeyPair).where(
                    models.KeyPair.user_id == user_id, models.KeyPair.name == marker
                )
            )
            if anchor is None:
                raise BadRequest(f"marker [{marker}] not found")
            stmt = stmt.where(
                or_(
                    models.KeyPair.name > anchor.name,
                    and_(models.KeyPair.name == anchor.name, models.KeyPair.id > anchor.id),
                )
            )
        stmt = stmt.order_by(asc(models.KeyPair.name), asc(models.KeyPair.id))
        if limit is not None:
            stmt = stmt.limit(limit)
        return list((await session.scalars(stmt)).all())
