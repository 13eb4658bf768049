"""Nova's instance usage audit log: which compute hosts audited the instances' usage of the
last completed audit period (a month, Nova's default `instance_usage_audit_period`).

No host here runs Nova's periodic usage audit (it emits notifications this cloud has no
consumer for), so every host shows as not run; the periods and counts are Nova's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from novamesh.gateway.api import policy
from novamesh.gateway.api.auth import Identity
from novamesh.gateway.api.errors import BadRequest

_RULE = "os_compute_api:os-instance-usage-audit-log"
policy.register(f"{_RULE}:list", "rule:admin_api", "List the usage audits of all hosts")
policy.register(f"{_RULE}:show", "rule:admin_api", "The usage audits before a time")

_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


def authorize(who: Identity, op: str) -> None:
    policy.authorize(who, f"{_RULE}:{op}")


def parse_before(text: str) -> dt.datetime:
    """The path's timestamp, as Nova reads it (a fraction only after a dot)."""
    fmt = _FORMATS[0] if "." in text else _FORMATS[1]
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text}") from None


def last_completed_month(before: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(beginning, end) of the last month that ended at or before `before` (naive UTC)."""
    end = dt.datetime(before.year, before.month, 1)
    begin = dt.datetime(end.year - 1, 12, 1) if end.month == 1 else end.replace(month=end.month - 1)
    return begin, end


def audit_log(hosts: Iterable[str], before: dt.datetime) -> dict[str, Any]:
    """The audit state of the period completed before `before`, with no host having run it."""
    begin, end = last_completed_month(before)
    names = sorted(set(hosts))
    return {
        "hosts_not_run": names,
        "log": {},
        "num_hosts": len(names),
        "num_hosts_done": 0,
        "num_hosts_not_run": len(names),
        "num_hosts_running": 0,
        # Nova says "ALL hosts done" only when every host is; none is here.
        "overall_status": f"0 of {len(names)} hosts done. 0 errors.",
        "period_beginning": str(begin),
        "period_ending": str(end),
        "total_errors": 0,
        "total_instances": 0,
    }
