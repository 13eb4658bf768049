"""CrossCellWeigher: a move prefers hosts in the instance's current cell (moving across cells
is much more expensive), without forbidding the others."""

from __future__ import annotations

from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec
from novamesh.scheduler.weighers import Weigher


class CrossCellWeigher(Weigher):
    name = "CrossCellWeigher"
    option = "cross_cell_move_weight_multiplier"

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(spec.source_cell_uuid)

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return 0.0 if host.cell_uuid == spec.source_cell_uuid else -1.0
