"""InstanceUsageAuditLogRestService (/v2.1/os-instance_usage_audit_log)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeAlias
from urllib.parse import unquote

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_usage_audit_pb2_grpc, rest_pb2
from novamesh.gateway.domain import hypervisors, usage_audit
from novamesh.gateway.rest.call import Call, Reply, Rest

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


class InstanceUsageAuditLogRest(api_usage_audit_pb2_grpc.InstanceUsageAuditLogRestServiceServicer):
    def __init__(self, rest: Rest, source: hypervisors.Source) -> None:
        self.rest = rest
        self.source = source

    async def _hosts(self) -> list[str]:
        # Nova counts every compute service, disabled ones too (they may hold instances).
        return [n.host for n in await self.source.hypervisors(with_servers=False) if n.host]

    async def ListInstanceUsageAuditLogs(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            usage_audit.authorize(call.who, "list")
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            return Reply(
                {"instance_usage_audit_logs": usage_audit.audit_log(await self._hosts(), now)}
            )

        return await self.rest.handle(context, request, run)

    async def GetInstanceUsageAuditLog(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            usage_audit.authorize(call.who, "show")
            before = usage_audit.parse_before(unquote(call.path_id))
            return Reply(
                {"instance_usage_audit_log": usage_audit.audit_log(await self._hosts(), before)}
            )

        return await self.rest.handle(context, request, run)
