"""Boot benchmark: N servers through Envoy's REST front, K in flight, until all are ACTIVE.

    python -m tests.bench.boot --count 1000 --concurrency 16 --out .novamesh/bench/boot.json

Measures boots per second (first POST to last ACTIVE), POST /servers latency percentiles and
`GET /servers/detail?limit=1000` latency with all N servers there (one page of up to 1,000),
then deletes what it booted. By default it starts a mesh of its own (the `make run` launcher on
free ports, a state directory of its own, enough simulated hosts and no quota limits for N
servers) and stops it after; `--url` measures a running mesh instead (`make run`, whose four
simulated hosts hold about 250 m1.tiny servers). Nothing here is asserted: the figures go to a
JSON file. The database round trips of that page are counted by test_list_round_trips.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.support import mesh as mesh_support

# Servers per simulated host the bench plans for: the scheduler's NumInstancesFilter allows
# 50 (max_instances_per_host) and a host's 32 GB hold 63 m1.tiny; room to spare, so that no
# boot fails for want of a host (the fault messages of any that do are in the JSON).
SERVERS_PER_HOST = 40


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def pct(p: float) -> float:
        idx = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return round(ordered[idx] * 1000, 2)

    return {
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "n": len(ordered),
    }


async def pick(client: httpx.AsyncClient, image_url: str) -> tuple[str, str]:
    flavors = (await client.get("/v2.1/flavors")).json()["flavors"]
    flavor = min(flavors, key=lambda f: f["id"])["id"]
    async with httpx.AsyncClient(base_url=image_url) as images:
        listing = (await images.get("/v2/images")).json()["images"]
    active = [i for i in listing if i.get("status") == "active"]
    if not active:
        raise SystemExit("no active image: run `make run` first (it seeds one)")
    return flavor, active[0]["id"]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.concurrency + 4)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=60) as client:
        flavor, image = await pick(client, args.image_url)
        post_latencies: list[float] = []
        ids: list[str] = []
        sem = asyncio.Semaphore(args.concurrency)
        errors = 0

        async def boot(i: int) -> None:
            nonlocal errors
            body = {"server": {"name": f"bench-{i}", "imageRef": image, "flavorRef": flavor}}
            async with sem:
                t0 = time.perf_counter()
                resp = await client.post("/v2.1/servers", json=body)
                post_latencies.append(time.perf_counter() - t0)
            if resp.status_code != 202:
                errors += 1
                return
            ids.append(resp.json()["server"]["id"])

        start = time.perf_counter()
        await asyncio.gather(*(boot(i) for i in range(args.count)))
        pending = set(ids)
        failed = 0
        faults: Counter[str] = Counter()
        deadline = time.monotonic() + args.timeout
        while pending and time.monotonic() < deadline:
            resp = await client.get("/v2.1/servers/detail", params={"limit": 1000})
            for server in resp.json()["servers"]:
                if server["id"] in pending and server["status"] in ("ACTIVE", "ERROR"):
                    pending.discard(server["id"])
                    if server["status"] == "ERROR":
                        failed += 1
                        faults[(server.get("fault") or {}).get("message", "")] += 1
            if pending:
                await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start

        detail_latencies: list[float] = []
        for _ in range(args.detail_samples):
            t0 = time.perf_counter()
            resp = await client.get("/v2.1/servers/detail", params={"limit": 1000})
            detail_latencies.append(time.perf_counter() - t0)
        listed = len(resp.json()["servers"])

        async def delete(server_id: str) -> None:
            async with sem:
                await client.delete(f"/v2.1/servers/{server_id}")

        await asyncio.gather(*(delete(s) for s in ids))

    active = len(ids) - len(pending) - failed
    return {
        "servers": args.count,
        "concurrency": args.concurrency,
        "accepted": len(ids),
        "post_errors": errors,
        "active": active,
        "error_state": failed,
        "error_faults": dict(faults.most_common(5)),
        "not_active_in_time": len(pending),
        "seconds_until_all_active": round(elapsed, 3),
        "boots_per_second": round(active / elapsed, 2) if elapsed else 0.0,
        "post_servers": percentiles(post_latencies),
        "get_servers_detail": {
            **percentiles(detail_latencies),
            "limit": 1000,
            "servers_listed": listed,
        },
    }


def own_mesh_run(args: argparse.Namespace) -> dict[str, Any]:
    hosts = max(4, math.ceil(args.count / SERVERS_PER_HOST))
    state = Path(tempfile.mkdtemp(prefix="novamesh-bench-"))
    mesh = mesh_support.start_mesh(
        state / "mesh",
        agent={"host_count": hosts},
        extra={"quota": {"instances": -1, "cores": -1, "ram": -1}},
    )
    try:
        args.url, args.image_url = mesh.compute_url, mesh.image_url
        result = asyncio.run(run(args)) if args.url else own_mesh_run(args)
        result["simulated_hosts"] = hosts
        return result
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running mesh's compute URL (else a mesh of its own)")
    parser.add_argument("--image-url", default="http://127.0.0.1:9292")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--detail-samples", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(".novamesh/bench/boot.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args)) if args.url else own_mesh_run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
