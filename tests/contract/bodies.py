"""Request and response bodies as the runner handles them: filling a step's placeholders,
changing a request, keeping a collection to what a case owns, comparing measurements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx


def same_kind(want: Any, got: Any) -> bool:
    """A measurement of the template's kind: a flag, a number (or null, a value the driver could
    not take) or a text."""
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(want, bool) and isinstance(got, bool)
    if isinstance(want, int | float):
        return got is None or isinstance(got, int | float)
    if isinstance(want, str) and "%(" not in want:
        return isinstance(got, str)
    return want is None and got is None


def fill(body: Any, known: dict[str, str]) -> Any:
    """A step's body with `{name}` in its strings replaced by what the case knows."""
    if isinstance(body, str):
        return body.format(**known) if "{" in body else body
    if isinstance(body, dict):
        return {k: fill(v, known) for k, v in body.items()}
    return body


Changes = tuple[tuple[str, Any], ...]


def change(body: dict[str, Any], changes: Changes) -> None:
    """Set (or with None remove) `a/b` keys of a request body."""
    for path, value in changes:
        *parents, key = path.split("/")
        node = body
        for name in parents:
            node = node.setdefault(name, {})
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value


def version_at_least(version: str, floor: str) -> bool:
    major, minor = version.split(".")
    low_major, low_minor = floor.split(".")
    return (int(major), int(minor)) >= (int(low_major), int(low_minor))


def ids(resp: httpx.Response) -> Iterator[str]:
    try:
        data = resp.json()
    except ValueError:
        return
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, dict) and "id" in value:
                yield str(value["id"])


def only_owned(expected: Any, actual: Any, owned: set[str]) -> Any:
    """Top-level collections list what every case made; keep this case's and the template's.

    The mesh is shared by all cases (upstream runs each sample against an empty cloud), so a
    collection holds other cases' resources too. Items whose id is neither one this case's
    group created nor a literal id the template names are dropped before matching.
    """
    if not (isinstance(expected, dict) and isinstance(actual, dict)):
        return actual
    out = dict(actual)
    for key, items in actual.items():
        tpl = expected.get(key)
        if not (isinstance(items, list) and isinstance(tpl, list)) or len(items) <= len(tpl):
            continue
        literal = {
            str(t.get("id")) for t in tpl if isinstance(t, dict) and "%(" not in str(t.get("id"))
        }
        out[key] = [
            i for i in items
            if not isinstance(i, dict) or str(i.get("id")) in owned or str(i.get("id")) in literal
        ]  # fmt: skip
    return out
