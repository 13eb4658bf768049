"""JsonFilter: the `query` scheduler hint, a JSON expression over host-state attributes.

    ["and", [">=", "$free_ram_mb", 1024], [">=", "$free_disk_mb", 204800]]

Comparisons =, <, >, <=, >= hold when the first argument compares true with every other one;
`in` holds when the first is among the others; not/or/and combine. `$name.key` reads a host
attribute (and a key of a dict attribute); unknown names are dropped from the arguments.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.ops import lookup
from novamesh.scheduler.host_state import HostState
from novamesh.scheduler.spec import RequestSpec


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[list[Any]], Any]:
    def run(args: list[Any]) -> bool:
        if len(args) < 2:
            return False
        try:
            return all(op(args[0], other) for other in args[1:])
        except TypeError:
            return False

    return run


_COMMANDS: dict[str, Callable[[list[Any]], Any]] = {
    "=": _compare(operator.eq),
    "<": _compare(operator.lt),
    ">": _compare(operator.gt),
    "<=": _compare(operator.le),
    ">=": _compare(operator.ge),
    "in": lambda args: len(args) >= 2 and args[0] in args[1:],
    "not": lambda args: [not a for a in args],
    "or": any,
    "and": all,
}


def evaluate(query: list[Any], host: HostState) -> Any:
    if not query:
        return True
    command = _COMMANDS.get(query[0]) if isinstance(query[0], str) else None
    if command is None:
        raise ValueError(f"JsonFilter: unknown operator {query[0]!r}")
    args = []
    for arg in query[1:]:
        if isinstance(arg, list):
            arg = evaluate(arg, host)
        elif isinstance(arg, str) and arg.startswith("$"):
            arg = lookup(host, arg[1:].split("."))
        if arg is not None:
            args.append(arg)
    return command(args)


def parse_query(spec: RequestSpec) -> list[Any] | None:
    if "json_query" in spec.scratch:
        cached: list[Any] | None = spec.scratch["json_query"]
        return cached
    raw = spec.hint("query")
    query = None
    if raw and raw[0]:
        try:
            query = json.loads(raw[0])
        except ValueError as exc:
            raise ValueError(f"scheduler hint query is not JSON: {exc}") from exc
        if not isinstance(query, list):
            raise ValueError("scheduler hint query must be a JSON list")
    spec.scratch["json_query"] = query
    return query


class JsonFilter(Filter):
    name = "JsonFilter"
    run_once_per_request = True

    def relevant(self, spec: RequestSpec) -> bool:
        return bool(parse_query(spec))

    def check(self, host: HostState, spec: RequestSpec) -> str | None:
        query = parse_query(spec)
        assert query is not None
        result = evaluate(query, host)
        if isinstance(result, list):
            result = any(result)
        return None if result else "does not match the query hint"
