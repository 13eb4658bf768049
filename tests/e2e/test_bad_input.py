"""Bad input gets Nova's fault and changes nothing anywhere (API, cell and placement databases)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import client, flavor_and_image
from tests.support.dbsnapshot import snapshot
from tests.support.mesh import Mesh

pytestmark = pytest.mark.e2e

MISSING = "00000000-0000-0000-0000-0000000000aa"


def cases(flavor: str, image: str) -> list[tuple[str, Any, int, str]]:
    """(what, body, status, fault name)"""
    good = {"name": "bad-input", "imageRef": image, "flavorRef": flavor}
    return [
        ("malformed JSON", b'{"server": {"name": ', 400, "badRequest"),
        (
            "missing name",
            {"server": {k: v for k, v in good.items() if k != "name"}},
            400,
            "badRequest",
        ),
        ("unknown field", {"server": {**good, "bogus": 1}}, 400, "badRequest"),
        ("unknown flavor", {"server": {**good, "flavorRef": "no-such-flavor"}}, 400, "badRequest"),
        ("unknown image", {"server": {**good, "imageRef": MISSING}}, 400, "badRequest"),
        ("no server key", {"name": "x"}, 400, "badRequest"),
    ]


def test_bad_boot_requests_change_nothing(mesh: Mesh) -> None:
    flavor, image = flavor_and_image(mesh)
    before = snapshot(mesh)
    with client(mesh) as c:
        for what, body, status, fault in cases(flavor, image):
            if isinstance(body, bytes):
                resp = c.post(
                    "/v2.1/servers", content=body, headers={"Content-Type": "application/json"}
                )
            else:
                resp = c.post("/v2.1/servers", json=body)
            assert resp.status_code == status, (what, resp.text)
            payload = resp.json()
            assert list(payload) == [fault], (what, payload)
            assert payload[fault]["code"] == status
            assert payload[fault]["message"], what
    assert snapshot(mesh) == before
