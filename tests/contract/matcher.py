"""Matching a response against an upstream api-samples template.

The rules are those of Nova's own api-samples tests, so that a template means here what it
means upstream:

- a dict must have exactly the template's keys (a missing or an extra key is a mismatch);
- a list matches when every response item matches a distinct template item, in any order;
- a template string holding `%(name)s` placeholders is a regular expression, anchored at both
  ends, with each placeholder replaced by the pattern in `subs`; a placeholder that was not
  quoted in the JSON (`"x": %(int)s`) is compared against the text of the response value;
- any other string is compared after stripping whitespace; when unequal, both are read as
  JSON documents (an empty text or a null being the empty document, so `""` accepts null) and
  compared as such; `null` accepts null and "";
  numbers and booleans compare equal.

The only departures, all for values that come from upstream's test fixtures rather than from the
API, are the `relax` hooks the caller passes in (see `tests/contract/subs.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

# A placeholder not wrapped in quotes, e.g. `"min_count": %(int)s`; upstream quotes it as
# `"%(int:name)s"` before parsing the JSON and compares it against str(value).
_UNQUOTED = re.compile(r"([:\[,]\s*)%\(([^)]+)\)s(\s*[,}\]])")
PLACEHOLDER = re.compile(r"%\(([^)]+)\)s")

# A fixture-dependent literal: (path, template value, response value) -> matches or None to
# fall back to the plain comparison.
Relax = Callable[[str, Any, Any], bool | None]


class NoMatch(AssertionError):
    pass


def _objectify(data: Any) -> Any:
    """Upstream's objectify: nothing is an empty object, else the text parsed as JSON."""
    if not data:
        return {}
    if not isinstance(data, str):
        raise ValueError("not a JSON text")
    return json.loads(data)


def parse_template(text: str) -> Any:
    if not text.strip():
        return None
    return json.loads(_UNQUOTED.sub(r'\1"%(int:\2)s"\3', text))


def render_request(text: str, subs: Mapping[str, str]) -> str:
    """A request template with concrete values (unquoted placeholders become raw JSON)."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in subs:
            raise KeyError(f"no value for request placeholder %({name})s")
        return str(subs[name])

    return PLACEHOLDER.sub(one, text)


class Matcher:
    def __init__(self, subs: Mapping[str, str], relax: Relax | None = None) -> None:
        self.subs = dict(subs)
        self.relax = relax

    def pattern(self, template: str) -> str:
        escaped = template
        for char in "[]<>?":
            escaped = escaped.replace(char, "\\" + char)

        def one(m: re.Match[str]) -> str:
            name = m.group(1).removeprefix("int:")
            return self.subs.get(name, ".*")

        # Upstream fills templates with Python's %-formatting, so `%%` stands for `%`.
        return "^" + PLACEHOLDER.sub(one, escaped).replace("%%", "%") + "$"

    def compare(self, expected: Any, actual: Any, path: str = "") -> None:
        if self.relax is not None:
            verdict = self.relax(path, expected, actual)
            if verdict is True:
                return
            if verdict is False:
                raise NoMatch(f"{path or '/'}: {actual!r} does not match {expected!r}")
        if expected is None:
            if actual not in (None, ""):
                raise NoMatch(f"{path or '/'}: expected null, got {actual!r}")
        elif isinstance(expected, dict):
            self._dict(expected, actual, path)
        elif isinstance(expected, list):
            self._list(expected, actual, path)
        elif isinstance(expected, str) and "%(" in expected:
            text = str(actual) if expected.startswith("%(int:") else actual
            if isinstance(actual, bool) and expected.startswith("%(int:"):
                text = json.dumps(actual)
            if not isinstance(text, str) or not re.match(self.pattern(expected), text, re.S):
                raise NoMatch(f"{path or '/'}: {actual!r} does not match {expected!r}")
        elif isinstance(expected, str):
            if not isinstance(actual, str) or expected.strip() != actual.strip():
                self._unequal_strings(expected, actual, path)
        elif isinstance(expected, bool) or isinstance(actual, bool):
            if expected is not actual:
                raise NoMatch(f"{path or '/'}: expected {expected!r}, got {actual!r}")
        elif isinstance(expected, int | float):
            if not isinstance(actual, int | float) or expected != actual:
                raise NoMatch(f"{path or '/'}: expected {expected!r}, got {actual!r}")
        else:
            raise NoMatch(f"{path or '/'}: unsupported template value {expected!r}")

    def _unequal_strings(self, expected: str, actual: Any, path: str) -> None:
        """Upstream's last chance for unequal strings: both read as JSON documents (an empty
        text is the empty document, so "" matches null too) and compared as such."""
        try:
            want = _objectify(expected)
            got = _objectify(actual.strip() if isinstance(actual, str) else actual)
        except ValueError:
            raise NoMatch(f"{path or '/'}: expected {expected!r}, got {actual!r}") from None
        if isinstance(want, str) and isinstance(got, str):
            raise NoMatch(f"{path or '/'}: expected {expected!r}, got {actual!r}")
        self.compare(want, got, path)

    def _dict(self, expected: dict[str, Any], actual: Any, path: str) -> None:
        if not isinstance(actual, dict):
            raise NoMatch(f"{path or '/'}: expected an object, got {actual!r}")
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing or extra:
            raise NoMatch(f"{path or '/'}: keys missing {missing}, unexpected {extra}")
        for key in expected:
            self.compare(expected[key], actual[key], f"{path}/{key}")

    def _list(self, expected: list[Any], actual: Any, path: str) -> None:
        if not isinstance(actual, list):
            raise NoMatch(f"{path or '/'}: expected a list, got {actual!r}")
        remaining = list(expected)
        unmatched: list[tuple[Any, str]] = []
        for i, item in enumerate(actual):
            reason = ""
            for j, candidate in enumerate(remaining):
                try:
                    self.compare(candidate, item, f"{path}[{i}]")
                except NoMatch as exc:
                    reason = reason or str(exc)
                    continue
                del remaining[j]
                break
            else:
                unmatched.append((item, reason))
        if unmatched or remaining:
            detail = unmatched[0][1] if unmatched and unmatched[0][1] else ""
            raise NoMatch(
                f"{path or '/'}: {len(remaining)} template item(s) unmatched, "
                f"{len(unmatched)} response item(s) unexpected"
                + (f" (first: {detail})" if detail else "")
            )
