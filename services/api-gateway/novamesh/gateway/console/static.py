"""noVNC's HTML and JavaScript, from the distribution's `novnc` package when it is installed.

The proxy works without it (any noVNC, or another websocket client, can use the token); the
page then answers 404 saying what is missing rather than a bare not-found.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

PREFIX = "/console/novnc/"


@dataclass(frozen=True)
class StaticReply:
    status: int
    body: bytes
    content_type: str


def _not_found(message: str) -> StaticReply:
    return StaticReply(404, message.encode() + b"\n", "text/plain; charset=utf-8")


def _relative(path: str) -> str | None:
    """The file below the noVNC root the path names; None for anything that could leave it."""
    parts = [p for p in _within(path).split("/") if p]
    # Symlinks the package ships are followed, but no path may climb or name hidden files.
    if not parts or any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return None
    return "/".join(parts)


def _within(path: str) -> str:
    # Through Envoy the files are under /console/novnc/; a client sent straight to the proxy's
    # port (an operator's novncproxy_base_url, as Nova's http://host:6080/vnc_auto.html) asks
    # for them at the root.
    return path[len(PREFIX) :] if path.startswith(PREFIX) else path.lstrip("/")


def serve(root: Path, path: str) -> StaticReply:
    if not root.is_dir():
        return _not_found(
            f"noVNC is not installed on this console proxy (no {root}); install the 'novnc' "
            "package or point [console] novnc_path at a noVNC checkout. The console websocket "
            "works without it."
        )
    relative = _relative(path)
    target = root / relative if relative else None
    if target is None or not target.is_file():
        return _not_found(f"No such noVNC file: {_within(path)}")
    kind, _ = mimetypes.guess_type(target.name)
    if kind is None:
        kind = "application/octet-stream"
    elif kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    return StaticReply(200, target.read_bytes(), kind)
