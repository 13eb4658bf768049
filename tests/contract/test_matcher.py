"""The matcher follows upstream's api-samples comparison rules (no mesh needed)."""

from __future__ import annotations

import pytest

from tests.contract.bodies import same_kind
from tests.contract.matcher import Matcher, NoMatch, parse_template
from tests.contract.subs import PATTERNS, relax


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


def test_text_pattern_fails_fast_on_a_long_mismatch() -> None:
    # upstream's nested repetition backtracked exponentially here
    assert not _match("%(text)s?end=x", "a" * 5000)
    assert _match("%(text)s", 'say \\"hi\\"')


@pytest.mark.parametrize(
    ("expected", "actual", "verdict"),
    [
        # the host's CPU: the same fields, a JSON text before 2.28, an object from it
        ('{"arch": "x86_64", "model": "Nehalem"}', '{"model": "fake", "arch": "arm"}', True),
        ('{"arch": "x86_64", "model": "Nehalem"}', '{"arch": "x86_64"}', False),
        ({"arch": "x86_64", "features": ["pge"]}, {"arch": "a", "features": []}, True),
        ({"arch": "x86_64", "features": ["pge"]}, {"arch": "a", "features": "pge"}, False),
    ],
)
def test_cpu_info_is_the_hosts(expected: object, actual: object, verdict: bool) -> None:
    assert relax("/hypervisor/cpu_info", expected, actual) is verdict


def test_console_internal_access_path_may_be_null() -> None:
    want = "%(internal_access_path)s"
    assert relax("/console/internal_access_path", want, None) is True
    assert relax("/console/internal_access_path", want, 5) is False


@pytest.mark.parametrize(
    ("want", "got", "verdict"),
    [(1, 7, True), (1, None, True), (1, "7", False), (True, False, True), (True, 1, False),
     ("libvirt", "fake", True), ("libvirt", 3, False)],
)  # fmt: skip
def test_measurements_keep_their_kind(want: object, got: object, verdict: bool) -> None:
    assert same_kind(want, got) is verdict
