"""The extra-spec operator grammar shared by the capability and aggregate filters.

`"<op> operand"`: = (number at least), ==, !=, >=, <= (numbers), s==, s!=, s>=, s>, s<=, s<
(strings), <in> (substring or member), <all-in> (all members), `<or> a <or> b` (one of).
A value with no operator must equal the host's value as a string.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from novamesh.scheduler.host_state import HostState


def _num(op: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    def compare(value: Any, operand: str) -> bool:
        try:
            return op(float(value), float(operand))
        except (TypeError, ValueError):
            return False

    return compare


def _str(op: Callable[[str, str], bool]) -> Callable[[Any, str], bool]:
    return lambda value, operand: op(str(value), operand)


def _contains(value: Any, operand: str) -> bool:
    if isinstance(value, (list, tuple, set, frozenset)):
        return operand in {str(v) for v in value}
    return operand in str(value)


_OPS: dict[str, Callable[[Any, str], bool]] = {
    "=": _num(operator.ge),
    "==": _num(operator.eq),
    "!=": _num(operator.ne),
    ">=": _num(operator.ge),
    "<=": _num(operator.le),
    "s==": _str(operator.eq),
    "s!=": _str(operator.ne),
    "s>=": _str(operator.ge),
    "s>": _str(operator.gt),
    "s<=": _str(operator.le),
    "s<": _str(operator.lt),
    "<in>": _contains,
}


def match(value: Any, requirement: str) -> bool:
    """Whether a host value satisfies one extra-spec requirement."""
    words = requirement.split()
    op = words[0] if words else ""
    if op == "<or>":
        if value is None:
            return False
        choices = [w for w in words if w != "<or>"]
        return str(value) in choices
    if op == "<all-in>":
        return value is not None and all(_contains(value, w) for w in words[1:])
    method = _OPS.get(op)
    if method is None:
        return value is not None and str(value) == requirement
    if value is None or len(words) < 2:
        return False
    return method(value, words[1])


_MISSING = object()


def lookup(host: HostState, path: list[str]) -> Any:
    """A host attribute by dotted/colon path (`cpu_info`, `features`), or None when absent."""
    obj: Any = host
    for i, part in enumerate(path):
        if isinstance(obj, dict):
            obj = obj.get(part, _MISSING)
        elif i == 0 and part in HOST_ALIASES:
            obj = HOST_ALIASES[part](host)
        else:
            obj = getattr(obj, part, _MISSING) if not part.startswith("_") else _MISSING
        if obj is _MISSING or obj is None:
            return None
    return obj


# Names Nova's HostState exposes that this view computes rather than stores.
HOST_ALIASES: dict[str, Callable[[HostState], Any]] = {
    "free_disk_gb": lambda h: h.free_disk_mb // 1024,
    "vcpus": lambda h: h.vcpus_total,
    "memory_mb": lambda h: h.total_usable_ram_mb,
    "local_gb": lambda h: h.total_usable_disk_gb,
    "hypervisor": lambda h: h.hypervisor_type,
    "stats": lambda h: h.metrics,
}
