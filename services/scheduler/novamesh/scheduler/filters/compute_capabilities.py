"""ComputeCapabilitiesFilter: the host's capabilities satisfy the flavor's extra specs.

Keys scoped `capabilities:` (e.g. `capabilities:cpu_info:features`) name a host attribute path;
unscoped keys count only when the host has such an attribute; other scopes are ignored.
"""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.ops import HOST_ALIASES, lookup, match
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec

_SCRATCH = "capabilities"


def _requirements(spec: RequestSpec) -> list[tuple[list[str], str]]:
    cached: list[tuple[list[str], str]] | None = spec.scratch.get(_SCRATCH)
    if cached is not None:
        return cached
    reqs = []
    for key, value in spec.flavor.extra_specs.items():
        scope = key.split(":")
        if len(scope) == 1:
            if key not in HostState.__slots__ and key not in HOST_ALIASES:  # type: ignore[attr-defined]
                continue
        elif scope[0] != "capabilities":
            continue
        else:
            scope = scope[1:]
        reqs.append((scope, value))
    spec.scratch[_SCRATCH] = reqs
    return reqs


class ComputeCapabilitiesFilter(Filter):
    name = "ComputeCapabilitiesFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(_requirements(spec))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        for path, requirement in _requirements(spec):
            if not match(lookup(host, path), requirement):
                return f"capability {':'.join(path)} does not satisfy {requirement!r}"
        return None
