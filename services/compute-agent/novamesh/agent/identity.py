"""Stable names: the same hosts give the same agent id and node uuids after every restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

# Fixed namespaces; changing them would orphan every compute node provider in placement.
_NODE_NAMESPACE = uuid.UUID("5d1b7bb6-3c1e-4d8e-a0a4-7c5a3f6e2b91")
_AGENT_NAMESPACE = uuid.UUID("9b0f5e3a-61d2-4a57-8d1c-2e7f4c9a0b63")


def compute_node_uuid(nodename: str) -> str:
    return str(uuid.uuid5(_NODE_NAMESPACE, nodename))


def agent_id(hosts: Iterable[str]) -> str:
    return str(uuid.uuid5(_AGENT_NAMESPACE, ",".join(sorted(hosts))))
