"""Pieces every Nova view uses: links, timestamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import timestamp_pb2
from novamesh.gateway.api.microversion import APIVersion


@dataclass(frozen=True)
class ViewContext:
    """What a view depends on besides the record: the version, who asks, where links point."""

    version: APIVersion
    base_url: str
    is_admin: bool = False
    project_id: str = ""
    # Compute host -> Nova's host_status (UP, DOWN, MAINTENANCE, UNKNOWN), when the view shows
    # it (admins from 2.16); None: not looked up.
    host_statuses: Mapping[str, str] | None = None

    def v(self, version: str) -> bool:
        return self.version.at_least(version)


def links(ctx: ViewContext, collection: str, item_id: str) -> list[dict[str, str]]:
    return [
        {"href": f"{ctx.base_url}/v2.1/{collection}/{item_id}", "rel": "self"},
        {"href": f"{ctx.base_url}/{collection}/{item_id}", "rel": "bookmark"},
    ]


def bookmark(ctx: ViewContext, collection: str, item_id: str) -> list[dict[str, str]]:
    return [{"href": f"{ctx.base_url}/{collection}/{item_id}", "rel": "bookmark"}]


def to_datetime(ts: timestamp_pb2.Timestamp | None) -> dt.datetime | None:
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime()


def isotime(value: dt.datetime | None) -> str | None:
    """Nova's isotime: second precision, UTC, `Z`."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def strtime(value: dt.datetime | None) -> str | None:
    """What Nova prints for OS-SRV-USG times: ISO 8601 with microseconds and no zone."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def next_link(
    ctx: ViewContext, path: str, query: dict[str, list[str]], marker: str
) -> list[dict[str, Any]]:
    """A `*_links` next entry: the same query with the marker of the last item.

    As Nova builds it: the parameters sorted by name (one value each, the last), the marker
    in its sorted place when the request had one, else last."""
    from urllib.parse import urlencode

    params = {k: values[-1] for k, values in sorted(query.items()) if values}
    params["marker"] = marker
    return [{"href": f"{ctx.base_url}/v2.1/{path}?{urlencode(params)}", "rel": "next"}]
