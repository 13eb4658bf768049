"""What the router asks of the agent, and what the agent tells back, as plain types."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol

from novamesh.agent.action_commands import ActionCommand
from novamesh.agent.device_commands import DeviceCommand
from novamesh.agent.host_event_commands import HostEventCommand
from novamesh.agent.ledger import Outcome
from novamesh.agent.resources import HostReport
from novamesh.agent.states import PowerState
from novamesh.agent.virt.model import InstanceSpec, NetworkInterface


@dataclass(frozen=True)
class Build:
    instance: InstanceSpec


@dataclass(frozen=True)
class Terminate:
    uuid: str


class PowerKind(enum.Enum):
    START = "start"
    STOP = "stop"
    REBOOT_SOFT = "reboot"
    REBOOT_HARD = "reboot-hard"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    SUSPEND = "suspend"
    RESUME = "resume"


@dataclass(frozen=True)
class Power:
    uuid: str
    kind: PowerKind


Command = Build | Terminate | Power | ActionCommand | DeviceCommand | HostEventCommand


@dataclass(frozen=True)
class StateUpdate:
    """One vm_state/task_state/power_state transition of an instance."""

    uuid: str
    host: str
    vm_state: str
    task_state: str
    power_state: PowerState
    launched_at: dt.datetime | None = None
    event: str = ""
    event_result: str = ""
    fault_message: str = ""
    interfaces: tuple[NetworkInterface, ...] = ()


class Sink(Protocol):
    """Where the manager's news goes (the router channel). Called in the span of the work."""

    def instance_update(self, update: StateUpdate) -> None: ...

    def host_resources(self, report: HostReport) -> None: ...

    def command_result(self, outcome: Outcome) -> None: ...
