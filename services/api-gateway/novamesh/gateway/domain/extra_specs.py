"""Flavor extra spec validation (2.86): known keys must have valid values, and a key in a
namespace the compute service owns (hw:, quota:, resources:, trait: ...) must be a known one.
Keys without a namespace, or in a namespace nobody registered, pass: out-of-tree scheduler
filters read their own.

Validators are registered explicitly by key pattern, one line each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from novamesh.gateway.api.errors import BadRequest

Check = Callable[[str], str | None]  # the problem with a value, or None


def _enum(*choices: str) -> Check:
    def check(value: str) -> str | None:
        if value in choices:
            return None
        return f"must be one of {', '.join(choices)}"

    return check


def _int(minimum: int | None = None, maximum: int | None = None) -> Check:
    def check(value: str) -> str | None:
        try:
            number = int(value)
        except ValueError:
            return "must be an integer"
        if minimum is not None and number < minimum:
            return f"must be at least {minimum}"
        if maximum is not None and number > maximum:
            return f"must be at most {maximum}"
        return None

    return check


_TRUE_FALSE = {"true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"}


def _bool(value: str) -> str | None:
    return None if value.lower() in _TRUE_FALSE else "must be a boolean"


def _pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)

    def check(value: str) -> str | None:
        return None if compiled.fullmatch(value) else f"must be {what}"

    return check


def _any(_value: str) -> str | None:
    return None


@dataclass(frozen=True)
class Validator:
    key: re.Pattern[str]
    check: Check


VALIDATORS: list[Validator] = []


def register(key_regex: str, check: Check) -> None:
    VALIDATORS.append(Validator(re.compile(key_regex), check))


# Namespaces the compute service owns; a key in one of them must match a validator.
NAMESPACES = re.compile(
    r"(hw|hw_rng|hw_video|os|quota|pci_passthrough|accel|resources([1-9][0-9]*|_[a-zA-Z0-9_-]+)?"
    r"|trait([1-9][0-9]*|_[a-zA-Z0-9_-]+)?)"
)

_CPU_LIST = r"\^?[0-9]+(-[0-9]+)?(,\^?[0-9]+(-[0-9]+)?)*"

for _key, _check in [
    (r"hw:cpu_policy", _enum("shared", "dedicated", "mixed")),
    (r"hw:cpu_thread_policy", _enum("prefer", "isolate", "require")),
    (r"hw:emulator_threads_policy", _enum("share", "isolate")),
    (r"hw:cpu_(sockets|cores|threads)", _int(1)),
    (r"hw:max_cpu_(sockets|cores|threads)", _int(1)),
    (r"hw:cpu_realtime", _bool),
    (r"hw:cpu_realtime_mask", _pattern(_CPU_LIST, "a CPU list such as ^0-1")),
    (r"hw:cpu_dedicated_mask", _pattern(_CPU_LIST, "a CPU list such as ^0-1")),
    (r"hw:numa_nodes", _int(1)),
    (r"hw:numa_cpus\.[0-9]+", _pattern(_CPU_LIST, "a CPU list such as 0-3,5")),
    (r"hw:numa_mem\.[0-9]+", _int(0)),
    (
        r"hw:mem_page_size",
        _pattern(r"(small|large|any|[0-9]+([kKmMgG][bB]?)?)", "small, large, any or a size"),
    ),
    (r"hw:mem_encryption", _bool),
    (r"hw:locked_memory", _bool),
    (r"hw:watchdog_action", _enum("none", "pause", "poweroff", "reset", "disabled")),
    (r"hw:boot_menu", _bool),
    (r"hw:vif_multiqueue_enabled", _bool),
    (r"hw:pmu", _bool),
    (r"hw:hide_hypervisor_id", _bool),
    (r"hw:virtio_packed_ring", _bool),
    (r"hw:serial_port_count", _int(0)),
    (r"hw:tpm_version", _enum("1.2", "2.0")),
    (r"hw:tpm_model", _enum("tpm-tis", "tpm-crb")),
    (r"hw:pci_numa_affinity_policy", _enum("required", "legacy", "preferred", "socket")),
    (r"hw:maxphysaddr_mode", _enum("emulate", "passthrough")),
    (r"hw:maxphysaddr_bits", _int(1)),
    (r"hw:vtpm_secret_security", _enum("user", "host", "deployment")),
    (r"hw_rng:allowed", _bool),
    (r"hw_rng:rate_bytes", _int(0)),
    (r"hw_rng:rate_period", _int(0)),
    (r"hw_video:ram_max_mb", _int(0)),
    (r"os:secure_boot", _enum("required", "disabled", "optional")),
    (r"os:monitors", _int(1, 4)),
    (r"quota:cpu_(shares|period|quota|limit|reservation)", _int(0)),
    (r"quota:cpu_shares_level", _enum("custom", "high", "normal", "low")),
    (r"quota:disk_(read|write|total)_(bytes|iops)_sec", _int(0)),
    (r"quota:(vif_inbound|vif_outbound)_(average|peak|burst)", _int(0)),
    (r"quota:(memory|disk_io|vif)_(limit|reservation|shares_share)", _int(0)),
    (r"quota:(memory|disk_io|vif)_shares_level", _enum("custom", "high", "normal", "low")),
    (
        r"pci_passthrough:alias",
        _pattern(r"[^:,]+:[0-9]+(,[^:,]+:[0-9]+)*", "alias:count[,alias:count]"),
    ),
    (r"accel:device_profile", _any),
    (r"resources([1-9][0-9]*|_[a-zA-Z0-9_-]+)?:[A-Z0-9_]+", _int(0)),
    (r"trait([1-9][0-9]*|_[a-zA-Z0-9_-]+)?:[A-Z0-9_]+", _enum("required", "forbidden")),
    (r"group_policy", _enum("none", "isolate")),
]:
    register(_key, _check)


def validate(key: str, value: str) -> None:
    """Raise BadRequest (Nova 2.86) when the key is known and its value bad, or when the key
    sits in an owned namespace without being known."""
    for validator in VALIDATORS:
        if validator.key.fullmatch(key):
            problem = validator.check(value)
            if problem is not None:
                raise BadRequest(
                    f"Validation failed; The value of extra spec '{key}' {problem}: got '{value}'."
                )
            return
    namespace, sep, _ = key.partition(":")
    if sep and NAMESPACES.fullmatch(namespace):
        raise BadRequest(
            f"Validation failed; extra spec '{key}' does not appear to be a valid extra spec."
        )


def validate_all(specs: dict[str, str]) -> None:
    for key, value in specs.items():
        validate(key, value)
