"""Just enough HTTP/1.1 for a console proxy: read one request head, write one response.

Envoy (or a browser, when the proxy is reached directly) sends a GET: either a websocket
upgrade or a request for one of noVNC's static files. Anything more is refused.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

MAX_HEAD = 16 * 1024


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    def query(self, name: str) -> str | None:
        values = parse_qs(urlsplit(self.target).query).get(name)
        return values[0] if values else None

    def header_tokens(self, name: str) -> list[str]:
        """A comma-separated header's tokens, lower-cased (Connection, Sec-WebSocket-Protocol)."""
        raw = self.headers.get(name, "")
        return [t.strip().lower() for t in raw.split(",") if t.strip()]

    @property
    def is_websocket(self) -> bool:
        return self.headers.get(
            "upgrade", ""
        ).lower() == "websocket" and "upgrade" in self.header_tokens("connection")


async def read_request(reader: asyncio.StreamReader) -> Request:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as err:
        raise BadRequest("request head too large") from err
    if len(head) > MAX_HEAD:
        raise BadRequest("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"not an HTTP/1.x request line: {lines[0][:80]!r}")
    return Request(parts[0], parts[1], parse_headers(lines[1:]))


def parse_headers(lines: list[str]) -> dict[str, str]:
    """Header lines to a dict of lower-case names."""
    headers: dict[str, str] = {}
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"malformed header line {line[:80]!r}")
        key = name.strip().lower()
        # Repeated headers combine as a list would (RFC 9110 5.3).
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return headers


def response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def simple_response(
    status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
) -> bytes:
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    return response_head(status, headers) + body
