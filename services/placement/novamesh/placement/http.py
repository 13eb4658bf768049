"""What a REST handler sees and returns: no gRPC here, no SQL.

`Request` carries the method, path variables, parsed query, headers, raw body and the
negotiated microversion; `Response` a status, a JSON-able body and headers. Errors are raised
as `errors.PlacementError`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from novamesh.placement import errors, policy
from novamesh.placement.objects.store import Store

# Oldest and newest supported microversions. Highlights: 1.10 allocation candidates,
# 1.12 dict-shaped allocations, 1.14 nested providers, 1.15 last-modified, 1.20 POST returns
# the provider, 1.23 error codes, 1.25 granular groups, 1.28 consumer generations,
# 1.29 nested candidates, 1.30 reshaper, 1.33 verbose suffixes, 1.34 mappings,
# 1.35 root_required, 1.36 same_subtree, 1.37 reparenting, 1.38 consumer types, 1.39 in: traits.
MIN_VERSION = (1, 0)
MAX_VERSION = (1, 39)

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (1, minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def negotiate(header: str | None) -> Version:
    """The microversion asked for in `OpenStack-API-Version` (default 1.0)."""
    wanted = None
    for part in (header or "").split(","):
        bits = part.strip().split()
        if len(bits) == 2 and bits[0].lower() == "placement":
            wanted = bits[1]
    if wanted is None:
        return Version(*MIN_VERSION)
    if wanted == "latest":
        return Version(*MAX_VERSION)
    m = _VERSION_RE.match(wanted)
    if not m:
        raise errors.invalid(f"invalid version string: {wanted}")
    v = Version(int(m.group(1)), int(m.group(2)))
    if not (Version(*MIN_VERSION) <= v <= Version(*MAX_VERSION)):
        raise errors.PlacementError(
            errors.Kind.NOT_ACCEPTABLE, f"Unacceptable version header: {wanted}"
        )
    return v


@dataclass
class Request:
    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    content_type: str
    version: Version
    store: Store
    # None: no token at all (a 401 on any route with a policy).
    credentials: policy.Credentials | None = None

    def qs(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def qs_all(self, name: str) -> list[str]:
        return self.query.get(name, [])


@dataclass
class Response:
    status: int = 200
    # JSON-able data, or JSON already encoded (bytes).
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    last_modified: dt.datetime | None = None


def http_date(stamp: dt.datetime) -> str:
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(stamp.astimezone(dt.UTC), usegmt=True)


def ok(body: Any, version: Version, last_modified: dt.datetime | None = None) -> Response:
    """A 200 with cache headers from 1.15 (last-modified is now when nothing better is known)."""
    resp = Response(200, body)
    if version.at_least(15):
        resp.last_modified = last_modified or dt.datetime.now(dt.UTC)
    return resp


def no_content() -> Response:
    return Response(204)


_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("uuid")
def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def require_json(req: Request) -> None:
    ct = req.content_type.split(";")[0].strip().lower()
    if ct != "application/json":
        shown = ct or "None"
        raise errors.PlacementError(
            errors.Kind.UNSUPPORTED_MEDIA_TYPE,
            f"The media type {shown} is not supported, use application/json",
        )


def extract_json(req: Request, schema: Mapping[str, Any]) -> Any:
    """Parse and validate a JSON body the way upstream reports problems."""
    require_json(req)
    try:
        data = json.loads(req.body.decode("utf-8") if req.body else "")
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.invalid(f"Malformed JSON: {exc}") from exc
    validate(schema, data)
    return data


def validate(schema: Mapping[str, Any], data: Any) -> None:
    """A 400 with jsonschema's account of the problem, as upstream words it."""
    try:
        jsonschema.validate(data, schema, format_checker=_FORMATS)
    except jsonschema.ValidationError as exc:
        raise errors.invalid(f"JSON does not validate: {exc}") from exc


def validate_query(req: Request, schema: Mapping[str, Any]) -> None:
    flat = {k: v[-1] for k, v in req.query.items()}
    try:
        jsonschema.validate(flat, schema, format_checker=_FORMATS)
    except jsonschema.ValidationError as exc:
        raise errors.invalid(f"Invalid query string parameters: {exc}") from exc


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True
