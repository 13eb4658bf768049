"""One agent process assembled: driver, resource tracker, command ledger, router channel and
placement reporter, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
from pathlib import Path

from novamesh.agent import identity
from novamesh.agent.channel import RouterChannel
from novamesh.agent.ledger import CommandLedger
from novamesh.agent.manager import ComputeManager
from novamesh.agent.placement_client import PlacementReporter
from novamesh.agent.resources import Overcommit, ResourceTracker
from novamesh.agent.virt import registry
from novamesh.common.config import Config

LOG = logging.getLogger(__name__)


def version() -> str:
    try:
        return importlib.metadata.version("novamesh")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


class Agent:
    def __init__(self, cfg: Config) -> None:
        state_root = Path(cfg.state_dir).resolve() / "agent"
        self.driver = registry.load(cfg.agent, state_root, cfg)
        self.agent_id = identity.agent_id(self.driver.list_hosts())
        self.version = version()
        state_dir = state_root / self.agent_id
        state_dir.mkdir(parents=True, exist_ok=True)
        ac = cfg.agent
        self.tracker = ResourceTracker(
            self.driver,
            Overcommit(
                cpu_allocation_ratio=ac.cpu_allocation_ratio,
                ram_allocation_ratio=ac.ram_allocation_ratio,
                disk_allocation_ratio=ac.disk_allocation_ratio,
                reserved_host_memory_mb=ac.reserved_host_memory_mb,
            ),
            ac.availability_zone,
            # The aliases PciPassthroughFilter schedules by name the devices guests hold.
            pci_aliases=cfg.scheduler.pci_alias,
            # Guests found running at start hold their NUMA cells and PCI devices again.
            claims_path=state_dir / "claims.json",
        )
        self.ledger = CommandLedger(state_dir / "commands.jsonl")
        self.channel = RouterChannel(
            cfg.endpoints.router,
            self.agent_id,
            self.driver.name,
            self.version,
            ac.heartbeat_interval,
            cell=cfg.cells.cell,
        )
        self.manager = ComputeManager(self.driver, self.tracker, self.ledger, self.channel)
        self.placement = PlacementReporter(cfg.endpoints.placement, self.manager.host_reports)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.manager.start()
        LOG.info(
            "agent started",
            extra={
                "fields": {
                    "agent_id": self.agent_id,
                    "driver": self.driver.name,
                    "hosts": list(self.driver.list_hosts()),
                }
            },
        )
        self._tasks = [
            asyncio.create_task(self.channel.run(self.manager), name="router-channel"),
            asyncio.create_task(self.placement.run(), name="placement-reporter"),
        ]

    async def stop(self) -> None:
        await self.channel.stop()
        # The channel closes itself once its last messages are out; cut it off only if the
        # router does not answer the close.
        await asyncio.wait(self._tasks[:1], timeout=2.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.driver.cleanup()
