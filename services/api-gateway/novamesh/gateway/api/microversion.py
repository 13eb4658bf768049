"""Microversion negotiation, as Nova does it.

`OpenStack-API-Version: compute X` wins over the legacy `X-OpenStack-Nova-API-Version: X`; no
header means 2.1; `latest` means the maximum. A malformed version is a 400, one outside the
supported range a 406.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from novamesh.gateway.api.errors import BadRequest, NotAcceptable

_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")

STANDARD_HEADER = "openstack-api-version"
LEGACY_HEADER = "x-openstack-nova-api-version"
VARY = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


@dataclass(frozen=True, order=True)
class APIVersion:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, version: str) -> bool:
        return self >= _parsed(version)

    def at_most(self, version: str) -> bool:
        return self <= _parsed(version)


def parse(text: str) -> APIVersion:
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise BadRequest(
            f"API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
        )
    return APIVersion(int(match.group(1)), int(match.group(2)))


# Views ask "at least 2.x?" for many fields of every server of a 1,000-server page: the
# versions they name are a few constants, parsed once.
@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> APIVersion:
    return parse(text)


MIN_VERSION = APIVersion(2, 1)
# The last microversion of the Nova release this API follows.
MAX_VERSION = APIVersion(2, 104)
DEFAULT_VERSION = MIN_VERSION


def requested(headers: Mapping[str, str]) -> str | None:
    """The compute version string the caller asked for, or None."""
    standard = headers.get(STANDARD_HEADER)
    if standard:
        for item in standard.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "compute":
                return parts[1].strip()
    legacy = headers.get(LEGACY_HEADER)
    if legacy:
        return legacy.strip()
    return None


def negotiate(headers: Mapping[str, str]) -> APIVersion:
    text = requested(headers)
    if text is None:
        return DEFAULT_VERSION
    if text.lower() == "latest":
        return MAX_VERSION
    version = parse(text)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise NotAcceptable(
            f"Version {version} is not supported by the API. Minimum is {MIN_VERSION} and "
            f"maximum is {MAX_VERSION}."
        )
    return version


def response_headers(version: APIVersion) -> list[tuple[str, str]]:
    return [
        (STANDARD_HEADER, f"compute {version}"),
        (LEGACY_HEADER, str(version)),
        ("vary", VARY),
    ]
