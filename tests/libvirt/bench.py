"""Timings of real TCG guests through the whole mesh (`make bench-libvirt`).

Starts a private libvirtd and a mesh whose agent runs the libvirt driver, uploads the tiny guest
image, and measures with the wall clock: POST /servers until ACTIVE, until the guest's first
serial console line, soft and hard reboot (API call until the guest printed its next boot
marker), suspend and resume (until SUSPENDED / ACTIVE), stop and start, createImage until the
snapshot image is active.
Writes JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.helpers import client, wait_for_gone
from tests.libvirt import test_mesh
from tests.libvirt.guestwatch import SerialLog
from tests.support.libvirtd import Libvirtd
from tests.support.mesh import Mesh, start_mesh

ROOT = Path(__file__).resolve().parents[2]
GUEST = ROOT / ".novamesh" / "guest-image"


def _action(mesh: Mesh, server_id: str, body: dict[str, Any], *statuses: str) -> float:
    start = time.monotonic()
    test_mesh.action(mesh, server_id, body)
    with client(mesh) as c:
        test_mesh.wait_status(c, server_id, *statuses)
    return time.monotonic() - start


async def _boot_marker_after(log: SerialLog, boots: int, start: float) -> float:
    await log.wait_boots(boots + 1, within=120)
    return time.monotonic() - start


async def run(rounds: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(round(seconds, 3))

    with tempfile.TemporaryDirectory(prefix="bench-libvirt-") as tmp:
        daemon = Libvirtd(Path(tmp) / "libvirtd", ROOT / ".novamesh" / "libvirt-cache")
        daemon.start()
        mesh: Mesh | None = None
        try:
            mesh = start_mesh(
                Path(tmp) / "mesh",
                agent={"driver": "libvirt", "host_count": 1},
                extra={
                    "libvirt": {
                        "connection_uri": daemon.uri(),
                        "host": "bench-host",
                        "network_bridge": f"nm{uuidlib.uuid4().hex[:8]}",
                    }
                },
            )
            kernel = test_mesh.upload_image(mesh, GUEST / "vmlinuz", "aki", "aki")
            ramdisk = test_mesh.upload_image(mesh, GUEST / "initrd.gz", "ari", "ari")
            image = test_mesh.upload_image(
                mesh, GUEST / "disk.qcow2", "qcow2", "bare", kernel_id=kernel, ramdisk_id=ramdisk
            )
            for _ in range(rounds):
                await _one_round(mesh, image, record)
        finally:
            if mesh is not None:
                mesh.stop()
            daemon.stop()
    summary = {
        name: {
            "samples": values,
            "p50_s": round(statistics.median(values), 3),
            "max_s": max(values),
        }
        for name, values in results.items()
    }
    return {
        "what": "real QEMU/TCG guests through Envoy, gateway, router, scheduler and agent",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "rounds": rounds,
        "timings": summary,
    }


async def _one_round(mesh: Mesh, image: str, record: Any) -> None:
    with client(mesh) as c:
        start = time.monotonic()
        resp = c.post(
            "/v2.1/servers",
            json={"server": {"name": "bench", "imageRef": image, "flavorRef": "42"}},
        )
        server_id = resp.json()["server"]["id"]
        test_mesh.wait_status(c, server_id, "ACTIVE")
        record("post_to_active", time.monotonic() - start)
    log = test_mesh.serial_log(mesh, server_id)
    await log.wait_boots(1, within=120)
    record("post_to_first_console_line", time.monotonic() - start)
    await log.wait_heartbeat(lambda b: True, within=60, what="the guest ready")
    for kind in ("SOFT", "HARD"):
        boots = log.boots()
        start = time.monotonic()
        test_mesh.action(mesh, server_id, {"reboot": {"type": kind}})
        record(f"reboot_{kind.lower()}_to_boot_marker", await _boot_marker_after(log, boots, start))
        await log.wait_heartbeat(lambda b: True, within=60, what="the guest ready")
    record("suspend", _action(mesh, server_id, {"suspend": None}, "SUSPENDED"))
    record("resume", _action(mesh, server_id, {"resume": None}, "ACTIVE"))
    record("stop", _action(mesh, server_id, {"os-stop": None}, "SHUTOFF"))
    record("start", _action(mesh, server_id, {"os-start": None}, "ACTIVE"))
    record("snapshot_to_active_image", await _snapshot(mesh, server_id))
    with client(mesh) as c:
        start = time.monotonic()
        c.delete(f"/v2.1/servers/{server_id}")
        wait_for_gone(c, server_id)
        record("delete", time.monotonic() - start)


async def _snapshot(mesh: Mesh, server_id: str) -> float:
    """createImage until the image is active (the guest's disk flattened and uploaded)."""
    start = time.monotonic()
    with client(mesh, "2.45") as c:
        resp = c.post(f"/v2.1/servers/{server_id}/action", json={"createImage": {"name": "b"}})
    image_id = resp.json()["image_id"]
    async with httpx.AsyncClient(headers=test_mesh.TOKEN, timeout=30) as h:
        while time.monotonic() - start < 120:
            image = (await h.get(f"{mesh.image_url}/v2/images/{image_id}")).json()
            if image["status"] == "active":
                return time.monotonic() - start
            await asyncio.sleep(0.05)
    raise RuntimeError(f"snapshot {image_id} did not become active")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=".novamesh/bench/libvirt.json")
    args = parser.parse_args()
    report = asyncio.run(run(args.rounds))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["timings"], indent=2))


if __name__ == "__main__":
    main()
