"""Next links of paged collections carry the query as Nova renders it."""

from __future__ import annotations

from novamesh.gateway.api.microversion import APIVersion
from novamesh.gateway.views.common import ViewContext, next_link

CTX = ViewContext(APIVersion(2, 35), "http://cloud:8774")


def test_parameters_sorted_and_the_marker_appended() -> None:
    (link,) = next_link(CTX, "os-keypairs", {"user_id": ["u2"], "limit": ["1"]}, "k1")
    assert link == {
        "href": "http://cloud:8774/v2.1/os-keypairs?limit=1&user_id=u2&marker=k1",
        "rel": "next",
    }


def test_a_requested_marker_keeps_its_sorted_place() -> None:
    query = {"user_id": ["u2"], "marker": ["k1"], "limit": ["1"]}
    (link,) = next_link(CTX, "os-keypairs", query, "k2")
    assert link["href"].endswith("/os-keypairs?limit=1&marker=k2&user_id=u2")
