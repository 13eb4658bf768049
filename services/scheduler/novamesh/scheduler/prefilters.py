"""Placement pre-filters: narrow the allocation-candidates query with aggregates (member_of),
so hosts a request could never use are not even listed.

Both need the aggregates mirrored in placement (a provider's aggregates = its host's), and
both are off by default as in Nova.
"""

from __future__ import annotations

from collections.abc import Sequence

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.aggregates import Aggregate
from novamesh.scheduler.explain import SHORT, NoValidHost
from novamesh.scheduler.spec import RequestSpec


def availability_zone(
    spec: RequestSpec, aggregates: Sequence[Aggregate], cfg: SchedulerConfig
) -> list[str]:
    """The aggregates making up the requested zone(s); none for a zone no aggregate defines
    (the default zone has no aggregate), leaving AvailabilityZoneFilter to decide."""
    if not cfg.query_placement_for_availability_zone or not spec.availability_zone:
        return []
    zones = {z.strip() for z in spec.availability_zone.split(",")}
    return sorted(a.uuid for a in aggregates if a.availability_zone in zones)


def _isolates(agg: Aggregate, project_id: str) -> bool:
    for key, raw in agg.metadata.items():
        if key.startswith("filter_tenant_id") and project_id in {v.strip() for v in raw.split(",")}:
            return True
    return False


def tenant(spec: RequestSpec, aggregates: Sequence[Aggregate], cfg: SchedulerConfig) -> list[str]:
    """The aggregates reserved for the project (metadata `filter_tenant_id*`)."""
    if not cfg.limit_tenants_to_placement_aggregate:
        return []
    uuids = sorted(a.uuid for a in aggregates if _isolates(a, spec.project_id))
    if not uuids and cfg.placement_aggregate_required_for_tenants:
        raise NoValidHost(f"{SHORT} Project {spec.project_id} is in no host aggregate.")
    return uuids
