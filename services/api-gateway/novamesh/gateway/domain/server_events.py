"""os-server-external-events: which of the events other services send the API accepts.

Neutron, Cinder, Ironic and Cyborg tell Nova that a port was plugged, a volume grew, a
bare-metal node changed power or an accelerator was bound. Nova answers each event on its own:
200 accepted (the server has a host to deliver it to), 404 no such server, 422 the server has
no host yet (or any more: shelved offloaded), 400 an event that needs a tag came without one.

The accepted events go on to the router, which acts on them as Nova's compute manager does
(power-update, volume-extended, network-vif-deleted; see the router's server_events module).
A volume-extended event carries the volume's size as the built-in volume store records it,
which is what Nova reads from Cinder. As with Nova's cast to the compute host, a router that
cannot take the events does not change the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import ApiError, NotFound
from novamesh.gateway.db import volumes as volume_store
from novamesh.gateway.domain import servers
from novamesh.gateway.domain.deps import Deps

LOG = logging.getLogger(__name__)

POLICY = "os_compute_api:os-server-external-events:create"
policy.register(POLICY, "rule:admin_api", "Send external events to servers")

# Event names by the microversion that introduced them.
NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "2.1",
        ("network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted"),
    ),
    ("2.51", ("volume-extended",)),
    ("2.76", ("power-update",)),
    ("2.82", ("accelerator-request-bound",)),
    ("2.93", ("volume-reimaged",)),
)
STATUSES = ("failed", "completed", "in-progress")
# These say which volume, power state or accelerator request they are about in their tag.
NEEDS_TAG = frozenset({"volume-extended", "power-update", "accelerator-request-bound"})


@dataclass
class Event:
    server_uuid: str
    name: str
    status: str = "completed"
    tag: str | None = None
    code: int = 0


class Sender(Protocol):
    async def deliver(self, events: Sequence[Event], sizes: dict[str, int]) -> None:
        """Hand accepted events to the router; `sizes`: volume id -> GiB (volume-extended)."""
        ...


async def deliver(
    deps: Deps, who: Identity, events: list[Event], sender: Sender | None = None
) -> list[Event]:
    """Give each event its code and status, then hand the accepted ones on; the caller
    answers 207 unless all are 200."""
    policy.authorize(who, POLICY)
    hosts: dict[str, str | None] = {}
    for uuid in {e.server_uuid for e in events}:
        try:
            hosts[uuid] = (await servers.get(deps, who, uuid)).host
        except NotFound:
            hosts[uuid] = None
    for event in events:
        host = hosts[event.server_uuid]
        if host is None:
            event.status, event.code = "failed", 404
        elif event.name in NEEDS_TAG and event.tag is None:
            event.status, event.code = "failed", 400
        elif not host:
            event.status, event.code = "failed", 422
        else:
            event.status, event.code = "completed", 200
            LOG.info(
                "event %s:%s for instance %s on %s", event.name, event.tag, event.server_uuid, host
            )
    accepted = [e for e in events if e.code == 200]
    if accepted and sender is not None:
        await _hand_on(deps, accepted, sender)
    return events


async def _hand_on(deps: Deps, accepted: list[Event], sender: Sender) -> None:
    sizes: dict[str, int] = {}
    for event in accepted:
        if event.name == "volume-extended" and event.tag:
            volume = await volume_store.get(deps.sessions, event.tag)
            if volume is not None:
                sizes[event.tag] = volume.size
    try:
        await sender.deliver(accepted, sizes)
    except ApiError as exc:
        LOG.warning("the router did not take %d external events: %s", len(accepted), exc)
