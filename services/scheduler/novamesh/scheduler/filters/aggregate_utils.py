"""Helpers for the aggregate-aware filters: metadata values and per-aggregate limits."""

from __future__ import annotations

import logging

from novamesh.scheduler.host_state import HostState

LOG = logging.getLogger(__name__)


def metadata_sets(host: HostState) -> dict[str, set[str]]:
    """Every aggregate metadata key of the host with all its values (comma lists split)."""
    out: dict[str, set[str]] = {}
    for agg in host.aggregates:
        for key, raw in agg.metadata.items():
            out.setdefault(key, set()).update(v.strip() for v in raw.split(","))
    return out


def min_value(host: HostState, key: str, default: float) -> float:
    """The smallest numeric value the host's aggregates give `key`, else `default`.

    Several aggregates may disagree; the most conservative value wins, as in Nova.
    """
    values = []
    for raw in host.aggregate_values(key):
        try:
            values.append(float(raw))
        except ValueError:
            LOG.warning("aggregate metadata %s=%r is not a number; ignored", key, raw)
    return min(values) if values else default
