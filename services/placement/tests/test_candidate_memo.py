"""Memoised allocation-candidate answers: a repeat is the same bytes; a write is never hidden."""

from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qsl

from novamesh.placement import http
from novamesh.placement.handlers import allocation_candidate
from novamesh.placement.objects import allocations, provider_trees
from novamesh.placement.objects.inventories import InventorySpec
from novamesh.placement.objects.store import Store

QUERY = "resources=VCPU:2"


def request(store: Store, query: str) -> http.Request:
    parsed: dict[str, list[str]] = {}
    for k, v in parse_qsl(query):
        parsed.setdefault(k, []).append(v)
    return http.Request(
        method="GET",
        params={},
        query=parsed,
        headers={},
        body=b"",
        content_type="",
        version=http.Version(1, 39),
        store=store,
    )


async def answer(store: Store, query: str = QUERY) -> bytes:
    body = (await allocation_candidate.list_candidates(request(store, query))).body
    assert isinstance(body, bytes)
    return body


async def test_repeat_is_memoised_and_a_write_is_seen(store: Store) -> None:
    rp = str(uuid.uuid4())
    await provider_trees.put(
        store, [provider_trees.ProviderState(rp, "cn1", inventories={"VCPU": InventorySpec(2)})]
    )
    first = await answer(store)
    assert len(json.loads(first)["allocation_requests"]) == 1
    assert await answer(store) is first
    await allocations.replace(
        store,
        [allocations.ConsumerWrite(str(uuid.uuid4()), {rp: {"VCPU": 2}}, "p", "u", None)],
    )
    assert json.loads(await answer(store))["allocation_requests"] == []


async def test_memo_is_bounded(store: Store) -> None:
    rp = str(uuid.uuid4())
    await provider_trees.put(
        store, [provider_trees.ProviderState(rp, "cn1", inventories={"VCPU": InventorySpec(8)})]
    )
    for limit in range(1, allocation_candidate._MEMO_SIZE + 10):
        await answer(store, f"{QUERY}&limit={limit}")
    memo = (await store.view()).memo
    assert len(memo["answers"]) == allocation_candidate._MEMO_SIZE
    assert memo["bytes"] == sum(len(memo[k]) for k in memo["answers"])
