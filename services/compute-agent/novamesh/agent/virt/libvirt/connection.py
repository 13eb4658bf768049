"""One libvirt connection for the agent, and its lifecycle events delivered to asyncio.

libvirt's calls block, so the driver runs them in worker threads (`call`). Its events need an
event loop implementation running in a thread of its own: libvirt's default implementation,
registered once per process, runs in a daemon thread; each lifecycle event is handed to the
asyncio loop with `call_soon_threadsafe`, so the agent learns of a guest that powered itself
off or crashed without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt
from novamesh.agent.states import PowerState

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# (domain uuid, its power state now)
EventHandler = Callable[[str, PowerState], None]

_EVENT_LOOP_LOCK = threading.Lock()
_EVENT_LOOP_STARTED = False

# virDomainState -> Nova power state (Nova's libvirt driver maps them the same way).
_POWER = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}


def power_state(dom: libvirt.virDomain) -> PowerState:
    """The Nova power state of a domain; a shut-off domain with a managed save is suspended."""
    state, _reason = dom.state()
    power = _POWER.get(state, PowerState.NOSTATE)
    if power is PowerState.SHUTDOWN and dom.hasManagedSaveImage(0):
        return PowerState.SUSPENDED
    return power


def _start_event_loop() -> None:
    global _EVENT_LOOP_STARTED
    with _EVENT_LOOP_LOCK:
        if _EVENT_LOOP_STARTED:
            return
        # libvirt prints every error to stderr by default; the driver raises them instead.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _EVENT_LOOP_STARTED = True


class Connection:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._conn: libvirt.virConnect | None = None
        self._callback_ids: list[int] = []

    @property
    def conn(self) -> libvirt.virConnect:
        if self._conn is None:
            raise RuntimeError("libvirt connection is not open")
        return self._conn

    async def open(self) -> None:
        _start_event_loop()
        self._conn = await asyncio.to_thread(libvirt.open, self.uri)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking libvirt call in a worker thread."""
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))

    def watch_lifecycle(self, handler: EventHandler) -> None:
        loop = asyncio.get_running_loop()

        def on_event(
            _conn: libvirt.virConnect, dom: libvirt.virDomain, event: int, detail: int, _op: Any
        ) -> None:
            try:
                uuid, power = dom.UUIDString(), power_state(dom)
            except libvirt.libvirtError:
                # Undefined before we looked: it is gone.
                uuid, power = dom.UUIDString(), PowerState.NOSTATE
            LOG.debug("libvirt event %s/%s for %s: %s", event, detail, uuid, power.name)
            loop.call_soon_threadsafe(handler, uuid, power)

        self._callback_ids.append(
            self.conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None
            )
        )

    async def close(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        for cid in self._callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                conn.domainEventDeregisterAny(cid)
        self._callback_ids = []
        await asyncio.to_thread(conn.close)
