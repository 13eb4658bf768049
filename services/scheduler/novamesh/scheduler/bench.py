"""Scheduler benchmark: simulated hosts, mixed-flavor requests, default filters and weighers.

    python -m novamesh.scheduler.bench --hosts 1000 10000 --requests 1000 --out FILE

Each request schedules one instance through the whole pipeline (placement query translation,
candidates from an in-memory placement, filters, weighers, claim, alternates), one after the
other on one core. Writes decisions/s and p50/p99 latency per host count as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler.fakes import FakePlacement, simulated_cloud
from novamesh.scheduler.host_state import HostStateStore
from novamesh.scheduler.pipeline import Scheduler
from novamesh.scheduler.spec import Flavor, ImageMeta, InstanceGroup, RequestSpec

FLAVORS = [
    Flavor("1", "m1.tiny", 1, 512, 1),
    Flavor("2", "m1.small", 1, 2048, 20),
    Flavor("3", "m1.medium", 2, 4096, 40),
    Flavor("4", "m1.large", 4, 8192, 80),
    Flavor("5", "m1.xlarge", 8, 16384, 160, extra_specs={"capabilities:cpu_info:arch": "x86_64"}),
]


def request(rng: random.Random, index: int) -> RequestSpec:
    spec = RequestSpec(project_id="bench", user_id="bench", flavor=rng.choice(FLAVORS))
    kind = index % 10
    if kind == 1:
        spec.availability_zone = "az1"
    elif kind == 2:
        spec.image = ImageMeta(id="img", properties={"hw_architecture": "x86_64"})
    elif kind == 3:
        # Small anti-affinity groups: every tenth request joins one of 50 groups.
        spec.instance_group = InstanceGroup(uuid=f"group-{index % 50}", policy="anti-affinity")
    return spec


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(hosts: int, requests: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    store = HostStateStore()
    placement = FakePlacement(rng=random.Random(seed))
    simulated_cloud(hosts, store, placement)
    for i, state in enumerate(store):
        state.availability_zone = "az1" if i % 2 else "nova"
    cfg = SchedulerConfig()
    scheduler = Scheduler(cfg, store, placement, rng=random.Random(seed))
    specs = [request(rng, i) for i in range(requests)]
    # Long-lived host states need not be traversed by every garbage collection (the service
    # does the same once the host-state snapshot is loaded).
    gc.collect()
    gc.freeze()
    latencies: list[float] = []
    placement_time = 0.0
    started = time.perf_counter()
    for spec in specs:
        t0 = time.perf_counter()
        await scheduler.select_destinations(spec, [str(uuid.uuid4())], return_alternates=True)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    # How much of that the in-memory placement itself took (not the scheduler's work).
    probe = specs[: min(200, len(specs))]
    from novamesh.scheduler import resources

    t0 = time.perf_counter()
    for spec in probe:
        await placement.candidates(resources.build(spec, cfg.max_placement_results))
    placement_time = (time.perf_counter() - t0) / len(probe)
    gc.unfreeze()
    return {
        "hosts": hosts,
        "requests": requests,
        "decisions_per_second": round(requests / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
        "fake_placement_candidates_ms": round(placement_time * 1000, 3),
        "candidates_per_request": cfg.max_placement_results,
        "claims": placement.claims,
        "claims_refused": placement.refused,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="novamesh-scheduler-bench")
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    cfg = SchedulerConfig()
    results = [asyncio.run(run(n, args.requests, args.seed)) for n in args.hosts]
    report = {
        "benchmark": "scheduler",
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "filters": cfg.enabled_filters,
        "weighers": cfg.weighers,
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
