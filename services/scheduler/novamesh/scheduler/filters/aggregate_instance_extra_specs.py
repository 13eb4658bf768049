"""AggregateInstanceExtraSpecsFilter: the host's aggregate metadata satisfies the flavor's
unscoped (or `aggregate_instance_extra_specs:`-scoped) extra specs, with the operator grammar
of ComputeCapabilitiesFilter. Any one value of a comma list in the metadata will do."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import metadata_sets
from novamesh.scheduler.filters.ops import match
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec

_SCOPE = "aggregate_instance_extra_specs"
_SCRATCH = "aggregate_extra_specs"


def _requirements(spec: RequestSpec) -> list[tuple[str, str]]:
    cached: list[tuple[str, str]] | None = spec.scratch.get(_SCRATCH)
    if cached is None:
        cached = []
        for key, value in spec.flavor.extra_specs.items():
            scope, sep, rest = key.partition(":")
            if not sep:
                cached.append((key, value))
            elif scope == _SCOPE:
                cached.append((rest, value))
        spec.scratch[_SCRATCH] = cached
    return cached


class AggregateInstanceExtraSpecsFilter(Filter):
    name = "AggregateInstanceExtraSpecsFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(_requirements(spec))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        metadata = metadata_sets(host)
        for key, requirement in _requirements(spec):
            values = metadata.get(key)
            if not values:
                return f"no aggregate of the host sets {key}"
            if not any(match(v, requirement) for v in values):
                return (
                    f"aggregate {key}={','.join(sorted(values))} does not satisfy {requirement!r}"
                )
        return None
