"""Aggregate bodies (uuid from 2.41) and availability zone listings."""

from __future__ import annotations

from typing import Any

from novamesh.common.apidb import models
from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.domain.aggregates import metadata_of, zone_of
from novamesh.gateway.views.common import strtime


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


def _service(binary: str) -> dict[str, Any]:
    return {binary: {"available": True, "active": True, "updated_at": None}}


def zones(found: dict[str, list[str]], detail: bool) -> dict[str, Any]:
    info: list[dict[str, Any]] = []
    if detail:
        info.append(
            {
                "zoneName": "internal",
                "zoneState": {"available": True},
                "hosts": {
                    "conductor": _service("nova-conductor"),
                    "scheduler": _service("nova-scheduler"),
                },
            }
        )
    for zone in sorted(found):
        hosts = {h: _service("nova-compute") for h in sorted(found[zone])} if detail else None
        info.append({"zoneName": zone, "zoneState": {"available": True}, "hosts": hosts})
    return {"availabilityZoneInfo": info}
