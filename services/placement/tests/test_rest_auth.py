"""Who a REST request is: noauth2 credentials, and the anonymous default a development mesh uses."""

from __future__ import annotations

import contextlib
from typing import Any

import grpc
import pytest
from novamesh.placement import policy, rest
from novamesh.placement.objects.store import Store
from novamesh.placement.v1 import placement_api_pb2 as api_pb


class Aborted(Exception):
    pass


class Context:
    def __init__(self, md: dict[str, str]) -> None:
        self.md = tuple(md.items())
        self.trailing: tuple[tuple[str, str], ...] = ()
        self.code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.md

    async def send_initial_metadata(self, md: Any) -> None:
        pass

    def set_trailing_metadata(self, md: tuple[tuple[str, str], ...]) -> None:
        self.trailing = md

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        raise Aborted(details)


ADMIN = policy.Credentials(frozenset({"admin"}), "admin", False)


async def list_providers(adapter: rest.RestAdapter, md: dict[str, str]) -> Context:
    ctx = Context({"x-envoy-original-path": "/resource_providers", **md})
    with contextlib.suppress(Aborted):
        await adapter.dispatch("ListResourceProviders", api_pb.PlacementRestRequest(), ctx)
    return ctx


async def test_no_token_is_401_without_an_anonymous_identity(store: Store) -> None:
    ctx = await list_providers(rest.RestAdapter(store), {})
    assert ctx.code == grpc.StatusCode.UNAUTHENTICATED


async def test_no_token_acts_as_the_anonymous_identity(store: Store) -> None:
    ctx = await list_providers(rest.RestAdapter(store, anonymous=ADMIN), {})
    assert ctx.code is None


@pytest.mark.parametrize(
    ("md", "allowed"),
    [
        ({"x-auth-token": "admin"}, True),
        ({"x-auth-token": "admin", "x-roles": "member"}, False),
        ({"x-auth-token": "user", "x-roles": "service"}, True),
        ({"x-auth-token": "user"}, False),
        ({"x-auth-token": "admin", "openstack-system-scope": "all"}, False),
    ],
)
async def test_noauth2_credentials(store: Store, md: dict[str, str], allowed: bool) -> None:
    ctx = await list_providers(rest.RestAdapter(store, anonymous=ADMIN), md)
    assert (ctx.code is None) is allowed
    if not allowed:
        assert ctx.code == grpc.StatusCode.PERMISSION_DENIED
