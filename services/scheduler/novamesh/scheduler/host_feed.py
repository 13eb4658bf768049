"""Keeps the host-state view current from the router's WatchHostStates stream.

The stream opens with a snapshot of every host, then sends each change. When it breaks, the
feed reconnects with capped exponential backoff; the view keeps serving meanwhile (placement
still guards every claim).
"""

from __future__ import annotations

import asyncio
import logging
import random

import grpc
from novamesh.cells.v1 import router_pb2, router_pb2_grpc
from novamesh.scheduler.convert import report_from_proto
from novamesh.scheduler.host_state import HostStateStore

LOG = logging.getLogger(__name__)


class HostFeed:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        store: HostStateStore,
        min_backoff: float = 0.5,
        max_backoff: float = 2.0,
    ) -> None:
        self._stub = router_pb2_grpc.CellsRouterServiceStub(channel)
        self._store = store
        self._min = min_backoff
        self._max = max_backoff
        self.updates = 0
        self.connected = asyncio.Event()
        # Set on the first state ever received (and never cleared): the view is usable.
        self.synced = asyncio.Event()
        self._sync_pending = False

    async def run(self) -> None:
        backoff = self._min
        while True:
            try:
                call = self._stub.WatchHostStates(router_pb2.WatchHostStatesRequest())
                async for update in call:
                    if not self.connected.is_set():
                        LOG.info("host-state stream connected")
                        self.connected.set()
                    backoff = self._min
                    self._apply(update)
                    if not self._sync_pending:
                        # Let the rest of the snapshot (already in flight) land first.
                        self._sync_pending = True
                        asyncio.get_running_loop().call_later(0.2, self.synced.set)
                LOG.warning("host-state stream ended; reconnecting")
            except grpc.aio.AioRpcError as exc:
                LOG.warning("host-state stream broke: %s; retry in %.1fs", exc.code().name, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self._max)

    def _apply(self, update: router_pb2.HostStateUpdate) -> None:
        self.updates += 1
        uuid = update.resources.compute_node_uuid
        if not uuid:
            return
        if update.removed:
            self._store.remove(uuid)
        else:
            self._store.update(report_from_proto(update))
