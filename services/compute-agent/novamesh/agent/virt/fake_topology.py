"""The fake driver's simulated host topology: NUMA cells and PCI device pools from its settings
(`[agent] numa_nodes`, `pci_devices`), the same on every simulated host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novamesh.agent.host_topology import HostTopology, simulate

if TYPE_CHECKING:
    from novamesh.agent.virt.fake import FakeSettings


class FakeTopology:
    """Mixed into FakeDriver: offers the optional `host_topology` capability."""

    _settings: FakeSettings

    def host_topology(self, host: str) -> HostTopology:
        s = self._settings
        return simulate(s.vcpus, s.memory_mb, s.numa_nodes, list(s.pci_devices))
