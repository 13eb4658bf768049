"""Nova's version documents (GET / and GET /v2.1, GET /v2)."""

from __future__ import annotations

from typing import Any

from novamesh.gateway.api.microversion import MAX_VERSION, MIN_VERSION

_DESCRIBED_BY = {"href": "http://docs.openstack.org/", "rel": "describedby", "type": "text/html"}

_VERSIONS: dict[str, dict[str, Any]] = {
    "v2.0": {
        "id": "v2.0",
        "path": "v2",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": "2025-07-04T12:00:00Z",
        "media_version": "2",
    },
    "v2.1": {
        "id": "v2.1",
        "path": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "media_version": "2.1",
    },
}


def _summary(info: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        "id": info["id"],
        "links": [{"href": f"{base_url}/{info['path']}/", "rel": "self"}],
        "status": info["status"],
        "version": info["version"],
        "min_version": info["min_version"],
        "updated": info["updated"],
    }


def versions(base_url: str) -> dict[str, Any]:
    return {"versions": [_summary(info, base_url) for info in _VERSIONS.values()]}


def version(version_id: str, base_url: str) -> dict[str, Any]:
    info = _VERSIONS[version_id]
    doc = _summary(info, base_url)
    doc["links"].append(dict(_DESCRIBED_BY))
    doc["media-types"] = [
        {
            "base": "application/json",
            "type": f"application/vnd.openstack.compute+json;version={info['media_version']}",
        }
    ]
    return {"version": doc}
