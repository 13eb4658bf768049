"""SchedulerService over gRPC: translate, call the pipeline, map failures to status codes."""

from __future__ import annotations

import logging

import grpc
from novamesh.scheduler import convert
from novamesh.scheduler.explain import NoValidHost
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.placement import PlacementUnavailable
from novamesh.scheduler.v1 import scheduler_pb2 as spb
from novamesh.scheduler.v1 import scheduler_pb2_grpc as spb_grpc

LOG = logging.getLogger(__name__)


class SchedulerServicer(spb_grpc.SchedulerServiceServicer):
    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    async def SelectDestinations(
        self,
        request: spb.SelectDestinationsRequest,
        context: grpc.aio.ServicerContext[
            spb.SelectDestinationsRequest, spb.SelectDestinationsResponse
        ],
    ) -> spb.SelectDestinationsResponse:
        if not request.instance_uuids:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "instance_uuids is empty")
        if len(set(request.instance_uuids)) != len(request.instance_uuids):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "duplicate instance uuids")
        spec = convert.spec_from_proto(request.spec)
        try:
            placed = await self._scheduler.select_destinations(
                spec, list(request.instance_uuids), request.return_alternates
            )
        except NoValidHost as exc:
            LOG.warning("%s", exc.message)
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, exc.message)
        except PlacementUnavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return convert.response_to_proto(placed)
