"""IsolatedHostsFilter: isolated images run on isolated hosts only; with
`restrict_isolated_hosts_to_isolated_images` (the default) isolated hosts run nothing else."""

from __future__ import annotations

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class IsolatedHostsFilter(Filter):
    name = "IsolatedHostsFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(self.cfg.isolated_images or self.cfg.isolated_hosts)

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        image_isolated = bool(spec.image.id) and spec.image.id in self.cfg.isolated_images
        host_isolated = host.host in self.cfg.isolated_hosts
        if self.cfg.restrict_isolated_hosts_to_isolated_images:
            ok = image_isolated == host_isolated
        else:
            ok = not image_isolated or host_isolated
        if ok:
            return None
        if host_isolated:
            return "isolated host, image is not isolated"
        return "image is isolated, host is not"
