"""What the route tables build on: the server steps that put a server into the state a sample
shows, the whole directories that do not apply to this cloud, and the server views (create,
get, list, update, rebuild) per microversion."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.contract.route_model import NotApplicable, Route

ACTION = "/servers/{server}/action"


def _act(body: Any, wait: str) -> tuple[str, str, Any, str]:
    return ("POST", ACTION, body, wait)


STOP = _act({"os-stop": None}, "SHUTOFF")
RESIZE = _act({"resize": {"flavorRef": "2"}}, "VERIFY_RESIZE")
SUSPEND = _act({"suspend": None}, "SUSPENDED")
PAUSE = _act({"pause": None}, "PAUSED")
LOCK = _act({"lock": None}, "")
RESCUE = _act({"rescue": None}, "RESCUE")
SHELVE = _act({"shelve": None}, "SHELVED_OFFLOADED|SHELVED")
OFFLOAD = _act({"shelveOffload": None}, "SHELVED_OFFLOADED")


# A rebuild answers while it runs; upstream's synchronous test shows it done.
REBUILDING = (("status", "ACTIVE", "REBUILD"), ("OS-EXT-STS:task_state", None, "rebuilding"))


def action(status: int = 202, **kw: Any) -> Route:
    return Route("POST", ACTION, status, **kw)


_SERVER_ACTIONS = "/servers/{server}/os-instance-actions"


def _stopped(path: str, **kw: Any) -> Route:
    """Upstream's instance-action samples show a server that was created, then stopped."""
    return Route("GET", path, before=(STOP,), fresh_server=True, **kw)


def _shelve(name: str, **values: str) -> tuple[tuple[str, str], ...]:
    """The shelve templates name their action `%(action)s`."""
    return (("action", name), *values.items())


# Upstream's fake driver powers the guest off for a rescue and its rescue does nothing, so
# its sample shows SHUTDOWN (4); a rescue boots the guest from the rescue image: RUNNING (1).
_RESCUED_RUNS = (("OS-EXT-STS:power_state", 4, 1),)


def _force_down(down: bool) -> tuple[str, str, Any, str]:
    body = {"host": "{server_host}", "binary": "nova-compute", "forced_down": down}
    return ("PUT@2.11", "/os-services/force-down", body, "")


def _evacuate(**kw: Any) -> Route:
    """Nova evacuates only from a host whose compute service is down: force it down first."""
    return action(
        200,
        before=(_force_down(True),),
        after=(_force_down(False),),
        fresh_server=True,
        values=(
            ("host", "{other_host}"),
            ("adminPass", "MySecretPass"),
            ("onSharedStorage", "False"),
            ("force", "False"),
        ),
        **kw,
    )


def _unshelve(offloaded: bool = False, **values: str) -> Route:
    """A host or zone is chosen only for a server that no longer has one (offloaded)."""
    return action(
        before=(SHELVE, OFFLOAD) if offloaded else (SHELVE,),
        fresh_server=True,
        settle="ACTIVE",
        values=_shelve("unshelve", **values),
    )


# Whole directories that do not apply to this cloud, and why.
NOT_APPLICABLE_DIRS: dict[str, str] = {
    "os-agents": "guest agent builds (Xen) were removed upstream: 410 Gone since Train",
    "os-certificates": "nova-cert was removed upstream: 410 Gone",
    "os-multinic": "nova-network multinic was removed upstream: 410 Gone",
    "os-floating-ip-pools": "nova-network proxy (deprecated 2.36): no Neutron in this cloud",
    "os-floating-ips": "nova-network proxy (deprecated 2.36): no Neutron in this cloud",
    "os-networks": "nova-network proxy (deprecated 2.36): no Neutron in this cloud",
    "os-tenant-networks": "nova-network proxy (deprecated 2.36): no Neutron in this cloud",
    "os-security-groups": "Neutron security-group proxy (deprecated 2.36): no Neutron here",
    "os-baremetal-nodes": "Ironic proxy (deprecated 2.36): no Ironic in this cloud",
    "os-snapshots": "Cinder snapshot proxy (deprecated 2.36): no Cinder API in this cloud",
    "os-volumes": "Cinder volume proxy (deprecated 2.36): no Cinder API in this cloud",
    "os-assisted-volume-snapshots": "Cinder-internal callback for remote-FS volume drivers",
    "os-server-shares": "virtiofs shares need Manila (2.97): no Manila in this cloud",
    "os-quota-sets-noop": "samples for the NoopQuotaDriver configuration, not the default driver",
    "os-hosts": "deprecated host API (removed 2.43) backed by the XenAPI host actions",
}

DOWN_CELL = "upstream's samples at this version show a server whose cell is down"

# Upstream's 2.74 samples boot onto its host and node "openstack-node-01".
_NODE = (("openstack-node-01", "{compute_host}"),)

_SERVER_VIEWS: dict[str, Route | NotApplicable] = {
    "server-create-resp": Route("POST", "/servers", 202, request="server-create-req"),
    "server-get-resp": Route("GET", "/servers/{server}"),
    "servers-list-resp": Route("GET", "/servers{page}"),
    "server-list-resp": Route("GET", "/servers{page}"),
    "servers-details-resp": Route("GET", "/servers/detail{page}"),
    "server-details-resp": Route("GET", "/servers/{server}"),
    "servers-list-status-resp": Route("GET", "/servers?limit=1&status=active"),
    "server-update-resp": Route("PUT", "/servers/{server}", request="server-update-req"),
    "server-put-resp": Route("PUT", "/servers/{server}", request="server-put-req"),
    "server-action-rebuild-resp": action(
        request="server-action-rebuild", in_flight=REBUILDING, values=(("name", "foobar"),)
    ),
    "server-action-reboot": action(settle="ACTIVE"),
    "server-action-stop": action(
        settle="SHUTOFF", fresh_server=True, values=(("action", "os-stop"),)
    ),
    "server-action-start": action(
        before=(STOP,), settle="ACTIVE", fresh_server=True, values=(("action", "os-start"),)
    ),
    "server-action-resize": action(fresh_server=True, settle="VERIFY_RESIZE"),
    "server-action-confirm-resize": action(
        204, before=(RESIZE,), fresh_server=True, settle="ACTIVE"
    ),
    "server-action-revert-resize": action(before=(RESIZE,), fresh_server=True, settle="ACTIVE"),
    "server-action-create-image": action(),
    "server-action-create-image-resp": action(request="server-action-create-image"),
    "server-action-trigger-crash-dump": action(),
    "lock-server-with-reason": action(fresh_server=True),
    "server-groups-post-resp": Route(
        "POST", "/os-server-groups", request="server-groups-post-req", values=(("name", "test"),)
    ),
    "server-create-req-v237": Route("POST", "/servers", 202, microversion="2.37"),
    "server-create-req-v257": Route("POST", "/servers", 202, microversion="2.57"),
    "server-create-req-with-host-and-node": Route("POST", "/servers", 202, literals=_NODE),
    "server-create-req-with-only-host": Route("POST", "/servers", 202, literals=_NODE),
    "server-create-req-with-only-node": Route("POST", "/servers", 202, literals=_NODE),
    "2.74:server-create-resp": Route(
        "POST", "/servers", 202, request="server-create-req-with-host-and-node", literals=_NODE
    ),
    "servers-list-with-changes-before": Route("GET", "/servers?changes-before={future}"),
    "servers-details-with-changes-before": Route("GET", "/servers/detail?changes-before={future}"),
    "server-action-addfloatingip-req": NotApplicable("nova-network floating IPs removed (2.44)"),
    "server-action-removefloatingip-req": NotApplicable("nova-network floating IPs removed (2.44)"),
    "attach-interfaces-list-resp": NotApplicable("leftover of os-attach-interfaces samples"),
    "attach-interfaces-show-resp": NotApplicable("leftover of os-attach-interfaces samples"),
    "server-get-down-cell-resp": NotApplicable(DOWN_CELL),
    "2.69:server-get-resp": NotApplicable(DOWN_CELL),
    "2.69:servers-list-resp": NotApplicable(DOWN_CELL),
    "2.69:servers-details-resp": NotApplicable(DOWN_CELL),
    "2.69:server-create-resp": NotApplicable(DOWN_CELL),
}
_OWNER_VIEWS = (
    "server-get-resp", "server-details-resp", "servers-details-resp", "server-list-resp",
    "server-update-resp", "server-action-rebuild-resp",
)  # fmt: skip
# From 2.90 upstream's samples show the server to its (non-admin) owner: hostname, no host.
for _v in ("2.90", "2.94", "2.96", "2.98", "2.100", "2.104"):
    for _name in _OWNER_VIEWS:
        _base = _SERVER_VIEWS[_name]
        assert isinstance(_base, Route)
        _SERVER_VIEWS[f"{_v}:{_name}"] = replace(_base, caller="user")
# Upstream's 2.100 rebuild sample renames the host.
_rebuild_2_100 = _SERVER_VIEWS["2.100:server-action-rebuild-resp"]
assert isinstance(_rebuild_2_100, Route)
_SERVER_VIEWS["2.100:server-action-rebuild-resp"] = replace(
    _rebuild_2_100, values=(*_rebuild_2_100.values, ("hostname", "updated-hostname.example.com"))
)
# Upstream's rebuild samples show the tags the server has: two at 2.26 (put first), none at
# 2.54 and 2.57 (whose server was booted without the 2.52 template's tags).
_REBUILD = _SERVER_VIEWS["server-action-rebuild-resp"]
assert isinstance(_REBUILD, Route)
_TAG_BOTH = ("PUT", "/servers/{server}/tags", {"tags": ["tag1", "tag2"]}, "")
_UNTAG = ("DELETE", "/servers/{server}/tags", None, "")
_SERVER_VIEWS["2.26:server-action-rebuild-resp"] = replace(_REBUILD, before=(_TAG_BOTH,))
for _v in ("2.54", "2.57"):
    _SERVER_VIEWS[f"{_v}:server-action-rebuild-resp"] = replace(_REBUILD, before=(_UNTAG,))
# Upstream's 2.47 update and rebuild samples show a server of flavor 1 (its create sample
# boots flavor 6); its 2.96 list a server booted without a hostname; its 2.104 update one
# booted without scheduler hints.
for _v, _name, _boot in (
    ("2.47", "server-update-resp", (("server/flavorRef", "1"),)),
    ("2.47", "server-action-rebuild-resp", (("server/flavorRef", "1"),)),
    ("2.96", "servers-details-resp", (("server/hostname", None),)),
    ("2.104", "server-update-resp", (("OS-SCH-HNT:scheduler_hints", None),)),
):
    _base = _SERVER_VIEWS.get(f"{_v}:{_name}") or _SERVER_VIEWS[_name]
    assert isinstance(_base, Route)
    _SERVER_VIEWS[f"{_v}:{_name}"] = replace(_base, boot=_boot)
# Upstream's 2.63 create sample boots into its test's zone us-west.
_create = _SERVER_VIEWS["server-create-resp"]
assert isinstance(_create, Route)
_SERVER_VIEWS["2.63:server-create-resp"] = replace(_create, literals=(('"us-west"', '"nova"'),))
# Upstream's 2.73 samples show a server locked with a reason.
_LOCKED = _act({"lock": {"locked_reason": "I don't want to work"}}, "")
for _name in ("server-get-resp", "servers-details-resp"):
    _base = _SERVER_VIEWS[_name]
    assert isinstance(_base, Route)
    _SERVER_VIEWS[f"2.73:{_name}"] = replace(_base, before=(_LOCKED,))
