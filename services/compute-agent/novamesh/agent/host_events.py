"""What other services tell Nova about a guest (os-server-external-events) acted on at the host,
and the start-up clean-up of guests that were evacuated away while this agent was down.

power-update follows Nova's handling of Ironic's power sync, for any driver: the guest's power
is made to match the event (a guest already there is left alone) and the instance settles
ACTIVE or STOPPED under the instance-action event compute_power_update. volume-extended grows
the attached disk through the driver. DestroyEvacuated removes a guest whose instance now
lives on another host, and reports nothing about the instance: its state is the new host's.
ForgetEvacuated, sent while the old host's agent still runs (its service forced down), only
stops counting the guest there; the guest stays until the agent starts again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from novamesh.agent import states
from novamesh.agent.commands import Sink, StateUpdate
from novamesh.agent.host_event_commands import (
    DestroyEvacuated,
    ExtendVolume,
    ForgetEvacuated,
    HostEventCommand,
    PowerUpdate,
)
from novamesh.agent.resources import ResourceTracker
from novamesh.agent.states import PowerState, TaskState, VmState
from novamesh.agent.virt import driver as drv
from novamesh.agent.virt.model import DriverError, NotSupported

LOG = logging.getLogger(__name__)

POWER_UPDATE_EVENT = "compute_power_update"
EXTEND_VOLUME_EVENT = "compute_extend_volume"

LockFactory = Callable[[str], AbstractAsyncContextManager[None]]


class HostEventRunner:
    def __init__(
        self, driver: drv.Driver, tracker: ResourceTracker, sink: Sink, lock: LockFactory
    ) -> None:
        self._driver = driver
        self._tracker = tracker
        self._sink = sink
        self._lock = lock

    @staticmethod
    def span_name(command: HostEventCommand) -> str:
        return f"agent.{type(command).__name__.lower()}"

    async def run(self, host: str, command: HostEventCommand) -> DriverError | None:
        try:
            async with self._lock(command.uuid):
                match command:
                    case PowerUpdate():
                        await self._power_update(host, command)
                    case ExtendVolume():
                        await self._extend_volume(host, command)
                    case DestroyEvacuated():
                        await self._destroy_evacuated(host, command)
                    case ForgetEvacuated():
                        self._forget_evacuated(host, command)
        except DriverError as exc:
            return exc
        return None

    async def _power_update(self, host: str, c: PowerUpdate) -> None:
        target = PowerState.RUNNING if c.power_on else PowerState.SHUTDOWN
        vm_state = VmState.ACTIVE if c.power_on else VmState.STOPPED
        task = TaskState.POWERING_ON if c.power_on else TaskState.POWERING_OFF
        before = (await self._driver.get_info(host, c.uuid)).power_state
        self._sink.instance_update(
            StateUpdate(c.uuid, host, states.vm_state_for(before), task, before)
        )
        try:
            if before != target:
                if c.power_on:
                    await self._driver.power_on(host, c.uuid)
                else:
                    await self._driver.power_off(host, c.uuid)
            after = (await self._driver.get_info(host, c.uuid)).power_state
        except DriverError as exc:
            self._settle(host, c.uuid, states.vm_state_for(before), before, POWER_UPDATE_EVENT, exc)
            raise
        self._settle(host, c.uuid, vm_state, after, POWER_UPDATE_EVENT)

    async def _extend_volume(self, host: str, c: ExtendVolume) -> None:
        d = self._driver
        if not drv.supports(d, "operation.extend-volume") or not isinstance(
            d, drv.VolumeExtendable
        ):
            raise NotSupported(f"the {d.name} driver does not support operation.extend-volume")
        await d.extend_volume(host, c.uuid, c.volume_id, c.size_gb)
        LOG.info("volume %s of %s grown to %d GiB", c.volume_id, c.uuid, c.size_gb)

    async def _destroy_evacuated(self, host: str, c: DestroyEvacuated) -> None:
        LOG.info(
            "destroying %s: it was evacuated away from %s (migration %s)",
            c.uuid,
            host,
            c.migration_uuid,
        )
        if not await self._lives_elsewhere(host, c.uuid):
            await self._driver.destroy(host, c.uuid)
        if self._tracker.disown(host, c.uuid):
            self._sink.host_resources(self._tracker.report(host))

    async def _lives_elsewhere(self, host: str, uuid: str) -> bool:
        """Whether the guest runs on another host of this agent: evacuated between two hosts
        of one (fake) agent, it is the same guest, now the new host's."""
        for other in self._driver.list_hosts():
            if other != host and any(
                g.uuid == uuid for g in await self._driver.list_instances(other)
            ):
                return True
        return False

    def _forget_evacuated(self, host: str, c: ForgetEvacuated) -> None:
        # As Nova's resource tracker: usage is what the instances assigned to this host hold,
        # so the guest stops counting now; it is destroyed only at the agent's next start.
        if self._tracker.disown(host, c.uuid):
            LOG.info(
                "%s no longer counts %s: it was evacuated away (migration %s)",
                host,
                c.uuid,
                c.migration_uuid,
            )
            self._sink.host_resources(self._tracker.report(host))

    def _settle(
        self,
        host: str,
        uuid: str,
        vm_state: str,
        power: PowerState,
        event: str,
        error: DriverError | None = None,
    ) -> None:
        self._sink.instance_update(
            StateUpdate(
                uuid=uuid,
                host=host,
                vm_state=vm_state,
                task_state=TaskState.NONE,
                power_state=power,
                event=event,
                event_result=states.ERROR if error else states.SUCCESS,
                fault_message=str(error) if error else "",
            )
        )
