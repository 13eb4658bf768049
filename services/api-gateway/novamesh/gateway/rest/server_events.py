"""ServerEventsRestService: POST /v2.1/os-server-external-events (admin)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_server_events_pb2_grpc, rest_pb2
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.api.validation import validate
from novamesh.gateway.clients.server_events import GrpcServerEvents
from novamesh.gateway.domain import server_events as domain
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Call, Reply, Rest
from novamesh.gateway.schemas import types

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


def schema(version: APIVersion) -> dict[str, Any]:
    names = [n for since, group in domain.NAMES if version.at_least(since) for n in group]
    event = {
        "type": "object",
        "properties": {
            "server_uuid": types.uuid,
            "name": {"type": "string", "enum": names},
            "status": {"type": "string", "enum": list(domain.STATUSES)},
            "tag": {"type": "string", "maxLength": 255},
        },
        "required": ["server_uuid", "name"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"events": {"type": "array", "minItems": 1, "items": event}},
        "required": ["events"],
        "additionalProperties": False,
    }


class ServerEventsRest(api_server_events_pb2_grpc.ServerEventsRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, sender: domain.Sender | None = None) -> None:
        self.rest = rest
        self.deps = deps
        self.sender = sender or GrpcServerEvents(deps.cfg.endpoints.router)

    async def CreateServerExternalEvents(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schema(call.version), body)
            events = [
                domain.Event(
                    e["server_uuid"], e["name"], e.get("status", "completed"), e.get("tag")
                )
                for e in body["events"]
            ]
            done = await domain.deliver(self.deps, call.who, events, self.sender)
            # Nova echoes each event as sent, with its outcome (a tag only when one was sent).
            out = []
            for sent, event in zip(body["events"], done, strict=True):
                out.append({**sent, "status": event.status, "code": event.code})
            status = 200 if all(e.code == 200 for e in done) else 207
            return Reply({"events": out}, status)

        return await self.rest.handle(context, request, run)
