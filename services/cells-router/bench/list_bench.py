"""List benchmark: three cells x N instances behind the router; p50/p95 of a 1000-server page
and the time of a full walk with markers. Writes JSON; asserts nothing.

    make bench-list        (or: list_bench.py --per-cell N --out FILE)

It measures the router (ListInstances over gRPC on loopback), not the gateway or Envoy.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

from novamesh.cells.db.models import Instance, InstanceExtra, InstanceInfoCache, InstanceMetadata
from novamesh.cells.testing import Mesh, start_mesh
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb.models import CellMapping, InstanceMapping
from novamesh.common.db import create_sync_engine
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

CELLS = ("cell1", "cell2", "cell3")


def seed(mesh: Mesh, state: Path, per_cell: int) -> None:
    base = dt.datetime(2026, 1, 1)
    api = create_sync_engine(mesh.cfg.expand(mesh.cfg.database.api_url))
    with Session(api) as s, s.begin():
        ids = {c.name: c.id for c in s.scalars(select(CellMapping))}
        mappings: list[dict[str, Any]] = []
        for n, cell in enumerate(CELLS):
            rows, extras, caches, metadata = [], [], [], []
            for i in range(per_cell):
                uuid = str(uuidlib.uuid4())
                rows.append(
                    {
                        "uuid": uuid,
                        "display_name": f"vm-{cell}-{i}",
                        "project_id": "bench",
                        "user_id": "bench",
                        "vm_state": "active",
                        "power_state": 1,
                        "host": f"{cell}-host-{i % 10}",
                        "node": f"{cell}-host-{i % 10}",
                        "created_at": base + dt.timedelta(seconds=i * len(CELLS) + n),
                        "updated_at": base,
                    }
                )
                extras.append(
                    {
                        "instance_uuid": uuid,
                        "flavor": {"id": "1", "name": "m1.tiny", "vcpus": 1, "memory_mb": 512},
                        "image": {"id": "image"},
                        "requested_networks": [],
                    }
                )
                caches.append(
                    {
                        "instance_uuid": uuid,
                        "network_info": [{"network": "private", "address": "10.0.0.5"}],
                    }
                )
                metadata.append({"instance_uuid": uuid, "key": "role", "value": "bench"})
                mappings.append(
                    {"instance_uuid": uuid, "cell_id": ids[cell], "project_id": "bench"}
                )
            engine = create_sync_engine(f"sqlite:///{state}/{cell}.db")
            with Session(engine) as cs, cs.begin():
                cs.execute(insert(Instance), rows)
                cs.execute(insert(InstanceExtra), extras)
                cs.execute(insert(InstanceInfoCache), caches)
                cs.execute(insert(InstanceMetadata), metadata)
            engine.dispose()
        s.execute(insert(InstanceMapping), mappings)
    api.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def run(per_cell: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        mesh = await start_mesh(state, CELLS)
        try:
            seed(mesh, state, per_cell)
            page_ms = []
            for _ in range(rounds):
                started = time.perf_counter()
                page = await mesh.router.ListInstances(router_pb2.ListInstancesRequest(limit=1000))
                page_ms.append((time.perf_counter() - started) * 1000)
            assert len(page.instances) == min(1000, per_cell * len(CELLS))
            started = time.perf_counter()
            marker, seen = "", 0
            while True:
                page = await mesh.router.ListInstances(
                    router_pb2.ListInstancesRequest(limit=1000, marker=marker)
                )
                seen += len(page.instances)
                if len(page.instances) < 1000:
                    break
                marker = page.instances[-1].uuid
            walk_s = time.perf_counter() - started
        finally:
            await mesh.close()
    return {
        "cells": len(CELLS),
        "instances_per_cell": per_cell,
        "page_size": 1000,
        "page_ms_p50": round(statistics.median(page_ms), 1),
        "page_ms_p95": round(pct(page_ms, 0.95), 1),
        "walk_instances": seen,
        "walk_seconds": round(walk_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-cell", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", default=".novamesh/bench/list.json")
    args = parser.parse_args()
    result = asyncio.run(run(args.per_cell, args.rounds))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
