"""`GET /v2/images`: visibility, filters, sorting and pagination as Glance answers them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

Env = Any


async def names(env: Env, query: str = "", token: str = "alice:p1") -> list[str]:
    resp = await env.rest.call("ListImages", path=f"/v2/images{query}", token=token)
    assert resp.status == 200, resp
    return [i["name"] for i in resp.json()["images"]]


async def test_each_project_sees_what_glance_shows_it(env: Env) -> None:
    await env.rest.create(name="mine", visibility="private")
    await env.rest.create(name="mine-shared")
    await env.rest.create(name="pub", token="admin:ops", visibility="public")
    await env.rest.create(name="theirs", token="bob:p2", visibility="private")
    await env.rest.create(name="comm", token="bob:p2", visibility="community")
    await env.rest.create(name="hidden", os_hidden=True)
    assert sorted(await names(env)) == ["mine", "mine-shared", "pub"]
    assert sorted(await names(env, token="bob:p2")) == ["comm", "pub", "theirs"]
    assert await names(env, "?visibility=community") == ["comm"]
    assert sorted(await names(env, "?os_hidden=true")) == ["hidden"]
    assert sorted(await names(env, token="admin:ops")) == [
        "mine",
        "mine-shared",
        "pub",
        "theirs",
    ]
    assert sorted(await names(env, "?visibility=all", token="admin:ops")) == [
        "comm",
        "mine",
        "mine-shared",
        "pub",
        "theirs",
    ]


async def test_filters(env: Env) -> None:
    a = await env.rest.create(name="a", disk_format="qcow2", tags=["x", "y"], arch="x86_64")
    await env.rest.create(name="b", disk_format="raw", tags=["x"], arch="aarch64")
    await env.rest.create(name="c", disk_format="raw", visibility="private")
    await env.rest.upload(a["id"], [b"12345"])
    assert await names(env, "?name=a") == ["a"]
    assert sorted(await names(env, "?name=in:a,c")) == ["a", "c"]
    assert sorted(await names(env, "?disk_format=raw")) == ["b", "c"]
    assert await names(env, "?status=active") == ["a"]
    assert sorted(await names(env, "?tag=x")) == ["a", "b"]
    assert await names(env, "?tag=x&tag=y") == ["a"]
    assert await names(env, "?arch=aarch64") == ["b"]
    assert await names(env, "?visibility=private") == ["c"]
    assert sorted(await names(env, "?owner=p1")) == ["a", "b", "c"]
    assert await names(env, "?size_min=5") == ["a"]
    assert await names(env, "?size_max=4") == []


async def test_sorting_and_pagination_with_next_links(env: Env) -> None:
    for name in ("d", "b", "e", "a", "c"):
        await env.rest.create(name=name)
    assert await names(env, "?sort_key=name&sort_dir=asc") == ["a", "b", "c", "d", "e"]
    assert await names(env, "?sort=name:desc") == ["e", "d", "c", "b", "a"]
    assert await names(env) == ["c", "a", "e", "b", "d"]  # newest first

    seen: list[str] = []
    url = "/v2/images?sort_key=name&sort_dir=asc&limit=2"
    pages = 0
    while url:
        resp = (await env.rest.call("ListImages", path=url)).json()
        seen += [i["name"] for i in resp["images"]]
        assert resp["first"] == "/v2/images?sort_key=name&sort_dir=asc&limit=2"
        assert resp["schema"] == "/v2/schemas/images"
        url = resp.get("next", "")
        if url:
            assert parse_qs(urlsplit(url).query)["limit"] == ["2"]
        pages += 1
    assert seen == ["a", "b", "c", "d", "e"] and pages == 3


async def test_bad_list_parameters_are_400(env: Env) -> None:
    for query in (
        "?limit=x",
        "?limit=-1",
        "?sort_key=owner",
        "?sort_dir=up",
        "?visibility=everyone",
        "?member_status=maybe",
        "?os_hidden=maybe",
        "?marker=00000000-0000-4000-8000-000000000000",
        "?sort=name&sort_key=name",
        "?changes-since=2020-01-01",
        "?created_at=gte:yesterday",
    ):
        resp = await env.rest.call("ListImages", path=f"/v2/images{query}")
        assert resp.status == 400, query


async def test_created_at_filter(env: Env) -> None:
    await env.rest.create(name="old")
    assert await names(env, "?created_at=gte:2000-01-01T00:00:00Z") == ["old"]
    assert await names(env, "?created_at=lt:2000-01-01T00:00:00Z") == []
