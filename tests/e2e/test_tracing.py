"""One boot is one trace: spans from the gateway down to the agent and back, as one tree."""

from __future__ import annotations

import collections
import json
import time
from typing import Any

import pytest

from tests.e2e.helpers import client, flavor_and_image, wait_for_gone, wait_for_status
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e


def load_spans(mesh: Mesh) -> list[dict[str, Any]]:
    spans = []
    for path in mesh.trace_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                spans.append(json.loads(line))
    return spans


def boot_trace(mesh: Mesh, request_id: str) -> list[dict[str, Any]]:
    """The spans of the trace whose gateway span handled `request_id` (exporters flush ~0.2 s)."""
    deadline = time.monotonic() + 10
    while True:
        spans = load_spans(mesh)
        roots = [s for s in spans if s["attributes"].get("request_id") == request_id]
        if roots:
            trace_id = roots[0]["trace_id"]
            tree = [s for s in spans if s["trace_id"] == trace_id]
            services = {s["service"] for s in tree}
            if {"agent", "router"} <= services or time.monotonic() > deadline:
                return tree
        if time.monotonic() > deadline:
            raise AssertionError(f"no span carries request id {request_id}")
        time.sleep(0.2)


def test_boot_is_one_trace_across_every_service(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    with client(mesh) as c:
        resp = c.post(
            "/v2.1/servers",
            json={"server": {"name": "traced", "imageRef": image, "flavorRef": flavor}},
        )
        assert resp.status_code == 202
        server_id = resp.json()["server"]["id"]
        wait_for_status(c, server_id, "ACTIVE")
        time.sleep(0.5)  # the agent's last report and the batch exporters
        tree = boot_trace(mesh, resp.headers["x-openstack-request-id"])
        c.delete(f"/v2.1/servers/{server_id}")
        wait_for_gone(c, server_id)

    by_id = {s["span_id"]: s for s in tree}
    roots = [s for s in tree if s["parent_id"] not in by_id]
    assert len(roots) == 1, [r["name"] for r in roots]
    assert roots[0]["service"] == "api" and roots[0]["name"].endswith("CreateServer")

    children = collections.defaultdict(list)
    for span in tree:
        children[span["parent_id"]].append(span)

    def path_to(pred: Any) -> list[str]:
        """Service names from the root down to the first span matching pred."""

        def walk(span: dict[str, Any], trail: list[str]) -> list[str] | None:
            trail = [*trail, span["service"]]
            if pred(span):
                return trail
            for child in children[span["span_id"]]:
                found = walk(child, trail)
                if found:
                    return found
            return None

        return walk(roots[0], []) or []

    # Down: gateway -> router -> scheduler -> placement (the claim).
    claim = path_to(lambda s: s["service"] == "placement" and "Claim" in s["name"])
    assert claim[:1] == ["api"] and "router" in claim and "scheduler" in claim, claim
    # Down to the agent's spawn, and back: the router handles the agent's reports in the trace.
    spawn = path_to(lambda s: s["service"] == "agent" and "spawn" in s["name"])
    assert spawn[:1] == ["api"] and "router" in spawn, spawn
    back = path_to(
        lambda s: (
            s["service"] == "router"
            and s["parent_id"] in {x["span_id"] for x in tree if x["service"] == "agent"}
        )
    )
    assert back and back[-2:] == ["agent", "router"], back
    assert {"api", "router", "scheduler", "placement", "agent"} <= {s["service"] for s in tree}
