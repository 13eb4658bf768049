"""ServerActionsRestService: os-instance-actions, os-migrations and a server's migrations."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeAlias, get_args

import grpc
from google.api import httpbody_pb2
from google.protobuf import timestamp_pb2
from novamesh.cells.v1 import actions_pb2
from novamesh.compute.v1 import api_server_actions_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest, NotFound
from novamesh.gateway.api.query import Query
from novamesh.gateway.api.validation import validate
from novamesh.gateway.clients import actions as actions_client
from novamesh.gateway.clients import live_migrations as live_client
from novamesh.gateway.domain import servers
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.views import server_records as view
from novamesh.gateway.views.common import ViewContext, next_link

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

_IA = "os_compute_api:os-instance-actions"
for _name, _check, _desc in [
    (f"{_IA}:list", "rule:admin_or_owner", "List a server's actions"),
    (f"{_IA}:show", "rule:admin_or_owner", "Show a server's action"),
    (f"{_IA}:events", "rule:admin_api", "Action events with hosts and tracebacks"),
    (f"{_IA}:events:details", "rule:admin_api", "Action event details (2.84)"),
    ("os_compute_api:os-migrations:index", "rule:admin_api", "List migrations"),
    ("os_compute_api:servers:migrations:index", "rule:admin_api", "A server's live migrations"),
    ("os_compute_api:servers:migrations:show", "rule:admin_api", "A server's live migration"),
    ("os_compute_api:servers:migrations:force_complete", "rule:admin_api", "Force-complete"),
    ("os_compute_api:servers:migrations:delete", "rule:admin_api", "Abort a live migration"),
]:
    policy.register(_name, _check, _desc)

_ACTION_PARAMS = {"limit", "marker", "changes-since", "changes-before"}
_MIGRATION_PARAMS = {
    "hidden",
    "host",
    "instance_uuid",
    "migration_type",
    "source_compute",
    "status",
    "limit",
    "marker",
    "changes-since",
    "changes-before",
    "user_id",
    "project_id",
}
_MIGRATION_FILTERS = ("host", "instance_uuid", "migration_type", "source_compute", "status")


def _ctx(call: Call) -> ViewContext:
    return ViewContext(
        version=call.version,
        base_url=call.base_url,
        is_admin=call.who.is_admin,
        project_id=call.who.project_id,
    )


def _timestamp(name: str, raw: str | None) -> timestamp_pb2.Timestamp | None:
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"Invalid input for query parameters {name}. Value: {raw}. '{raw}' is not a 'date-time'"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(dt.UTC).replace(tzinfo=None))
    return ts


def _window(call: Call, request: Any) -> None:
    """changes-since (2.58 for actions, 2.59 for migrations) and changes-before (2.66)."""
    since = _timestamp("changes-since", call.query.get("changes-since"))
    before = _timestamp("changes-before", call.query.get("changes-before"))
    if since is not None and before is not None and since.ToDatetime() > before.ToDatetime():
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if since is not None:
        request.changes_since.CopyFrom(since)
    if before is not None and call.version.at_least("2.66"):
        request.changes_before.CopyFrom(before)


class ServerRecordsRest(api_server_actions_pb2_grpc.ServerActionsRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps) -> None:
        self.rest = rest
        self.deps = deps

    @property
    def _client(self) -> actions_client.ActionsClient:
        return actions_client.for_target(self.deps.cfg.endpoints.router)

    async def _owner(self, call: Call, rule: str) -> str:
        """The server's project, after the policy check (deleted servers count from 2.21)."""
        try:
            inst = await servers.get(self.deps, call.who, call.path_id)
        except NotFound:
            if not call.version.at_least("2.21"):
                raise
            found = await self._client.instance_actions(
                actions_pb2.ListInstanceActionsRequest(instance_uuid=call.path_id, limit=1)
            )
            if not found:
                raise
            policy.authorize(call.who, rule, found[0].project_id)
            return found[0].project_id
        policy.authorize(call.who, rule, inst.project_id)
        return inst.project_id

    async def ListInstanceActions(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await self._owner(call, f"{_IA}:list")
            query: Query = call.query
            req = actions_pb2.ListInstanceActionsRequest(instance_uuid=call.path_id)
            paged = call.version.at_least("2.58")
            if paged:
                query.check_known(_ACTION_PARAMS)
                req.limit = query.limit(self.deps.cfg.api.max_limit)
                req.marker = query.get("marker") or ""
                _window(call, req)
            records = await self._client.instance_actions(req)
            ctx = _ctx(call)
            body: dict[str, Any] = {"instanceActions": [view.action(ctx, a) for a in records]}
            if paged and records and len(records) == req.limit:
                body["links"] = next_link(
                    ctx,
                    f"servers/{call.path_id}/os-instance-actions",
                    dict(query.as_dict()),
                    records[-1].request_id,
                )
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def GetInstanceAction(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await self._owner(call, f"{_IA}:show")
            record = await self._client.instance_action(call.path_id, call.sub_id)
            admin = policy.allowed(call.who, f"{_IA}:events")
            body = view.action_detail(
                _ctx(call),
                record,
                show_events=admin or call.version.at_least("2.51"),
                show_host=admin,
                show_details=policy.allowed(call.who, f"{_IA}:events:details"),
            )
            return Reply({"instanceAction": body})

        return await self.rest.handle(context, request, run)

    async def ListMigrations(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-migrations:index")
            query: Query = call.query
            req = actions_pb2.ListMigrationsRequest()
            for key in _MIGRATION_FILTERS:
                value = query.get(key)
                if value:
                    req.filters[key] = value
            paged = call.version.at_least("2.59")
            if paged:
                if call.version.at_least("2.80"):
                    for key in ("user_id", "project_id"):
                        value = query.get(key)
                        if value:
                            req.filters[key] = value
                req.limit = query.limit(self.deps.cfg.api.max_limit)
                req.marker = query.get("marker") or ""
                _window(call, req)
            found = await self._client.migrations(req)
            ctx = _ctx(call)
            body: dict[str, Any] = {"migrations": [view.migration(ctx, m) for m in found]}
            if paged and found and len(found) == req.limit:
                body["migrations_links"] = next_link(
                    ctx, "os-migrations", dict(query.as_dict()), found[-1].uuid
                )
            return Reply(body)

        return await self.rest.handle(context, request, run)

    async def ListServerMigrations(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:servers:migrations:index")
            await servers.get(self.deps, call.who, call.path_id)
            found = await self._client.migrations(
                actions_pb2.ListMigrationsRequest(
                    filters={"instance_uuid": call.path_id, "migration_type": "live-migration"}
                )
            )
            live = [m for m in found if m.status in _IN_PROGRESS]
            return Reply({"migrations": [_server_migration(call, m) for m in live]})

        return await self.rest.handle(context, request, run)

    async def GetServerMigration(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:servers:migrations:show")
            await servers.get(self.deps, call.who, call.path_id)
            found = await self._client.migrations(
                actions_pb2.ListMigrationsRequest(filters={"instance_uuid": call.path_id})
            )
            match = next((m for m in found if str(m.id) == call.sub_id), None)
            mid, sid = call.sub_id, call.path_id
            if match is None:
                raise NotFound(f"In-progress live migration {mid} is not found for server {sid}.")
            if match.migration_type != "live-migration":
                raise NotFound(f"Migration {mid} for server {sid} is not live-migration.")
            if match.status not in _IN_PROGRESS:
                raise NotFound(f"Live migration {mid} for server {sid} is not in progress.")
            return Reply({"migration": _server_migration(call, match)})

        return await self.rest.handle(context, request, run)

    async def ServerMigrationAction(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            if not call.version.at_least("2.22"):
                raise NotFound("The resource could not be found.")
            validate(_FORCE_COMPLETE, call.body())
            policy.authorize(call.who, "os_compute_api:servers:migrations:force_complete")
            await servers.get(self.deps, call.who, call.path_id)
            # The router checks Nova's preconditions: the server active and migrating (409),
            # the migration one of its own (400) and running (400).
            await self._live.force_complete(call.path_id, _migration_id(call.sub_id))
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)

    async def AbortServerMigration(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            if not call.version.at_least("2.24"):
                raise NotFound("The resource could not be found.")
            policy.authorize(call.who, "os_compute_api:servers:migrations:delete")
            await servers.get(self.deps, call.who, call.path_id)
            # Preconditions in the router: the server migrating (409), the migration one of
            # its own (404), running, or from 2.65 also queued or preparing (else 400).
            await self._live.abort(
                call.path_id, _migration_id(call.sub_id), call.version.at_least("2.65")
            )
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)

    @property
    def _live(self) -> live_client.LiveMigrationsClient:
        return live_client.for_target(self.deps.cfg.endpoints.router)


def _migration_id(raw: str) -> int:
    # Not a number: no migration has that id (the router answers as for any unknown one).
    return int(raw) if raw.isdigit() else -1


# A live migration's statuses before it ends (Nova shows only these on a server).
_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")

_FORCE_COMPLETE = {
    "type": "object",
    "properties": {"force_complete": {"type": "null"}},
    "required": ["force_complete"],
    "additionalProperties": False,
}


def _server_migration(call: Call, m: actions_pb2.Migration) -> dict[str, Any]:
    ctx = _ctx(call)
    out = {
        k: v
        for k, v in view.migration(ctx, m).items()
        if k not in ("links", "migration_type", "old_instance_type_id", "new_instance_type_id")
    }
    out["server_uuid"] = out.pop("instance_uuid")
    # The progress counters the source host reported while the migration runs (null until
    # it reported, as Nova's unset columns).
    for name in _PROGRESS:
        out[name] = getattr(m, name) if m.HasField(name) else None
    return out


_Progress = Literal[
    "memory_total_bytes",
    "memory_processed_bytes",
    "memory_remaining_bytes",
    "disk_total_bytes",
    "disk_processed_bytes",
    "disk_remaining_bytes",
]
_PROGRESS: tuple[_Progress, ...] = get_args(_Progress)
