"""ServicesRestService: /v2.1/os-services (list, enable/disable/force down, delete).

Before 2.53 a service is named by host and binary in the body and the action is the last path
segment; from 2.53 by its uuid in the path, with the changes in the body. Admin only.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.cells.v1 import services_pb2
from novamesh.compute.v1 import api_services_pb2_grpc, rest_pb2
from novamesh.gateway.api import policy
from novamesh.gateway.api.errors import BadRequest, NotFound
from novamesh.gateway.api.validation import validate
from novamesh.gateway.clients.services import ServicesClient
from novamesh.gateway.rest.call import Call, Reply, Rest

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody

for _name, _desc in [
    ("os_compute_api:os-services:list", "List compute services"),
    ("os_compute_api:os-services:update", "Enable, disable or force down a service"),
    ("os_compute_api:os-services:delete", "Delete a compute service"),
]:
    policy.register(_name, "rule:admin_api", _desc)

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_REASON = {"type": "string", "minLength": 1, "maxLength": 255}


def _legacy_schema(action: str) -> dict[str, Any]:
    props: dict[str, Any] = {"host": _NAME, "binary": _NAME}
    required = ["host", "binary"]
    if action == "disable-log-reason":
        props["disabled_reason"] = _REASON
        required.append("disabled_reason")
    if action == "force-down":
        props["forced_down"] = {"type": "boolean"}
        required.append("forced_down")
    # Nova's pre-2.53 bodies tolerate extra keys.
    return {"type": "object", "properties": props, "required": required}


_UPDATE_253 = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["enabled", "disabled"]},
        "disabled_reason": _REASON,
        "forced_down": {"type": "boolean"},
    },
    "additionalProperties": False,
}


def _time(svc: services_pb2.ComputeService) -> str | None:
    if not svc.HasField("updated_at"):
        return None
    return svc.updated_at.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S.%f")


def _view(call: Call, svc: services_pb2.ComputeService) -> dict[str, Any]:
    if svc.unreachable and call.version.at_least("2.69"):
        return {"binary": svc.binary, "host": svc.host, "status": "UNKNOWN"}
    view: dict[str, Any] = {
        "id": svc.uuid if call.version.at_least("2.53") else svc.id,
        "binary": svc.binary,
        "disabled_reason": svc.disabled_reason or None,
        "host": svc.host,
        "state": "up" if svc.up else "down",
        "status": "disabled" if svc.disabled else "enabled",
        "updated_at": _time(svc),
        "zone": svc.zone,
    }
    if call.version.at_least("2.11"):
        view["forced_down"] = svc.forced_down
    return view


def _uuid(value: str) -> str:
    try:
        uuidlib.UUID(value)
    except ValueError:
        raise BadRequest(f"Invalid uuid {value}") from None
    return value


class ServicesRest(api_services_pb2_grpc.ServicesRestServiceServicer):
    def __init__(self, rest: Rest, client: ServicesClient) -> None:
        self.rest = rest
        self.client = client

    async def ListServices(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-services:list")
            found = await self.client.list(
                call.query.get("binary") or "", call.query.get("host") or ""
            )
            shown = [
                s for s in found.services if not s.unreachable or call.version.at_least("2.69")
            ]
            return Reply({"services": [_view(call, s) for s in shown]})

        return await self.rest.handle(context, request, run)

    async def UpdateService(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-services:update")
            if call.version.at_least("2.53"):
                return await self._update_253(call)
            return await self._update_legacy(call)

        return await self.rest.handle(context, request, run)

    async def _update_legacy(self, call: Call) -> Reply:
        action = call.path_id
        actions = {"enable", "disable", "disable-log-reason"}
        if call.version.at_least("2.11"):
            actions.add("force-down")
        if action not in actions:
            raise NotFound("Unknown action")
        body = call.body()
        validate(_legacy_schema(action), body)
        ref = services_pb2.ServiceRef(
            host_binary=services_pb2.HostBinary(host=body["host"], binary=body["binary"])
        )
        update = services_pb2.UpdateServiceRequest(service=ref)
        reply: dict[str, Any] = {"host": body["host"], "binary": body["binary"]}
        if action == "force-down":
            update.forced_down = body["forced_down"]
            reply["forced_down"] = body["forced_down"]
        else:
            update.disabled = action != "enable"
            reply["status"] = "enabled" if action == "enable" else "disabled"
            if action == "disable-log-reason":
                update.disabled_reason = body["disabled_reason"]
                reply["disabled_reason"] = body["disabled_reason"]
        await self.client.update(update, "Unknown service")
        return Reply({"service": reply})

    async def _update_253(self, call: Call) -> Reply:
        service_id = _uuid(call.path_id)
        body = call.body()
        validate(_UPDATE_253, body)
        if not body:
            raise BadRequest(
                "No updates were requested. Fields 'status' or 'forced_down' should be specified."
            )
        status = body.get("status")
        if status == "enabled" and body.get("disabled_reason"):
            raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
        if "disabled_reason" in body and status != "disabled":
            raise BadRequest(
                "Specifying 'disabled_reason' with status other than 'disabled' is invalid."
            )
        found = await self.client.list("", "")
        current = next((s for s in found.services if s.uuid == service_id), None)
        if current is None:
            raise NotFound(f"Service {service_id} not found.")
        if current.binary != "nova-compute":
            raise BadRequest(
                f"Updating a {current.binary} service is not supported. Only nova-compute "
                "services can be updated."
            )
        update = services_pb2.UpdateServiceRequest(service=services_pb2.ServiceRef(uuid=service_id))
        if status is not None:
            update.disabled = status == "disabled"
            # As in Nova the status sets the reason too: a status alone clears it.
            update.disabled_reason = body.get("disabled_reason") or ""
        if "forced_down" in body:
            update.forced_down = body["forced_down"]
        svc = await self.client.update(update, f"Service {service_id} not found.")
        return Reply({"service": _view(call, svc)})

    async def DeleteService(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            policy.authorize(call.who, "os_compute_api:os-services:delete")
            if call.version.at_least("2.53"):
                ref = services_pb2.ServiceRef(uuid=_uuid(call.path_id))
            else:
                try:
                    ref = services_pb2.ServiceRef(id=int(call.path_id))
                except ValueError:
                    raise BadRequest(f"Invalid service id {call.path_id}") from None
            await self.client.delete(ref, f"Service {call.path_id} not found.")
            return Reply(None, 204)

        return await self.rest.handle(context, request, run)
