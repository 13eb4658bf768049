"""Host filters: each decides, for one host and one request, pass or not (with the reason)."""

from __future__ import annotations

from typing import ClassVar

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


class Filter:
    """One narrow check. `check` returns None when the host passes, else why it does not."""

    name: ClassVar[str]
    # Checks that cannot change between the instances of one request run for the first only.
    run_once_per_request: ClassVar[bool] = False

    def __init__(self, cfg: SchedulerConfig) -> None:
        self.cfg = cfg

    def relevant(self, spec: RequestSpec) -> bool:
        """False when the request asks nothing of this filter (it is then skipped entirely)."""
        return True

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        raise NotImplementedError
