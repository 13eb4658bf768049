"""GET /: the version document."""

from novamesh.placement import http


async def home(req: http.Request) -> http.Response:
    lo, hi = http.MIN_VERSION, http.MAX_VERSION
    doc = {
        "versions": [
            {
                "id": f"v{lo[0]}.{lo[1]}",
                "max_version": f"{hi[0]}.{hi[1]}",
                "min_version": f"{lo[0]}.{lo[1]}",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }
    return http.ok(doc, req.version)
