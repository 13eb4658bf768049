"""VolumesRestService: /v2.1/servers/{id}/os-volume_attachments[/{volume_id}] and the
deprecated /v2.1/os-volumes proxy (up to 2.35)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.api import httpbody_pb2
from novamesh.compute.v1 import api_volumes_pb2_grpc, rest_pb2
from novamesh.gateway.api.errors import BadRequest
from novamesh.gateway.api.validation import validate
from novamesh.gateway.domain import volume_attachments as attachments
from novamesh.gateway.domain import volumes
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.domain.device_ports import Devices
from novamesh.gateway.rest.call import Call, Handler, Reply, Rest
from novamesh.gateway.schemas import types
from novamesh.gateway.schemas import volumes as schemas
from novamesh.gateway.views import volumes as view

Ctx = grpc.aio.ServicerContext[Any, Any]
Req: TypeAlias = rest_pb2.RestRequest
Body: TypeAlias = httpbody_pb2.HttpBody


class VolumesRest(api_volumes_pb2_grpc.VolumesRestServiceServicer):
    def __init__(self, rest: Rest, deps: Deps, devices: Devices) -> None:
        self.rest = rest
        self.deps = deps
        self.devices = devices

    # ---- os-volume_attachments ------------------------------------------------------------

    async def ListVolumeAttachments(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await attachments.list_attachments(
                self.deps, self.devices, call.who, call.path_id
            )
            offset = call.query.offset()
            page = found[offset : offset + call.query.limit(self.deps.cfg.api.max_limit)]
            return Reply({"volumeAttachments": [view.attachment(a, call.version) for a in page]})

        return await self.rest.handle(context, request, run)

    async def GetVolumeAttachment(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await attachments.get_attachment(
                self.deps, self.devices, call.who, call.path_id, call.sub_id
            )
            return Reply({"volumeAttachment": view.attachment(found, call.version)})

        return await self.rest.handle(context, request, run)

    async def AttachVolume(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.attach(call.version), body)
            asked = body["volumeAttachment"]
            want = attachments.AttachRequest(
                volume_id=asked["volumeId"],
                device=asked.get("device") or "",
                tag=asked.get("tag") or "",
                delete_on_termination=types.to_bool(asked.get("delete_on_termination", False)),
            )
            att = await attachments.attach(self.deps, self.devices, call.who, call.path_id, want)
            return Reply({"volumeAttachment": view.attachment(att, call.version, created=True)})

        return await self.rest.handle(context, request, run)

    async def UpdateVolumeAttachment(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.update(call.version), body)
            asked = body["volumeAttachment"]
            new_volume = asked["volumeId"]
            if asked.get("id", call.sub_id) != call.sub_id:
                raise BadRequest("The id property is not mutable")
            if asked.get("serverId", call.path_id) != call.path_id:
                raise BadRequest("The serverId property is not mutable")
            dot = asked.get("delete_on_termination")
            if not call.version.at_least("2.85") and new_volume == call.sub_id:
                raise BadRequest("The volume to swap to is the volume already attached")
            await attachments.update(
                self.deps,
                self.devices,
                call.who,
                call.path_id,
                call.sub_id,
                new_volume,
                None if dot is None else types.to_bool(dot),
            )
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)

    async def DetachVolume(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await attachments.detach(self.deps, self.devices, call.who, call.path_id, call.sub_id)
            return Reply(None, 202)

        return await self.rest.handle(context, request, run)

    # ---- os-volumes (deprecated proxy) ------------------------------------------------------

    async def _proxy(self, request: Req, context: Ctx, run: Handler) -> Body:
        return await self.rest.handle(context, request, run, max_version=volumes.MAX_VERSION)

    async def _list(self, request: Req, context: Ctx, detail: bool) -> Body:
        async def run(call: Call) -> Reply:
            limit = call.query.limit(self.deps.cfg.api.max_limit)
            found = await volumes.list_volumes(
                self.deps, call.who, detail, limit, call.query.offset()
            )
            return Reply({"volumes": [view.volume(v) for v in found]})

        return await self._proxy(request, context, run)

    async def ListVolumes(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=False)

    async def ListVolumesDetail(self, request: Req, context: Ctx) -> Body:
        return await self._list(request, context, detail=True)

    async def GetVolume(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            found = await volumes.show(self.deps, call.who, call.path_id)
            return Reply({"volume": view.volume(found)})

        return await self._proxy(request, context, run)

    async def CreateVolume(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            body = call.body()
            validate(schemas.create_volume, body)
            new = volumes.new_volume(call.who, body["volume"])
            created = await volumes.create(self.deps, call.who, new)
            return Reply({"volume": view.volume(created)})

        return await self._proxy(request, context, run)

    async def DeleteVolume(self, request: Req, context: Ctx) -> Body:
        async def run(call: Call) -> Reply:
            await volumes.delete(self.deps, call.who, call.path_id)
            return Reply(None, 202)

        return await self._proxy(request, context, run)
