"""The REST face: `PlacementRestService` RPCs -> handlers, and handler results -> HttpBody.

The route table below is the whole API in one screen. The adapter reads what Envoy forwards
(query string from `x-envoy-original-path`, headers as metadata, the raw body), negotiates the
microversion, applies policy, calls the handler, and answers with the status and headers in
initial metadata, or with a gRPC error whose trailing metadata carries `x-error-code` (and
`x-http-status` when the default code mapping would be wrong).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grpc
from google.api import httpbody_pb2
from novamesh.common import context as ctx_mod
from novamesh.placement import errors, http, policy
from novamesh.placement.handlers import (
    aggregate,
    allocation,
    allocation_candidate,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    root,
    trait,
    usage,
)
from novamesh.placement.objects.store import Store
from novamesh.placement.v1 import placement_api_pb2 as api_pb

LOG = logging.getLogger(__name__)
SERVICE_NAME = api_pb.DESCRIPTOR.services_by_name["PlacementRestService"].full_name

Handler = Callable[[http.Request], Awaitable[http.Response]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    # Older microversions don't know the route: 404 (or 405 for a known path).
    min_version: int = 0
    policy: str | None = None
    too_old_status: int = 404
    # The request carries a JSON document: its media type is checked before the handler runs
    # (so a bad one is a 415 even where the handler would 404).
    json_body: bool = False


R = Route
ROUTES: dict[str, Route] = {
    "GetRoot": R(root.home),
    "ListResourceProviders": R(resource_provider.list_providers, policy="resource_providers:list"),
    "CreateResourceProvider": R(
        resource_provider.create, policy="resource_providers:create", json_body=True
    ),
    "GetResourceProvider": R(resource_provider.show, policy="resource_providers:show"),
    "UpdateResourceProvider": R(
        resource_provider.update, policy="resource_providers:update", json_body=True
    ),
    "DeleteResourceProvider": R(resource_provider.delete, policy="resource_providers:delete"),
    "ListInventories": R(inventory.list_inventories, policy="resource_providers:inventories:list"),
    "CreateInventory": R(
        inventory.create, policy="resource_providers:inventories:create", json_body=True
    ),
    "ReplaceInventories": R(
        inventory.replace, policy="resource_providers:inventories:update", json_body=True
    ),
    "DeleteInventories": R(inventory.delete_all, 5, "resource_providers:inventories:delete", 405),
    "GetInventory": R(inventory.show, policy="resource_providers:inventories:show"),
    "UpdateInventory": R(
        inventory.update, policy="resource_providers:inventories:update", json_body=True
    ),
    "DeleteInventory": R(inventory.delete, policy="resource_providers:inventories:delete"),
    "GetProviderAggregates": R(aggregate.show, 1, "resource_providers:aggregates:list"),
    "UpdateProviderAggregates": R(
        aggregate.update, 1, "resource_providers:aggregates:update", json_body=True
    ),
    "GetProviderTraits": R(trait.provider_traits, 6, "resource_providers:traits:list"),
    "UpdateProviderTraits": R(
        trait.update_provider_traits, 6, "resource_providers:traits:update", json_body=True
    ),
    "DeleteProviderTraits": R(trait.delete_provider_traits, 6, "resource_providers:traits:delete"),
    "GetProviderUsages": R(usage.provider_usages, policy="resource_providers:usages"),
    "GetProviderAllocations": R(
        allocation.for_provider, policy="resource_providers:allocations:list"
    ),
    "ListResourceClasses": R(resource_class.list_classes, 2, "resource_classes:list"),
    "CreateResourceClass": R(resource_class.create, 2, "resource_classes:create", json_body=True),
    "GetResourceClass": R(resource_class.show, 2, "resource_classes:show"),
    "UpdateResourceClass": R(resource_class.update, 2, "resource_classes:update"),
    "DeleteResourceClass": R(resource_class.delete, 2, "resource_classes:delete"),
    "ListTraits": R(trait.list_traits, 6, "traits:list"),
    "GetTrait": R(trait.show, 6, "traits:show"),
    "PutTrait": R(trait.put, 6, "traits:update"),
    "DeleteTrait": R(trait.delete, 6, "traits:delete"),
    "GetAllocations": R(allocation.show, policy="allocations:list"),
    "PutAllocations": R(allocation.put, policy="allocations:update", json_body=True),
    "DeleteAllocations": R(allocation.delete, policy="allocations:delete"),
    "PostAllocations": R(allocation.post, 13, "allocations:manage", json_body=True),
    "ListAllocationCandidates": R(
        allocation_candidate.list_candidates, 10, "allocation_candidates:list"
    ),
    "GetUsages": R(usage.project_usages, 9, "usages"),
    "PostReshaper": R(reshaper.reshape, 30, "reshaper:reshape", json_body=True),
}

# webob's explanation, which upstream puts before every error detail.
_EXPLANATION = {
    400: "The server could not comply with the request since it is either malformed or "
    "otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you "
    "requested. Either you supplied the wrong credentials (e.g., bad password), or your browser "
    "does not understand how to supply the credentials required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    406: "The resource could not be generated that was acceptable to your browser "
    "(content of type application/json).",
    409: "There was a conflict when trying to complete your request.",
    415: "The request media type is not supported by this server.",
}
_GRPC = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
}


def _credentials(md: dict[str, str]) -> policy.Credentials:
    """noauth2 as upstream's functional tests use it: the token is `user[:project]`; roles come
    from x-roles, else token 'admin' is an admin; a system-scoped token has no project."""
    user, _, project = md["x-auth-token"].partition(":")
    if "x-roles" in md:
        roles = frozenset(r.strip().lower() for r in md["x-roles"].split(",") if r.strip())
    else:
        roles = frozenset(["admin"]) if user == "admin" else frozenset()
    system = bool(md.get("openstack-system-scope"))
    project_id = None if system else (md.get("x-project-id") or project or user)
    return policy.Credentials(roles, project_id, system)


def _authorize(route: Route, req: http.Request, mode: policy.Mode) -> None:
    if route.policy is None:
        return
    if req.credentials is None:
        raise errors.PlacementError(
            errors.Kind.UNAUTHORIZED, "This server could not verify that you are authorized."
        )
    target = {"project_id": req.qs("project_id") or ""}
    policy.authorize(mode, route.policy, req.credentials, target)


def _check_accept(req: http.Request) -> None:
    accept = req.headers.get("accept")
    if req.method != "GET" or not accept:
        return
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json"):
            return
    raise errors.PlacementError(errors.Kind.NOT_ACCEPTABLE, "Only application/json is provided")


def _check_content(route: Route, req: http.Request) -> None:
    if req.method not in ("POST", "PUT", "PATCH"):
        return
    if req.body and not req.content_type:
        raise errors.invalid("content-type header required when content-length is set")
    if route.json_body:
        http.require_json(req)


class RestAdapter:
    def __init__(
        self,
        store: Store,
        mode: policy.Mode = policy.Mode.LEGACY,
        public_url: str = "",
        anonymous: policy.Credentials | None = None,
    ) -> None:
        self.store = store
        self.mode = mode
        self.public_url = public_url.rstrip("/")
        # Who a request without a token is; None: nobody (a 401 where policy applies).
        self.anonymous = anonymous

    async def dispatch(
        self, name: str, request: api_pb.PlacementRestRequest, context: Any
    ) -> httpbody_pb2.HttpBody:
        route = ROUTES[name]
        md = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        original = md.get("x-envoy-original-path", "")
        parts = urlsplit(original)
        query: dict[str, list[str]] = {}
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(k, []).append(v)
        version = http.Version(1, 0)
        version_header: list[tuple[str, str]] = []
        request_id = ctx_mod.current_request_id() or ctx_mod.new_request_id()
        try:
            version = http.negotiate(md.get("openstack-api-version"))
            version_header = [
                ("openstack-api-version", f"placement {version}"),
                ("vary", "openstack-api-version"),
            ]
            req = http.Request(
                method=md.get("x-envoy-original-method", "GET").upper(),
                params={
                    "uuid": request.uuid,
                    "resource_class": request.resource_class,
                    "consumer_uuid": request.consumer_uuid,
                    "name": request.name,
                },
                query=query,
                headers=md,
                body=request.body.data,
                content_type=request.body.content_type,
                version=version,
                store=self.store,
                credentials=_credentials(md) if "x-auth-token" in md else self.anonymous,
            )
            if not version.at_least(route.min_version):
                raise errors.PlacementError(
                    errors.Kind(route.too_old_status),
                    "The resource could not be found."
                    if route.too_old_status == 404
                    else f"The method {req.method} is not allowed for this resource.",
                )
            _check_accept(req)
            if route.policy is not None and req.credentials is None:
                raise errors.PlacementError(
                    errors.Kind.UNAUTHORIZED,
                    "This server could not verify that you are authorized.",
                )
            _check_content(route, req)
            _authorize(route, req, self.mode)
            resp = await route.handler(req)
        except errors.PlacementError as exc:
            status = exc.kind.value
            detail = f"{_EXPLANATION.get(status, '')}\n\n {exc.message}  ".lstrip("\n ")
            if status in (405, 406, 415) or exc.kind is errors.Kind.NOT_ACCEPTABLE:
                pass
            trailing = [
                ("x-error-code", exc.code),
                ("x-openstack-request-id", request_id),
                *version_header,
            ]
            code = _GRPC.get(status, grpc.StatusCode.FAILED_PRECONDITION)
            if status not in _GRPC:
                trailing.append(("x-http-status", str(status)))
            context.set_trailing_metadata(tuple(trailing))
            await context.abort(code, detail)
            raise
        # Locations are absolute, as webob makes them upstream.
        extra = [
            (k, self.public_url + v if k == "location" and v.startswith("/") else v)
            for k, v in resp.headers
        ]
        headers = [*version_header, ("x-openstack-request-id", request_id), *extra]
        if resp.status != 200:
            headers.append(("x-http-status", str(resp.status)))
        if resp.last_modified is not None:
            headers.append(("last-modified", http.http_date(resp.last_modified)))
            headers.append(("cache-control", "no-cache"))
        await context.send_initial_metadata(tuple(headers))
        if resp.status == 204 or resp.body is None:
            return httpbody_pb2.HttpBody()
        # A handler may hand over its JSON already encoded.
        data = resp.body if isinstance(resp.body, bytes) else json.dumps(resp.body).encode()
        return httpbody_pb2.HttpBody(content_type="application/json", data=data)


def generic_handler(
    store: Store,
    mode: policy.Mode = policy.Mode.LEGACY,
    public_url: str = "",
    anonymous: policy.Credentials | None = None,
) -> grpc.GenericRpcHandler[api_pb.PlacementRestRequest, httpbody_pb2.HttpBody]:
    adapter = RestAdapter(store, mode, public_url, anonymous)
    handlers = {}
    for name in ROUTES:

        def make(rpc: str) -> Callable[..., Awaitable[httpbody_pb2.HttpBody]]:
            async def call(
                request: api_pb.PlacementRestRequest, context: Any
            ) -> httpbody_pb2.HttpBody:
                return await adapter.dispatch(rpc, request, context)

            return call

        handlers[name] = grpc.unary_unary_rpc_method_handler(
            make(name),
            request_deserializer=api_pb.PlacementRestRequest.FromString,
            response_serializer=httpbody_pb2.HttpBody.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
