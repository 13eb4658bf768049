"""make bench-placement: GET /allocation_candidates at upstream's perf-job scale, through Envoy.

Two shapes, each in a fresh placement (SQLite):
- flat: 1,000 providers as upstream's placeload tool makes them (VCPU 32, MEMORY_MB 8192 and
  DISK_GB 8192 each; members of one, two or three of three aggregates in turn; traits added
  here in turn from a short list, because the job's query requires HW_CPU_X86_AVX2);
- nested: 1,000 trees of 7 providers as upstream's nested-perfload gabbit makes them (compute
  node with DISK_GB, two NUMA nodes with VCPU and MEMORY_MB, FPGAs and a VGPU below).

Providers are loaded through the typed gRPC PlacementTreeService, a few hundred per call
(loading speed; the REST face shares the same domain code). Then each shape's query from
upstream's perfload runners is timed through Envoy's REST face: two single requests, 20 single
requests that must be computed (not memoised), then 500 at concurrency 10 (repeats of one
query, as upstream's job runs them). Writes p50/p95 to .novamesh/bench/placement.json.

    python -m tests.bench.placement [--flat N] [--trees N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
from novamesh.placement.v1 import placement_pb2 as pb
from novamesh.placement.v1 import provider_tree_pb2 as tree_pb
from novamesh.placement.v1 import provider_tree_pb2_grpc as tree_grpc

from tests.placement import harness

REPO = Path(__file__).resolve().parents[2]
HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement latest"}

# From upstream's gate/perfload-runner.sh and gate/perfload-nested-runner.sh.
AGGREGATE = "14a5c8a3-5a99-4e8f-88be-00d85fcb1c17"
FLAT_QUERY = (
    f"resources=VCPU:1,DISK_GB:10,MEMORY_MB:256&member_of={AGGREGATE}&required=HW_CPU_X86_AVX2"
)
NESTED_QUERY = (
    "resources=DISK_GB:10&required=COMPUTE_VOLUME_MULTI_ATTACH"
    "&resources_COMPUTE=VCPU:1,MEMORY_MB:256&required_COMPUTE=CUSTOM_FOO"
    "&resources_FPGA=FPGA:1&group_policy=none&same_subtree=_COMPUTE,_FPGA"
)

AGGREGATES = [
    AGGREGATE,
    "66d98e7c-3c25-485d-a0dc-1cea651884de",
    "a59dbb28-fd98-4c6e-9ec5-ae5f3d04b0aa",
]
TRAIT_CHUNKS = [["HW_CPU_X86_AVX2"], ["HW_CPU_X86_AVX2", "STORAGE_DISK_SSD"], ["HW_CPU_X86_SSE"]]


def inv(total: int, **kw: Any) -> pb.Inventory:
    return pb.Inventory(
        total=total,
        reserved=kw.get("reserved", 0),
        min_unit=kw.get("min_unit", 1),
        max_unit=kw.get("max_unit", total),
        step_size=kw.get("step_size", 1),
        allocation_ratio=kw.get("allocation_ratio", 1.0),
    )


FLAT_INVENTORY = {
    "MEMORY_MB": inv(8192, min_unit=128),
    "DISK_GB": inv(8192, min_unit=5),
    "VCPU": inv(32, max_unit=16),
}


def state(
    name: str,
    inventories: dict[str, pb.Inventory],
    traits: list[str] | None = None,
    aggregates: list[str] | None = None,
    parent: str = "",
) -> tree_pb.ProviderState:
    rp = str(uuid.uuid4())
    return tree_pb.ProviderState(
        uuid=rp,
        name=f"{name}-{rp}",
        parent_provider_uuid=parent,
        inventories=inventories,
        traits=traits or [],
        aggregates=aggregates or [],
    )


def tree() -> list[tree_pb.ProviderState]:
    """One tree of upstream's nested-perfload gabbit."""
    cn = state("cn", {"DISK_GB": inv(20480)}, traits=["COMPUTE_VOLUME_MULTI_ATTACH"])
    numa0 = state(
        "numa0",
        {"VCPU": inv(4, reserved=2), "MEMORY_MB": inv(2048, min_unit=512, step_size=256)},
        traits=["HW_NUMA_ROOT"],
        parent=cn.uuid,
    )
    numa1 = state(
        "numa1",
        {"VCPU": inv(4), "MEMORY_MB": inv(2048, min_unit=256, max_unit=1024)},
        traits=["HW_NUMA_ROOT", "CUSTOM_FOO"],
        parent=cn.uuid,
    )
    return [
        cn,
        numa0,
        state("fpga0-0", {"FPGA": inv(1)}, parent=numa0.uuid),
        state("pgpu0-0", {"VGPU": inv(8)}, parent=numa0.uuid),
        numa1,
        state("fpga1-0", {"FPGA": inv(1)}, parent=numa1.uuid),
        state("fpga1-1", {"FPGA": inv(1)}, parent=numa1.uuid),
    ]


async def load(ports: harness.Ports, shape: str, count: int) -> float:
    """Load `count` providers (flat) or trees (nested), 350 or so providers per call."""
    if shape == "flat":
        aggs = itertools.cycle([AGGREGATES[:1], AGGREGATES[:2], AGGREGATES[:3]])
        traits = itertools.cycle(TRAIT_CHUNKS)
        states = [state("rp", FLAT_INVENTORY, next(traits), next(aggs)) for _ in range(count)]
    else:
        states = [s for _ in range(count) for s in tree()]
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{ports.grpc}") as channel:
        stub: tree_grpc.PlacementTreeServiceAsyncStub = tree_grpc.PlacementTreeServiceStub(channel)  # type: ignore[assignment]
        for i in range(0, len(states), 350):
            await stub.PutProviders(tree_pb.PutProvidersRequest(providers=states[i : i + 350]))
    return time.perf_counter() - started


class Conn:
    """A bare HTTP/1.1 keep-alive connection, as `ab` uses: the client must not be what is
    measured, and httpx spends longer reading a 2.5 MB body than placement takes to make it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        self.writer.write((head + "\r\n").encode())
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        if "content-length" in headers:
            return status, await self.reader.readexactly(int(headers["content-length"]))
        chunks: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, b"".join(chunks)
            chunks.append(chunk[:-2])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def timed(conn: Conn, query: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    status, body = await conn.get(f"/allocation_candidates?{query}")
    elapsed = (time.perf_counter() - t0) * 1000
    if status != 200:
        raise RuntimeError(f"GET /allocation_candidates: {status} {body[:500]!r}")
    return elapsed, body


async def measure(ports: harness.Ports, query: str, requests: int) -> dict[str, Any]:
    conns = [Conn(ports.http) for _ in range(10)]
    try:
        first, body = await timed(conns[0], query)
        found = len(json.loads(body)["allocation_requests"])
        second, _ = await timed(conns[0], query)
        # A repeated query is answered from the snapshot's memo; a limit above the number of
        # candidates changes nothing in the answer but the memo key, so these are computed.
        computed = [(await timed(conns[0], f"{query}&limit={100000 + i}"))[0] for i in range(20)]
        latencies: list[float] = []
        queue = iter(range(requests))

        async def worker(conn: Conn) -> None:
            for _ in queue:
                ms, _body = await timed(conn, query)
                latencies.append(ms)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        wall = time.perf_counter() - t0
    finally:
        for c in conns:
            c.close()
    q = statistics.quantiles(latencies, n=100)
    return {
        "candidates": found,
        "response_bytes": len(body),
        "first_ms": round(first, 1),
        "second_ms": round(second, 1),
        "computed_p50_ms": round(statistics.median(computed), 1),
        "requests": requests,
        "concurrency": 10,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(q[94], 1),
        "requests_per_s": round(requests / wall, 1),
    }


def run_shape(shape: str, count: int, requests: int, work: Path) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(dir=work))
    with harness.edge(state) as ports, harness.placement(ports.grpc, state):
        load_s = asyncio.run(load(ports, shape, count))
        providers = count if shape == "flat" else count * 7
        print(f"{shape}: loaded {providers} providers in {load_s:.1f}s", flush=True)
        result = asyncio.run(
            measure(ports, FLAT_QUERY if shape == "flat" else NESTED_QUERY, requests)
        )
    result.update(providers=providers, load_s=round(load_s, 1))
    result["query"] = FLAT_QUERY if shape == "flat" else NESTED_QUERY
    print(f"{shape}: {json.dumps(result)}", flush=True)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flat", type=int, default=1000)
    parser.add_argument("--trees", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--out", type=Path, default=REPO / ".novamesh" / "bench" / "placement.json")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-placement-"))
    report = {
        "flat": run_shape("flat", args.flat, args.requests, work),
        "nested": run_shape("nested", args.trees, args.requests, work),
        "target": "p50 < 50 ms at 7,000 providers",
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
