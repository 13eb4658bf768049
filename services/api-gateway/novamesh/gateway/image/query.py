"""`GET /v2/images` query strings, validated and turned into a `ListQuery` as Glance does.

Recognised: limit, marker, sort (`name:asc,size`), sort_key/sort_dir (repeatable), name, id,
status, container_format, disk_format (each also as `in:a,b`), visibility, owner, member_status,
tag (repeatable), checksum, os_hash_value, os_hidden, protected, size_min/size_max,
created_at/updated_at (`gte:2024-01-01T00:00:00Z`). Anything else filters on an extra property.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from novamesh.gateway.image.domain import BadRequest
from novamesh.gateway.image.repo import ListQuery

SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
IN_FILTERS = ("name", "id", "status", "container_format", "disk_format")
EXACT_FILTERS = ("owner", "checksum", "os_hash_value")
TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")


@dataclass
class ListParams:
    query: ListQuery
    marker: str | None
    limit: int
    # The parameters as given, minus the marker: the basis of the `first` and `next` links.
    echo: list[tuple[str, str]]


def params_from_path(original_path: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(original_path).query, keep_blank_values=True)


def _pop_all(params: list[tuple[str, str]], key: str) -> list[str]:
    values = [v for k, v in params if k == key]
    params[:] = [(k, v) for k, v in params if k != key]
    return values


def _last(params: list[tuple[str, str]], key: str) -> str | None:
    values = _pop_all(params, key)
    return values[-1] if values else None


def _bool(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise BadRequest(
            f"Invalid value '{value}' for '{name}' filter. Valid values are 'true' or 'false'."
        )
    return value.lower() == "true"


def _split_in(value: str) -> list[str]:
    # `in:"a,b",c` — quotes protect commas inside a value.
    out, cur, quoted = [], "", False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _sorting(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    keys: list[str] = []
    dirs: list[str] = []
    new = _pop_all(params, "sort")
    old_keys = _pop_all(params, "sort_key")
    old_dirs = _pop_all(params, "sort_dir")
    if new and (old_keys or old_dirs):
        raise BadRequest("Old and new sorting syntax cannot be combined")
    if new:
        for item in new[-1].strip().split(","):
            key, _, direction = item.partition(":")
            keys.append(key.strip())
            dirs.append(direction.strip() or "desc")
    else:
        keys = [k.strip() for k in old_keys]
        dirs = [d.strip() for d in old_dirs]
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise BadRequest("Number of sort dirs does not match the number of sort keys")
    for key in keys:
        if key not in SORT_KEYS:
            raise BadRequest(
                f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_KEYS)}."
            )
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}")
    if not keys:
        keys = ["created_at"]
    default = dirs[0] if len(dirs) == 1 else "desc"
    if len(dirs) <= 1:
        dirs = [default] * len(keys)
    sort = list(zip(keys, dirs, strict=True))
    for key in ("created_at", "id"):
        if key not in keys:
            sort.append((key, default))
    return sort


def _time(name: str, value: str) -> tuple[str, dt.datetime]:
    op, sep, stamp = value.partition(":")
    if not sep or op not in TIME_OPS:
        op, stamp = "eq", value
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(
            f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.'
        ) from exc
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return op, when


def parse(original_path: str, default_limit: int, max_limit: int) -> ListParams:
    params = params_from_path(original_path)
    echo = [(k, v) for k, v in params if k != "marker"]
    marker = _last(params, "marker")
    raw_limit = _last(params, "limit")
    limit = default_limit
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError as exc:
            raise BadRequest("limit param must be an integer") from exc
        if limit < 0:
            raise BadRequest("limit param must be positive")
    limit = min(limit, max_limit)

    member_status = _last(params, "member_status") or "accepted"
    if member_status not in ("pending", "accepted", "rejected", "all"):
        raise BadRequest(f"Invalid status: {member_status}")
    visibility = _last(params, "visibility")
    if visibility is not None and visibility not in (
        "community",
        "public",
        "private",
        "shared",
        "all",
    ):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    if _pop_all(params, "changes-since"):
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    tags = [t.strip() for t in _pop_all(params, "tag")]
    sort = _sorting(params)

    columns: dict[str, object | list[object]] = {}
    comparisons: list[tuple[str, str, object]] = []
    hidden = _last(params, "os_hidden")
    columns["os_hidden"] = _bool("os_hidden", hidden) if hidden is not None else False
    protected = _last(params, "protected")
    if protected is not None:
        columns["protected"] = _bool("protected", protected)
    for name in IN_FILTERS:
        value = _last(params, name)
        if value is None:
            continue
        op, sep, rest = value.partition(":")
        if sep and op == "in":
            columns[name] = list(_split_in(rest))
        elif sep and op == "eq":
            columns[name] = rest
        else:
            columns[name] = value
    for name in EXACT_FILTERS:
        value = _last(params, name)
        if value is not None:
            columns[name] = value
    for name, op in (("size_min", "gte"), ("size_max", "lte")):
        value = _last(params, name)
        if value is not None:
            try:
                comparisons.append(("size", op, int(value)))
            except ValueError as exc:
                raise BadRequest("Unable to filter on a range with a non-numeric value.") from exc
    for name in ("created_at", "updated_at"):
        value = _last(params, name)
        if value is not None:
            op, when = _time(name, value)
            comparisons.append((name, op, when))
    properties = dict(params)
    return ListParams(
        query=ListQuery(
            columns=columns,
            comparisons=comparisons,
            visibility=visibility,
            member_status=member_status,
            tags=tags,
            properties=properties,
            sort=sort,
        ),
        marker=marker,
        limit=limit,
        echo=echo,
    )
