"""Which request each template stands for: one table per API directory.

A case is named after its response template (`server-get-resp`) or, for requests answered
without a body (most server actions), after its request template (`server-action-reboot`).
Paths hold `{server}`, `{image}`, `{flavor}`, `{keypair}`, `{group}`, `{aggregate}`,
`{project}`, `{user}` for the resources the suite creates; `before` lists requests that put a
server into the state the call needs (e.g. stopped before `os-start`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class NotApplicable:
    reason: str


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


def action(status: int = 202, **kw: Any) -> Route:
    return Route("POST", ACTION, status, **kw)


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
    "os-console-auth-tokens": "console proxies (novnc/serial/spice) are not part of this cloud",
}

DOWN_CELL = "upstream's samples at this version show a server whose cell is down"

_SERVER_VIEWS: dict[str, Route | NotApplicable] = {
    "server-create-resp": Route("POST", "/servers", 202, request="server-create-req"),
    "server-get-resp": Route("GET", "/servers/{server}"),
    "servers-list-resp": Route("GET", "/servers{page}"),
    "server-list-resp": Route("GET", "/servers/detail{page}"),
    "servers-details-resp": Route("GET", "/servers/detail{page}"),
    "server-details-resp": Route("GET", "/servers/{server}"),
    "servers-list-status-resp": Route("GET", "/servers?limit=1&status=active"),
    "server-update-resp": Route("PUT", "/servers/{server}", request="server-update-req"),
    "server-put-resp": Route("PUT", "/servers/{server}", request="server-put-req"),
    "server-action-rebuild-resp": action(request="server-action-rebuild"),
    "server-action-reboot": action(settle="ACTIVE"),
    "server-action-stop": action(settle="SHUTOFF", fresh_server=True),
    "server-action-start": action(before=(STOP,), settle="ACTIVE", fresh_server=True),
    "server-action-resize": action(fresh_server=True, settle="VERIFY_RESIZE"),
    "server-action-confirm-resize": action(before=(RESIZE,), fresh_server=True, settle="ACTIVE"),
    "server-action-revert-resize": action(before=(RESIZE,), fresh_server=True, settle="ACTIVE"),
    "server-action-create-image": action(),
    "server-action-create-image-resp": action(request="server-action-create-image"),
    "server-action-trigger-crash-dump": action(),
    "lock-server-with-reason": action(fresh_server=True),
    "server-groups-post-resp": Route("POST", "/os-server-groups", request="server-groups-post-req"),
    "server-create-req-v237": Route("POST", "/servers", 202),
    "server-create-req-v257": Route("POST", "/servers", 202),
    "server-create-req-with-host-and-node": Route("POST", "/servers", 202),
    "server-create-req-with-only-host": Route("POST", "/servers", 202),
    "server-create-req-with-only-node": Route("POST", "/servers", 202),
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

_FLAVOR = "/flavors/{flavor}"

ROUTES: dict[str, dict[str, Route | NotApplicable]] = {
    "servers": _SERVER_VIEWS,
    "servers-sort": {
        "server-sort-keys-list-resp": Route(
            "GET", "/servers?sort_key=display_name&sort_dir=asc&limit=1"
        )
    },
    "versions": {
        "versions-get-resp": Route("GET", "/../"),
        "v2-version-get-resp": Route("GET", "/../v2/"),
        "v21-version-get-resp": Route("GET", "/"),
    },
    "extension-info": {
        "extensions-list-resp": Route("GET", "/extensions"),
        "extensions-list-resp-v21-compatible": Route("GET", "/extensions"),
        "extensions-get-resp": Route("GET", "/extensions/os-agents"),
    },
    "flavors": {
        "flavor-get-resp": Route("GET", "/flavors/1"),
        "flavors-list-resp": Route("GET", "/flavors"),
        "flavors-detail-resp": Route("GET", "/flavors/detail"),
    },
    "flavor-manage": {
        "flavor-create-post-resp": Route("POST", "/flavors", request="flavor-create-post-req"),
        "flavor-update-resp": Route("PUT", _FLAVOR, request="flavor-update-req"),
    },
    "flavor-access": {
        "flavor-access-list-resp": Route("GET", _FLAVOR + "/os-flavor-access"),
        "flavor-access-add-tenant-resp": Route("POST", _FLAVOR + "/action"),
        "flavor-access-remove-tenant-resp": Route(
            "POST",
            _FLAVOR + "/action",
            before=(
                ("POST", _FLAVOR + "/action", {"addTenantAccess": {"tenant": "fake_tenant"}}, ""),
            ),
        ),
        "flavor-create-req": Route("POST", "/flavors"),
        "flavor-access-add-tenant-req": Route("POST", _FLAVOR + "/action"),
    },
    "flavor-extra-specs": {
        "flavor-extra-specs-create-resp": Route("POST", _FLAVOR + "/os-extra_specs"),
        "flavor-extra-specs-get-resp": Route("GET", _FLAVOR + "/os-extra_specs/hw:cpu_policy"),
        "flavor-extra-specs-list-resp": Route("GET", _FLAVOR + "/os-extra_specs"),
        "flavor-extra-specs-update-resp": Route("PUT", _FLAVOR + "/os-extra_specs/hw:numa_nodes"),
    },
    "images": {
        "image-get-resp": Route("GET", "/images/{image}"),
        "images-list-get-resp": Route("GET", "/images"),
        "images-details-get-resp": Route("GET", "/images/detail"),
        "image-metadata-get-resp": Route("GET", "/images/{image}/metadata"),
        "image-metadata-post-resp": Route("POST", "/images/{image}/metadata"),
        "image-metadata-put-resp": Route("PUT", "/images/{image}/metadata"),
        "image-meta-key-get": Route("GET", "/images/{image}/metadata/kernel_id"),
        "image-meta-key-put-resp": Route("PUT", "/images/{image}/metadata/auto_disk_config"),
    },
    "limits": {"limit-get-resp": Route("GET", "/limits")},
    "os-keypairs": {
        "keypairs-post-resp": Route("POST", "/os-keypairs", request="keypairs-post-req"),
        "keypairs-post-req": Route("POST", "/os-keypairs", 201),
        "keypairs-import-post-resp": Route("POST", "/os-keypairs"),
        "keypairs-get-resp": Route("GET", "/os-keypairs/{keypair}"),
        "keypairs-list-resp": Route("GET", "/os-keypairs"),
        "keypairs-list-user1-resp": Route("GET", "/os-keypairs?limit=1"),
        "keypairs-list-user2-resp": Route("GET", "/os-keypairs?limit=1&user_id=user2"),
    },
    "os-availability-zone": {
        "availability-zone-list-resp": Route("GET", "/os-availability-zone"),
        "availability-zone-detail-resp": Route("GET", "/os-availability-zone/detail"),
    },
    "server-ips": {
        "server-ips-resp": Route("GET", "/servers/{server}/ips"),
        "server-ips-network-resp": Route("GET", "/servers/{server}/ips/private"),
    },
    "server-metadata": {
        "server-metadata-all-resp": Route("PUT", "/servers/{server}/metadata"),
        "server-metadata-resp": Route("PUT", "/servers/{server}/metadata/foo"),
    },
    "os-server-tags": {
        "server-tags-put-all-resp": Route("PUT", "/servers/{server}/tags"),
        "server-tags-index-resp": Route("GET", "/servers/{server}/tags"),
        "server-tags-show-details-resp": Route("GET", "/servers/{server}"),
        "servers-tags-details-resp": Route("GET", "/servers/detail?limit=1"),
    },
    "os-pause-server": {
        "pause-server": action(fresh_server=True, settle="PAUSED"),
        "unpause-server": action(before=(PAUSE,), fresh_server=True, settle="ACTIVE"),
    },
    "os-suspend-server": {
        "server-suspend": action(fresh_server=True, settle="SUSPENDED"),
        "server-resume": action(before=(SUSPEND,), fresh_server=True, settle="ACTIVE"),
    },
    "os-lock-server": {
        "lock-server": action(fresh_server=True),
        "lock-server-with-reason": action(fresh_server=True),
        "unlock-server": action(before=(LOCK,), fresh_server=True),
    },
    "os-rescue": {
        "server-rescue": action(
            200, request="server-rescue-req", fresh_server=True, settle="RESCUE"
        ),
        "server-unrescue-req": action(before=(RESCUE,), fresh_server=True, settle="ACTIVE"),
        "server-get-resp-rescue": Route(
            "GET", "/servers/{server}", before=(RESCUE,), fresh_server=True
        ),
        "server-get-resp-unrescue": Route(
            "GET",
            "/servers/{server}",
            before=(RESCUE, _act({"unrescue": None}, "ACTIVE")),
            fresh_server=True,
        ),
        "server-rescue-req-with-image-ref": action(200, fresh_server=True, settle="RESCUE"),
    },
    "os-shelve": {
        "os-shelve": action(fresh_server=True),
        "os-shelve-offload": action(before=(SHELVE,), fresh_server=True),
        "os-unshelve": action(before=(SHELVE,), fresh_server=True),
        "os-unshelve-az": action(before=(SHELVE,), fresh_server=True),
        "os-unshelve-az-host": action(before=(SHELVE,), fresh_server=True),
        "os-unshelve-host": action(before=(SHELVE,), fresh_server=True),
        "os-unshelve-unpin-az": action(before=(SHELVE,), fresh_server=True),
        "os-unshelve-host-and-unpin-az": action(before=(SHELVE,), fresh_server=True),
    },
    "os-console-output": {"console-output-post-resp": action(200)},
    "os-admin-actions": {
        "admin-actions-reset-state": action(fresh_server=True),
        "admin-actions-reset-server-state": action(fresh_server=True),
        "admin-actions-inject-network-info": action(),
    },
    "os-admin-password": {"admin-password-change-password": action()},
    "os-create-backup": {
        "create-backup-req": action(),
        "create-backup-resp": action(request="create-backup-req"),
    },
    "os-deferred-delete": {
        "force-delete-post-req": action(fresh_server=True),
        "restore-post-req": action(fresh_server=True),
    },
    "os-migrate-server": {
        "migrate-server": action(fresh_server=True),
        "migrate-server-null": action(fresh_server=True),
        "live-migrate-server": action(fresh_server=True),
    },
    "os-evacuate": {
        "server-evacuate-req": NotApplicable("needs a compute service that is down"),
        "server-evacuate-resp": NotApplicable("needs a compute service that is down"),
        "server-evacuate-find-host-req": NotApplicable("needs a compute service that is down"),
        "server-evacuate-find-host-resp": NotApplicable("needs a compute service that is down"),
    },
    "os-preserve-ephemeral-rebuild": {
        "server-action-rebuild-preserve-ephemeral-resp": action(
            request="server-action-rebuild-preserve-ephemeral"
        ),
    },
    "os-multiple-create": {
        "multiple-create-post-resp": Route("POST", "/servers", 202),
        "multiple-create-no-resv-post-resp": Route("POST", "/servers", 202),
    },
    "os-remote-consoles": {
        "get-vnc-console-post-resp": action(200),
        "get-spice-console-post-resp": action(200),
        "get-serial-console-post-resp": action(200),
        "get-rdp-console-post-req": NotApplicable("RDP consoles (Hyper-V) were removed upstream"),
        "create-rdp-console-req": NotApplicable("RDP consoles (Hyper-V) were removed upstream"),
        "create-vnc-console-resp": Route("POST", "/servers/{server}/remote-consoles"),
        "create-mks-console-resp": Route("POST", "/servers/{server}/remote-consoles"),
        "create-spice-direct-console-resp": Route("POST", "/servers/{server}/remote-consoles"),
    },
    "os-server-password": {
        "get-password-resp": Route("GET", "/servers/{server}/os-server-password")
    },
    "os-server-diagnostics": {
        "server-diagnostics-get-resp": Route("GET", "/servers/{server}/diagnostics"),
    },
    "os-server-topology": {
        "servers-topology-resp": Route("GET", "/servers/{server}/topology"),
        "servers-topology-resp-user": Route("GET", "/servers/{server}/topology", caller="user"),
    },
    "os-instance-actions": {
        "instance-actions-list-resp": Route("GET", "/servers/{server}/os-instance-actions"),
        "instance-action-get-resp": Route("GET", "/servers/{server}/os-instance-actions/{action}"),
        "instance-action-get-non-admin-resp": Route(
            "GET", "/servers/{server}/os-instance-actions/{action}", caller="user"
        ),
        "instance-actions-list-with-limit-resp": Route(
            "GET", "/servers/{server}/os-instance-actions?limit=1"
        ),
        "instance-actions-list-with-marker-resp": Route(
            "GET", "/servers/{server}/os-instance-actions?marker={action}"
        ),
        "instance-actions-list-with-changes-since": Route(
            "GET", "/servers/{server}/os-instance-actions?changes-since={past}"
        ),
        "instance-actions-list-with-changes-before": Route(
            "GET", "/servers/{server}/os-instance-actions?changes-before={future}"
        ),
    },
    "os-attach-interfaces": {
        "attach-interfaces-list-resp": Route("GET", "/servers/{server}/os-interface"),
        "attach-interfaces-show-resp": Route("GET", "/servers/{server}/os-interface/{port}"),
        "attach-interfaces-create-resp": Route(
            "POST", "/servers/{server}/os-interface", request="attach-interfaces-create-req"
        ),
        "attach-interfaces-create-net_id-req": Route("POST", "/servers/{server}/os-interface"),
    },
    "os-volume_attachments": {
        "list-volume-attachments-resp": Route("GET", "/servers/{server}/os-volume_attachments"),
        "attach-volume-to-server-resp": Route(
            "POST", "/servers/{server}/os-volume_attachments", request="attach-volume-to-server-req"
        ),
    },
    "os-server-groups": {
        "server-groups-post-resp": Route(
            "POST", "/os-server-groups", request="server-groups-post-req"
        ),
        "server-groups-get-resp": Route("GET", "/os-server-groups/{group}"),
        "server-groups-list-resp": Route("GET", "/os-server-groups"),
    },
    "os-aggregates": {
        "aggregate-post-resp": Route("POST", "/os-aggregates", request="aggregate-post-req"),
        "aggregates-get-resp": Route("GET", "/os-aggregates/{aggregate}"),
        "aggregates-list-get-resp": Route("GET", "/os-aggregates"),
        "aggregate-update-post-resp": Route(
            "PUT", "/os-aggregates/{aggregate}", request="aggregate-update-post-req"
        ),
        "aggregates-add-host-post-resp": Route(
            "POST", "/os-aggregates/{aggregate}/action", request="aggregate-add-host-post-req"
        ),
        "aggregates-remove-host-post-resp": Route(
            "POST", "/os-aggregates/{aggregate}/action", request="aggregate-remove-host-post-req"
        ),
        "aggregates-metadata-post-resp": Route(
            "POST", "/os-aggregates/{aggregate}/action", request="aggregate-metadata-post-req"
        ),
        "aggregate-images-post-req": Route("POST", "/os-aggregates/{aggregate}/images", 202),
    },
    "os-services": {
        "services-list-get-resp": Route("GET", "/os-services"),
    },
    "os-hypervisors": {
        "hypervisors-list-resp": Route("GET", "/os-hypervisors"),
        "hypervisors-detail-resp": Route("GET", "/os-hypervisors/detail"),
        "hypervisors-statistics-resp": Route("GET", "/os-hypervisors/statistics"),
    },
    "os-quota-sets": {
        "quotas-show-get-resp": Route("GET", "/os-quota-sets/{project}"),
        "quotas-show-defaults-get-resp": Route("GET", "/os-quota-sets/{project}/defaults"),
        "quotas-show-detail-get-resp": Route("GET", "/os-quota-sets/{project}/detail"),
        "quotas-update-post-resp": Route(
            "PUT", "/os-quota-sets/{project}", request="quotas-update-post-req"
        ),
        "quotas-update-force-post-resp": Route(
            "PUT", "/os-quota-sets/{project}", request="quotas-update-force-post-req"
        ),
        "user-quotas-show-get-resp": Route("GET", "/os-quota-sets/{project}?user_id=fake"),
        "user-quotas-update-post-resp": Route(
            "PUT", "/os-quota-sets/{project}?user_id=fake", request="user-quotas-update-post-req"
        ),
    },
    "os-quota-class-sets": {
        "quota-classes-show-get-resp": Route("GET", "/os-quota-class-sets/test_class"),
        "quota-classes-update-post-resp": Route(
            "PUT", "/os-quota-class-sets/test_class", request="quota-classes-update-post-req"
        ),
    },
    "os-migrations": {"migrations-get": Route("GET", "/os-migrations")},
    "os-simple-tenant-usage": {},
    "os-instance-usage-audit-log": {},
    "os-server-external-events": {
        "event-create-resp": Route(
            "POST", "/os-server-external-events", request="event-create-req"
        ),
    },
    "server-migrations": {},
}


def route_for(directory: str, version: str, case: str) -> Route | NotApplicable | None:
    """The route of a case; `"<version>:<case>"` entries override for one microversion."""
    if directory in NOT_APPLICABLE_DIRS:
        return NotApplicable(NOT_APPLICABLE_DIRS[directory])
    table = ROUTES.get(directory, {})
    return table.get(f"{version}:{case}", table.get(case))
