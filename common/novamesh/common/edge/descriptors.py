"""What the edge learns from the descriptor set Envoy loads: services and their HTTP bindings.

Reading the services of a package from the descriptor set (instead of listing them) means a new
REST face needs no edge change; the HTTP bindings give the 405 table and the compute
collections that tell a project id in the path from a resource name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

DESCRIPTOR_ENV = "NOVAMESH_DESCRIPTOR_SET"
# common/novamesh/common/edge/descriptors.py -> the checkout root, where `make protos` writes it.
_REPO_ROOT = Path(__file__).resolve().parents[4]
_RELATIVE = Path("gen") / "envoy" / "novamesh.pb"


def default_descriptor_path() -> Path:
    """The descriptor set: $NOVAMESH_DESCRIPTOR_SET, else the one `make protos` generated."""
    override = os.environ.get(DESCRIPTOR_ENV)
    if override:
        return Path(override).resolve()
    for root in (_REPO_ROOT, Path.cwd()):
        candidate = root / _RELATIVE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no descriptor set at {_REPO_ROOT / _RELATIVE}: run `make protos`, or set {DESCRIPTOR_ENV}"
    )


@dataclass(frozen=True)
class HttpBinding:
    service: str  # fully qualified, e.g. novamesh.compute.v1.ServersRestService
    rpc: str
    method: str  # GET, POST, ... (custom kinds as written)
    template: str  # /v2.1/servers/{id}


def _bindings(rule: http_pb2.HttpRule) -> Iterable[tuple[str, str]]:
    kind = rule.WhichOneof("pattern")
    if kind == "custom":
        yield rule.custom.kind.upper(), rule.custom.path
    elif kind is not None:
        yield kind.upper(), getattr(rule, kind)
    for extra in rule.additional_bindings:
        yield from _bindings(extra)


class Descriptors:
    """A parsed FileDescriptorSet."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet) -> None:
        self._services: dict[str, list[HttpBinding]] = {}
        for file in fds.file:
            for svc in file.service:
                full = f"{file.package}.{svc.name}" if file.package else svc.name
                found: list[HttpBinding] = []
                for method in svc.method:
                    if not method.options.HasExtension(annotations_pb2.http):
                        continue
                    rule = method.options.Extensions[annotations_pb2.http]
                    found += [
                        HttpBinding(full, method.name, verb, template)
                        for verb, template in _bindings(rule)
                    ]
                self._services[full] = found

    @classmethod
    def load(cls, path: Path | str) -> Descriptors:
        data = Path(path).read_bytes()
        return cls(descriptor_pb2.FileDescriptorSet.FromString(data))

    def has(self, service: str) -> bool:
        return service in self._services

    def services_in(self, package: str) -> list[str]:
        """Every service of a proto package (not of its sub-packages), sorted."""
        return sorted(s for s in self._services if s.rsplit(".", 1)[0] == package)

    def bindings(self, services: Sequence[str]) -> list[HttpBinding]:
        return [b for s in services for b in self._services.get(s, [])]


_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")
_LUA_MAGIC = re.compile(r"([\^$()%.\[\]*+\-?])")


def lua_pattern(template: str) -> str:
    """An anchored Lua pattern matching the paths a google.api.http template matches.

    `{var}` and `*` are one segment, `{var=**}` and `**` any rest; a trailing slash is
    tolerated as Envoy's path matcher does.
    """
    flat = _VARIABLE.sub(lambda m: m.group(2) or "*", template)
    verb = ""
    last = flat.rsplit("/", 1)[-1]
    if ":" in last:
        flat, verb = flat.rsplit(":", 1)
        verb = ":" + verb
    if flat == "/":
        return "^/$"
    parts = []
    for segment in flat.strip("/").split("/"):
        if segment == "**":
            parts.append(".+")
        elif segment == "*":
            parts.append("[^/]+")
        else:
            parts.append(_LUA_MAGIC.sub(r"%\1", segment))
    return "^/" + "/".join(parts) + _LUA_MAGIC.sub(r"%\1", verb) + "/?$"


def route_table(bindings: Iterable[HttpBinding]) -> list[tuple[str, str]]:
    """(Lua pattern, "GET, POST") per distinct template: what the 405 answer's Allow lists."""
    methods: dict[str, set[str]] = {}
    for b in bindings:
        methods.setdefault(lua_pattern(b.template), set()).add(b.method)
    return [(pattern, ", ".join(sorted(verbs))) for pattern, verbs in sorted(methods.items())]


def collections(bindings: Iterable[HttpBinding], prefix: str = "/v2.1/") -> list[str]:
    """First literal path segments under `prefix` (servers, flavors, os-keypairs, ...)."""
    found: set[str] = set()
    for b in bindings:
        if b.template.startswith(prefix):
            first = b.template[len(prefix) :].split("/", 1)[0]
            if first and "{" not in first and "*" not in first:
                found.add(first.split(":", 1)[0])
    return sorted(found)
