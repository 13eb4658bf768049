"""AggregateImagePropertiesIsolation: where a host's aggregate sets metadata named like an image
property, an image that has that property must have one of the listed values. With
`aggregate_image_properties_isolation_namespace` only keys `<namespace><separator>...` count."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.aggregate_utils import metadata_sets
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class AggregateImagePropertiesIsolation(Filter):
    name = "AggregateImagePropertiesIsolation"
    run_once_per_request = True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        if not host.aggregates:
            return None
        ns = self.cfg.aggregate_image_properties_isolation_namespace
        prefix = ns + self.cfg.aggregate_image_properties_isolation_separator if ns else ""
        props = spec.image.properties
        for key, options in metadata_sets(host).items():
            if prefix and not key.startswith(prefix):
                continue
            value = props.get(key)
            if value and str(value) not in options:
                return f"aggregate allows {key} in {','.join(sorted(options))}, image has {value}"
        return None
