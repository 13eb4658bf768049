"""What a contract case is: the request a template stands for, or why none applies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    status: int = 200
    # The request template, when it is not the case's own pair (`x-req` for `x-resp`).
    request: str | None = None
    # (method, path, body, server status to wait for) run first.
    before: tuple[tuple[str, str, Any, str], ...] = ()
    # A server of its own, for calls that change it beyond repair (resize, delete ...).
    fresh_server: bool = False
    # Who calls: "admin" (the default) or "user" (a member of the same project).
    caller: str = "admin"
    # Wait for this server status after the call (so the next case finds it settled).
    settle: str = ""
    # Call at this microversion instead of the case's folder's (a template named for one).
    microversion: str = ""
    # (key, template value, accepted value): the answer is rendered while the task runs, where
    # upstream's fixture (casts made calls) had finished it already.
    in_flight: tuple[tuple[str, Any, Any], ...] = ()
    # ("server/flavorRef", "1") ...: changes to the body the case's server is booted with
    # (None removes the key), where upstream's sample booted differently from its template.
    boot: tuple[tuple[str, Any], ...] = ()
    # (literal, replacement) in the rendered request: upstream's fixture names (its host
    # "openstack-node-01") for this cloud's; replacements may use `{compute_host}` ...
    literals: tuple[tuple[str, str], ...] = ()
    # Request placeholder values of this case; `{server_host}` is the server's compute host,
    # `{other_host}` another compute host that is up, `{server}` ... what the case made.
    values: tuple[tuple[str, str], ...] = ()
    # (method, path, body, "") run after the call whatever it answered (undo a `before`).
    after: tuple[tuple[str, str, Any, str], ...] = ()
    # Compare the whole collection: the suite makes none of its items (os-services).
    all_items: bool = False
    # (name, project) of servers booted (m1.tiny, ACTIVE) before the call where upstream's
    # sample shows servers of those names; project "" is the suite's own. With `on_host` they
    # are forced onto the case's hypervisor (upstream stubbed the host's instance list).
    named_servers: tuple[tuple[str, str], ...] = ()
    on_host: bool = False
    # (key, template value, accepted value): upstream's stub servers used nothing of their
    # host; the servers booted here use what their flavor says.
    booted_usage: tuple[tuple[str, Any, Any], ...] = ()
    # The answer sums every compute host: upstream's cloud has one, the suite's several
    # identical ones, so each total is that many times the template's.
    host_totals: bool = False
    # The answer's numbers, strings and flags are what the virt driver measured of the guest
    # (upstream's fake driver answers fixed ones): each must have the template value's type.
    measured: bool = False


@dataclass(frozen=True)
class NotApplicable:
    reason: str
