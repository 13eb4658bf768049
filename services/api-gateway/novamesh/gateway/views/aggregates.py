"""Aggregate bodies (uuid from 2.41) and availability zone listings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novamesh.common.apidb import models
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.domain.aggregates import metadata_of, zone_of
from novamesh.gateway.views.common import strtime


@dataclass(frozen=True)
class ServiceState:
    host: str
    binary: str
    up: bool
    enabled: bool
    updated_at: str | None


def show(version: APIVersion, agg: models.Aggregate, full: bool = True) -> dict[str, Any]:
    """full=False is the create response, which has neither hosts nor metadata."""
    view: dict[str, Any] = {
        "availability_zone": zone_of(agg),
        "created_at": strtime(agg.created_at),
        "deleted": False,
        "deleted_at": None,
        "id": agg.id,
        "name": agg.name,
        "updated_at": strtime(agg.updated_at),
    }
    if full:
        view["hosts"] = sorted(h.host for h in agg.hosts)
        view["metadata"] = metadata_of(agg)
    if version.at_least("2.41"):
        view["uuid"] = agg.uuid
    return view


def _service(
    binary: str, up: bool = True, enabled: bool = True, updated_at: str | None = None
) -> dict[str, Any]:
    return {binary: {"available": up, "active": enabled, "updated_at": updated_at}}


def zones(
    found: dict[str, list[str]], detail: bool, services: list[ServiceState] | None = None
) -> dict[str, Any]:
    """Zones with their hosts; `services` (when the router answered) give each host's state.

    As in Nova, the detail lists the control plane's services under the internal zone.
    """
    info: list[dict[str, Any]] = []
    state = {(s.host, s.binary): s for s in services or []}
    if detail:
        internal: dict[str, Any] = {}
        for s in services or []:
            if s.binary != "nova-compute":
                internal.setdefault(s.host, {}).update(
                    _service(s.binary, s.up, s.enabled, s.updated_at)
                )
        if internal:
            info.append(
                {"zoneName": "internal", "zoneState": {"available": True}, "hosts": internal}
            )
    for zone in sorted(found):
        hosts = None
        if detail:
            hosts = {}
            for h in sorted(found[zone]):
                known = state.get((h, "nova-compute"))
                hosts[h] = (
                    _service("nova-compute", known.up, known.enabled, known.updated_at)
                    if known
                    else _service("nova-compute")
                )
        info.append({"zoneName": zone, "zoneState": {"available": True}, "hosts": hosts})
    return {"availabilityZoneInfo": info}
