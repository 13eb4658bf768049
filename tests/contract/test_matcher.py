"""The matcher follows upstream's api-samples comparison rules (no mesh needed)."""

from __future__ import annotations

import pytest

from tests.contract.matcher import Matcher, NoMatch, parse_template
from tests.contract.subs import PATTERNS


def _match(expected: object, actual: object) -> bool:
    try:
        Matcher(PATTERNS).compare(expected, actual)
    except NoMatch:
        return False
    return True


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        (None, "", True),  # upstream's known issue: null accepts ""
        ("", None, True),  # "" is the empty document, as null is
        ("", "x", False),
        (" a ", "a", True),
        ('{"x": 1}', '{"x":1}', True),  # unequal texts compared as JSON
        ("abc", "abd", False),
        ({"a": 1}, {"a": 1, "b": 2}, False),  # an extra key is a mismatch
        ([{"id": 1}, {"id": 2}], [{"id": 2}, {"id": 1}], True),  # any order
        ("%(int:n)s", 5, True),
        ("%(uuid)s", "not-a-uuid", False),
    ],
)
def test_rules(expected: object, actual: object, matches: bool) -> None:
    assert _match(expected, actual) is matches


def test_unquoted_placeholders_become_strings() -> None:
    assert parse_template('{"count": %(int)s}') == {"count": "%(int:int)s"}
