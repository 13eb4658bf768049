"""What the edge answers by itself, without a backend: Envoy's own errors rendered in each
listener's fault format (`local_reply_config`), and Keystone version discovery.
"""

from __future__ import annotations

import json
from typing import Any, Literal

FaultFormat = Literal["nova", "placement", "glance"]

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
NOVA_FAULTS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def _body(fmt: FaultFormat, status: int) -> dict[str, Any]:
    reason = REASONS.get(status, "Error")
    if fmt == "placement":
        return {
            "errors": [
                {
                    "status": "%RESPONSE_CODE%",
                    "title": reason,
                    "detail": "%LOCAL_REPLY_BODY%",
                    "code": "placement.undefined_code",
                    "request_id": "req-%REQ(X-REQUEST-ID)%",
                }
            ]
        }
    if fmt == "glance":
        return {"message": "%LOCAL_REPLY_BODY%", "code": f"{status} {reason}", "title": reason}
    name = NOVA_FAULTS.get(status, "computeFault")
    return {name: {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"}}


def _status_filter(op: str, status: int) -> dict[str, Any]:
    comparison = {"op": op, "value": {"default_value": status, "runtime_key": f"lr_{status}"}}
    return {"status_code_filter": {"comparison": comparison}}


def local_reply_config(fmt: FaultFormat) -> dict[str, Any]:
    request_id = [
        {"header": {"key": "x-openstack-request-id", "value": "req-%REQ(X-REQUEST-ID)%"}},
    ]
    if fmt == "nova":
        request_id.append(
            {"header": {"key": "x-compute-request-id", "value": "req-%REQ(X-REQUEST-ID)%"}}
        )
    mappers = [
        {
            "filter": _status_filter("EQ", status),
            "headers_to_add": request_id,
            "body_format_override": {"json_format": _body(fmt, status)},
        }
        for status in sorted(REASONS)
    ]
    # Anything else Envoy itself answers with (>= 400) still gets a fault body.
    mappers.append(
        {
            "filter": _status_filter("GE", 400),
            "headers_to_add": request_id,
            "body_format_override": {"json_format": _body(fmt, 500)},
        }
    )
    return {"mappers": mappers}


def identity_routes(base_url: str) -> list[dict[str, Any]]:
    """Routes answering Keystone v3 version discovery under `<base_url>/identity`, no more.

    The openstack CLI builds an identity client even with `auth_type: none`; this is all of
    identity until novamesh supports Keystone. The transcoder is skipped on these routes, or it
    would reject the paths as unknown methods before the router could answer.
    """
    v3 = {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": base_url.rstrip("/") + "/identity/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }
    # local_reply_config wraps this in the listener's fault body.
    not_there = "novamesh has no identity service yet (noauth): only version discovery."
    skip_transcoder = {
        "envoy.filters.http.grpc_json_transcoder": {
            "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
            "disabled": True,
        }
    }

    def answer(match: dict[str, str], status: int, body: object) -> dict[str, Any]:
        text = body if isinstance(body, str) else json.dumps(body)
        return {
            "match": match,
            "direct_response": {"status": status, "body": {"inline_string": text}},
            "response_headers_to_add": [
                {"header": {"key": "content-type", "value": "application/json"}}
            ],
            "typed_per_filter_config": skip_transcoder,
        }

    return [
        answer({"path": "/identity"}, 300, {"versions": {"values": [v3]}}),
        answer({"path": "/identity/"}, 300, {"versions": {"values": [v3]}}),
        answer({"path": "/identity/v3"}, 200, {"version": v3}),
        answer({"path": "/identity/v3/"}, 200, {"version": v3}),
        answer({"prefix": "/identity/"}, 501, not_there),
    ]
