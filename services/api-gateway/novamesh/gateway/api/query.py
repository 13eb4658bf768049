"""The query string, read as the client sent it (Envoy does not transcode it for us)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from novamesh.gateway.api.errors import BadRequest


class Query:
    """Repeated keys keep every value, in order; `get` returns the last one, as webob does."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    @classmethod
    def from_path(cls, path: str) -> Query:
        return cls(parse_qsl(urlsplit(path).query, keep_blank_values=True))

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def keys(self) -> list[str]:
        return list(self._values)

    def get(self, key: str, default: str | None = None) -> str | None:
        values = self._values.get(key)
        return values[-1] if values else default

    def getall(self, key: str) -> list[str]:
        return list(self._values.get(key, ()))

    def as_dict(self) -> Mapping[str, list[str]]:
        return self._values

    def check_known(self, known: Iterable[str]) -> None:
        """From 2.75 Nova rejects query parameters it does not know."""
        unknown = sorted(set(self._values) - set(known))
        if unknown:
            names = ", ".join(f"'{name}'" for name in unknown)
            verb = "was" if len(unknown) == 1 else "were"
            raise BadRequest(f"Additional properties are not allowed ({names} {verb} unexpected)")

    def limit(self, max_limit: int) -> int:
        return min(self._count("limit", max_limit), max_limit)

    def offset(self) -> int:
        """Nova's offset paging (server groups, volumes), 0 when absent."""
        return self._count("offset", 0)

    def _count(self, key: str, default: int) -> int:
        raw = self.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{key} param must be an integer") from None
        if value < 0:
            raise BadRequest(f"{key} param must be positive")
        return value

    def bool_param(self, key: str) -> bool | None:
        raw = self.get(key)
        if raw is None:
            return None
        lowered = raw.strip().lower()
        if lowered in ("", "1", "t", "true", "on", "y", "yes"):
            return True
        if lowered in ("0", "f", "false", "off", "n", "no"):
            return False
        raise BadRequest(f"Invalid value '{raw}' for {key}: expected a boolean")
