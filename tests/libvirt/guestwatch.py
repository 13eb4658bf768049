"""Watching a real guest from outside: its serial log markers and its domain in libvirt."""

from __future__ import annotations

import asyncio
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path

import libvirt

BOOT = "NOVAMESH-BOOT"
HEARTBEAT = re.compile(
    r"NOVAMESH-HB uptime=(?P<uptime>[\d.]+) disks=(?P<disks>\S*) nics=(?P<nics>\S*) "
    r"cpus=(?P<cpus>\d+) memkB=(?P<mem>\d+)"
)


async def wait_until(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float, what: str
) -> float:
    """Poll `check` until it holds; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


class SerialLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        return self.path.read_text(errors="replace") if self.path.exists() else ""

    def boots(self) -> int:
        return self.text().count(BOOT)

    def heartbeats(self) -> list[dict[str, str]]:
        return [m.groupdict() for m in HEARTBEAT.finditer(self.text())]

    def last_heartbeat(self) -> dict[str, str] | None:
        beats = self.heartbeats()
        return beats[-1] if beats else None

    async def wait_boots(self, n: int, within: float = 60.0) -> float:
        return await wait_until(lambda: self.boots() >= n, within, f"boot #{n} on {self.path}")

    async def wait_heartbeat(
        self, match: Callable[[dict[str, str]], bool], within: float = 30.0, what: str = ""
    ) -> dict[str, str]:
        """The first heartbeat written from now on that satisfies `match`."""
        seen = len(self.heartbeats())
        found: list[dict[str, str]] = []

        def check() -> bool:
            for beat in self.heartbeats()[seen:]:
                if match(beat):
                    found.append(beat)
                    return True
            return False

        await wait_until(check, within, what or "a matching heartbeat")
        return found[0]


def domain_state(conn: libvirt.virConnect, uuid: str) -> int:
    return int(conn.lookupByUUIDString(uuid).state()[0])


def domain_devices(conn: libvirt.virConnect, uuid: str, tag: str) -> list[ET.Element]:
    root = ET.fromstring(conn.lookupByUUIDString(uuid).XMLDesc(0))
    return root.findall(f"./devices/{tag}")
