"""Replays every template of the reference against a live mesh through Envoy.

`python -m tests.contract.runner --out contract-report.json` starts a mesh of its own (free
ports, a temporary state directory), runs every case, writes the JSON report and a markdown
table beside it, and stops the mesh. `run(mesh)` does the same against a running mesh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx

from tests.contract import routes as routes_mod
from tests.contract.bodies import (
    Changes,
    change,
    fill,
    ids,
    only_owned,
    same_kind,
    version_at_least,
)
from tests.contract.cases import Case, discover, find_template, nearest_template, templates_root
from tests.contract.images import FakeImages
from tests.contract.matcher import (
    PLACEHOLDER,
    Matcher,
    NoMatch,
    parse_template,
    render_request,
)  # fmt: skip
from tests.contract.report import Result, markdown, summarize
from tests.contract.routes import NotApplicable, Route
from tests.contract.subs import PATTERNS, PROJECT, USER, UUID, relax, request_values
from tests.support.mesh import Mesh, start_mesh

WAIT_SECONDS = 15.0
# Request values whose response counterpart must be the same literal (not just a pattern).
_ECHOED = (
    "access_ip_v4", "access_ip_v6", "name", "description", "hostname", "keypair_name",
    "flavor_id", "flavorid", "flavor_name", "tag", "tag1", "tag2", "value", "value1",
    "value2", "key_name", "image_id",
)  # fmt: skip
# The suite's own project and the one upstream's quota samples name.
QUOTA_PROJECTS = (PROJECT, "fake_tenant")

# The users whose key pairs the templates show: the suite's admin, upstream's "fake" (the
# suite's non-admin caller) and the two its 2.35 listing samples create key pairs for.
KEYPAIR_USERS = (USER, "fake", "user1", "user2")


class SetupFailed(Exception):
    pass


@dataclass
class Group:
    """One API directory at one microversion: the resources its cases share."""

    runner: Runner
    directory: str
    version: str
    known: dict[str, str] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)

    def server(self, caller: str = "admin", changes: Changes = ()) -> str:
        """A server of the case's own: upstream boots one per sample test, and a case that
        renames, rebuilds or resizes it must not decide what the next case sees."""
        server_id = self.runner.boot(self.version, self.known, caller, changes)
        self.owned.add(server_id)
        return server_id


class Runner:
    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.root = templates_root()
        self.base = mesh.compute_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base, timeout=20)
        self.counter = 0
        self.image_id = self._image()
        self.boot_fallbacks: list[str] = []
        # Servers of other projects a case booted (the sweep lists only the suite's own).
        self.foreign: set[str] = set()
        self.booted_at = 0.0
        self.boot_sent: set[str] = set()
        self._fake_images: FakeImages | None = None
        self._upstream_flavor()

    def close(self) -> None:
        self.http.close()
        if self._fake_images is not None:
            self._fake_images.close()

    def fake_images(self) -> FakeImages:
        """Upstream's fake Glance images, made on first use (the `images` samples)."""
        if self._fake_images is None:
            self._fake_images = FakeImages(self.mesh.image_url)
        return self._fake_images

    def _upstream_flavor(self) -> None:
        """Flavors 6 and 7 of upstream's samples (m1.tiny with an extra spec; m1.small with a
        description, which its samples from 2.55 show), if not there yet."""
        if self.call("GET", "/flavors/6", "2.1").status_code != 200:
            body = {
                "flavor": {"name": "m1.tiny.specs", "ram": 512, "vcpus": 1, "disk": 1, "id": "6"}
            }
            self.call("POST", "/flavors", "2.1", body)
            specs = {"extra_specs": {"hw:numa_nodes": "1"}}
            self.call("POST", "/flavors/6/os-extra_specs", "2.1", specs)
        if self.call("GET", "/flavors/7", "2.1").status_code != 200:
            flavor = {"name": "m1.small.description", "ram": 2048, "vcpus": 1, "disk": 20}
            flavor.update(id="7", description="test description")
            self.call("POST", "/flavors", "2.55", {"flavor": flavor})
            specs = {"extra_specs": {"hw:cpu_policy": "shared", "hw:numa_nodes": "1"}}
            self.call("POST", "/flavors/7/os-extra_specs", "2.1", specs)

    def _image(self) -> str:
        """The image servers boot from, with the properties of upstream's fixture image (its
        samples show them from 2.98, and auto_disk_config decides OS-DCF:diskConfig)."""
        images = httpx.get(f"{self.mesh.image_url}/v2/images", timeout=20).json()["images"]
        image = next(i for i in images if i["status"] == "active")
        patch = [
            {"op": "add", "path": f"/{key}", "value": value}
            for key, value in (("architecture", "x86_64"), ("auto_disk_config", "True"))
            if key not in image
        ]
        if patch:
            httpx.patch(
                f"{self.mesh.image_url}/v2/images/{image['id']}",
                content=json.dumps(patch),
                headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
                timeout=20,
            ).raise_for_status()
        return str(image["id"])

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def call(
        self, method: str, path: str, version: str, body: Any = None, caller: str = "admin"
    ) -> httpx.Response:
        # "admin", "user" (a member of the suite's project) or another project's id.
        project = PROJECT if caller in ("admin", "user") else caller
        token = f"{USER}:{PROJECT}" if caller == "admin" else f"fake:{project}"
        url = path[1:] if path.startswith("^") else "/v2.1" + path
        headers = {"X-OpenStack-Nova-API-Version": version, "X-Auth-Token": token}
        content = None
        if body is not None:
            content = body if isinstance(body, str) else json.dumps(body)
            headers["Content-Type"] = "application/json"
        return self.http.request(method, url, content=content, headers=headers)

    def wait(self, server_id: str, statuses: str) -> None:
        wanted = set(statuses.split("|"))
        deadline = time.monotonic() + WAIT_SECONDS
        status = fault = ""
        while time.monotonic() < deadline:
            resp = self.call("GET", f"/servers/{server_id}", "2.1")
            server = resp.json().get("server", {}) if resp.is_success else {}
            status = server.get("status", "")
            if status in wanted:
                return
            if status == "ERROR":
                fault = f" ({server.get('fault', {}).get('message', 'no fault')})"
                break
            time.sleep(0.05)
        raise SetupFailed(f"server {server_id} is {status or 'gone'}{fault}, wanted {statuses}")

    def boot(
        self, version: str, known: dict[str, str], caller: str = "admin", changes: Changes = ()
    ) -> str:
        """A server made from the servers create template of (at most) this version, by the
        case's caller (upstream's owner samples show the server of its user "fake")."""
        tpl = nearest_template(self.root, "servers", version, "server-create-req")
        body: Any = None
        values = request_values(
            {"host": self.base, "image_id": self.image_id, "uuid": self.image_id, **known}
        )
        # Upstream names its sample server so whatever the template's placeholder.
        values["name"] = "new-server-test"
        if tpl is not None and "%(sg_uuid)s" in tpl.read_text() and "sg_uuid" not in known:
            group = {"server_group": {"name": "test", "policies": ["affinity"]}}
            made = self._ok(self.call("POST", "/os-server-groups", "2.1", group, caller))
            values["sg_uuid"] = made.json()["server_group"]["id"]
        if tpl is not None:
            try:
                body = json.loads(render_request(tpl.read_text(), values))
            except (KeyError, ValueError):
                body = None
        if isinstance(body, dict):
            change(body, changes)
            if body["server"].get("availability_zone") == "us-west":
                # upstream's test configured that zone; this cloud's hosts are in "nova"
                body["server"]["availability_zone"] = values["availability_zone"]
        if isinstance(body, dict) and version_at_least(version, "2.96"):
            # Upstream's 2.96 samples show a server pinned to the zone it was booted into.
            body["server"].setdefault("availability_zone", values["availability_zone"])
        resp = self.call("POST", "/servers", version, body, caller) if body is not None else None
        # What the server was made with comes back as sent (accessIPv6 "80fe::" ...).
        self.boot_sent = set(PLACEHOLDER.findall(tpl.read_text())) if tpl else set()
        plain: Any = None
        if resp is None or resp.status_code != 202:
            # The template's own body may use what this cloud refuses (personality, a
            # trusted-certs backend ...): a plain server then, so the other cases still run.
            plain = {
                "server": {
                    "name": "new-server-test",
                    "imageRef": self.image_id,
                    "flavorRef": "1",
                    "metadata": {"My Server Name": "Apache1"},
                }
            }
            self.boot_fallbacks.append(
                f"v{version}: {resp.status_code if resp else '-'} {resp.text[:300] if resp else ''}"
            )
            resp = self.call("POST", "/servers", "2.1", plain, caller)
            body = plain
        if resp.status_code != 202:
            raise SetupFailed(f"POST /servers answered {resp.status_code}: {resp.text[:200]}")
        server_id = str(resp.json()["server"]["id"])
        self.wait(server_id, "ACTIVE")
        if body is plain:
            self.boot_sent = set()
        return server_id

    # -- one case ------------------------------------------------------------------------

    def _request_template(self, case: Case, route: Route) -> Path | None:
        if route.request:
            return find_template(self.root, case.directory, case.version, route.request)
        return case.request

    def prepare(self, group: Group, case: Case, route: Route) -> dict[str, str]:
        known = dict(group.known)
        now = dt.datetime.now(dt.UTC)
        known["past"] = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        known["future"] = (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        known["project"] = PROJECT
        known["image"] = self.image_id
        if group.directory == "images":
            fakes = self.fake_images()
            fakes.reset()
            known.update(fakes.placeholders())
            group.owned.update(fakes.ids.values())
        known["host"] = self.base
        template = case.response.read_text() if case.response else ""
        known["page"] = "?limit=1" if "_links" in template else ""
        request_path = self._request_template(case, route)
        request_text = request_path.read_text() if request_path else ""
        if "%(key_name)s" in request_text:
            name = self.unique("keypair")
            self._ok(self.call("POST", "/os-keypairs", "2.1", {"keypair": {"name": name}}))
            known["key_name"] = name
        if "%(public_key)s" in request_text:
            # A real key to import: one the cloud generates (and forgets again).
            name = self.unique("keypair")
            resp = self._ok(self.call("POST", "/os-keypairs", "2.1", {"keypair": {"name": name}}))
            known["public_key"] = resp.json()["keypair"]["public_key"]
            self.call("DELETE", f"/os-keypairs/{name}", "2.1")
        if "%(sg_uuid)s" in request_text:
            body = {"server_group": {"name": "test", "policies": ["affinity"]}}
            resp = self._ok(self.call("POST", "/os-server-groups", "2.1", body))
            known["sg_uuid"] = resp.json()["server_group"]["id"]
        path = route.path
        lists_servers = route.method == "GET" and path.startswith("/servers")
        names_server = "{server}" in repr(route.values)  # (os-server-external-events)
        if "{server}" in path or path.startswith("/servers/") or lists_servers or names_server:
            known["server"] = group.server(route.caller, route.boot)
            known["server_id"] = known["server"]
        if "{flavor}" in path:
            known["flavor"] = self._flavor(known)
        if "{keypair}" in path:
            name = self.unique("keypair")
            body = {"keypair": {"name": name}}
            self._ok(self.call("POST", "/os-keypairs", "2.1", body, route.caller))
            known["keypair"] = known["keypair_name"] = name
        if "{group}" in path:
            # As upstream: the group its create template makes at this version, named "test",
            # made by the case's caller (its samples show that user).
            known["group"] = self._server_group(group.version, route.caller)
            known["name"] = "test"
        steps = repr((path, route.values, route.before, route.after, route.literals))
        if "{compute_host}" in steps:
            known["compute_host"] = self._compute_host()
        if "{aggregate}" in steps:
            # Upstream's aggregate samples start from an empty table: one aggregate "name".
            self.clear_aggregates()
            body = {"aggregate": {"name": "name", "availability_zone": "london"}}
            resp = self._ok(self.call("POST", "/os-aggregates", "2.1", body))
            known["aggregate"] = str(resp.json()["aggregate"]["id"])
        if "{service}" in steps:
            query = f"/os-services?binary=nova-compute&host={known['compute_host']}"
            resp = self._ok(self.call("GET", query, group.version))
            known["service"] = str(resp.json()["services"][0]["id"])
        steps = repr((route.values, route.before, route.after))
        for name in ("volume_id", "volume_id2", "new_volume_id"):
            if f"%({name})s" in request_text or f"{{{name}}}" in path + steps:
                known[name] = self._volume()
        if "server" in known and _NEEDS_HOSTS in repr((route.values, route.before, route.after)):
            known.update(self._hosts(known["server"]))
        if "server" in known and ("{net}" in repr(route) or "{boot_port}" in repr(route)):
            resp = self._ok(self.call("GET", f"/servers/{known['server']}/os-interface", "2.1"))
            first = resp.json()["interfaceAttachments"][0]
            known["net"], known["boot_port"] = first["net_id"], first["port_id"]
        for step in route.before:
            self._ok(self._step(step, known, group.version))
            if step[3]:
                self.wait(known["server"], step[3])
        known.update({k: v.format(**known) for k, v in route.values})
        if "{action" in path:
            resp = self._ok(
                self.call("GET", f"/servers/{known['server']}/os-instance-actions", "2.1")
            )
            newest = resp.json()["instanceActions"][0]
            known["action"] = newest["request_id"]
            # changes-since the newest action began: upstream's sample lists only that one.
            known["action_time"] = newest["start_time"]
        if "{console_token}" in path:
            known.setdefault("server", group.server())
            known["console_token"] = self._console_token(case, known["server"])
        if "{port}" in path:
            resp = self._ok(self.call("GET", f"/servers/{known['server']}/os-interface", "2.1"))
            known["port"] = resp.json()["interfaceAttachments"][0]["port_id"]
        if "{hypervisor" in path or group.directory == "os-hypervisors":
            # Ids are integers before 2.53 and UUIDs after: ask at the group's version. The
            # sample shows upstream's one host: the suite's lists are compared on this one.
            resp = self._ok(self.call("GET", "/os-hypervisors", group.version))
            first = resp.json()["hypervisors"][0]
            known["hypervisor"] = known["hypervisor_id"] = str(first["id"])
            known["hypervisor_host"] = str(first["hypervisor_hostname"])
            group.owned.add(known["hypervisor"])
            if not route.named_servers:
                self._idle_hosts()
        if route.named_servers:
            known.update(self._named_servers(group, route, known))
        if "{start}" in path:
            # Upstream's usage samples cover the hour after its clock stood still at the boots
            # (every server 1.0 hours): here the hour from now, after every boot.
            begin = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            known["start"] = begin.isoformat(timespec="microseconds")
            known["end"] = (begin + dt.timedelta(hours=1)).isoformat(timespec="microseconds")
        return known

    def _named_servers(self, group: Group, route: Route, known: dict[str, str]) -> dict[str, str]:
        """The servers a sample shows by name (m1.tiny), their ids as `{named1}`, `{named2}` ...

        Upstream made its uuids ascend with the names, and Nova pages usage by project and
        uuid: the names go to each project's servers in uuid order (a rename after the boot).
        """
        self.booted_at = time.time()
        booted: list[tuple[str, str]] = []
        for name, project in route.named_servers:
            server = {"name": name, "imageRef": self.image_id, "flavorRef": "1"}
            if route.on_host:
                server["availability_zone"] = f"nova:{known['hypervisor_host']}"
            caller = project or ("admin" if route.on_host else "user")
            resp = self._ok(self.call("POST", "/servers", "2.1", {"server": server}, caller))
            server_id = str(resp.json()["server"]["id"])
            group.owned.add(server_id)
            if project:
                self.foreign.add(server_id)
            booted.append((project, server_id))
        made: dict[str, str] = {}
        for i, (name, project) in enumerate(route.named_servers, 1):
            mine = sorted(sid for p, sid in booted if p == project)
            rank = [n for n, p in route.named_servers if p == project].index(name)
            server_id = mine[rank]
            self.wait(server_id, "ACTIVE")
            body = {"server": {"name": name}}
            self._ok(self.call("PUT", f"/servers/{server_id}", "2.1", body))
            made[f"named{i}"] = server_id
        return made

    def _idle_hosts(self) -> None:
        """Wait until no host runs a server (the hypervisor samples show idle hosts; a deleted
        server's resources are released as its host reports them)."""
        deadline = time.monotonic() + WAIT_SECONDS
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            resp = self._ok(self.call("GET", "/os-hypervisors/statistics", "2.1"))
            stats = resp.json()["hypervisor_statistics"]
            if stats["running_vms"] == 0 and stats["vcpus_used"] == 0:
                return
            time.sleep(0.1)
        raise SetupFailed(f"hosts still busy: {stats}")

    def _step(
        self, step: tuple[str, str, Any, str], known: dict[str, str], version: str
    ) -> httpx.Response:
        """One `before`/`after` request; `"PUT@2.11"` calls at that microversion."""
        method, _, at = step[0].partition("@")
        return self.call(method, step[1].format(**known), at or version, fill(step[2], known))

    def _server_group(self, version: str, caller: str) -> str:
        tpl = nearest_template(self.root, "os-server-groups", version, "server-groups-post-req")
        body: Any = {"server_group": {"name": "test", "policies": ["anti-affinity"]}}
        if tpl is not None:
            body = json.loads(render_request(tpl.read_text(), {"name": "test"}))
        resp = self._ok(self.call("POST", "/os-server-groups", version, body, caller))
        return str(resp.json()["server_group"]["id"])

    def _compute_host(self) -> str:
        """The last compute host by name (the one the suite's servers use least)."""
        resp = self._ok(self.call("GET", "/os-services?binary=nova-compute", "2.1"))
        return str(sorted(s["host"] for s in resp.json()["services"])[-1])

    def clear_aggregates(self) -> None:
        resp = self.call("GET", "/os-aggregates", "2.1")
        for agg in resp.json().get("aggregates", []) if resp.is_success else []:
            path = f"/os-aggregates/{agg['id']}"
            for host in agg.get("hosts") or []:
                self.call("POST", path + "/action", "2.1", {"remove_host": {"host": host}})
            self.call("DELETE", path, "2.1")

    def _hosts(self, server_id: str) -> dict[str, str]:
        """The server's compute host and another compute host that is up (for moves)."""
        resp = self._ok(self.call("GET", f"/servers/{server_id}", "2.1"))
        here = str(resp.json()["server"].get("OS-EXT-SRV-ATTR:host") or "")
        resp = self._ok(self.call("GET", "/os-services?binary=nova-compute", "2.11"))
        others = [
            s["host"] for s in resp.json()["services"]
            if s["host"] != here and s["state"] == "up" and s["status"] == "enabled"
            and not s.get("forced_down")
        ]  # fmt: skip
        return {"server_host": here, "other_host": others[0] if others else ""}

    def _console_token(self, case: Case, server: str) -> str:
        """A remote console as the case's folder creates one (its create-*-console-req); the
        token in the URL the cloud answers."""
        folder = case.response.parent if case.response else self.root
        tpl = next(folder.glob("create-*-console-req.json*"))
        body = json.loads(render_request(tpl.read_text(), {}))
        path = f"/servers/{server}/remote-consoles"
        resp = self._ok(self.call("POST", path, case.version, body))
        return re.split("token(?:=|%3D)", resp.json()["remote_console"]["url"])[-1]

    def _volume(self) -> str:
        """A volume of the built-in store, made through the os-volumes proxy (up to 2.35)."""
        body = {"volume": {"size": 1, "display_name": self.unique("volume")}}
        return str(self._ok(self.call("POST", "/os-volumes", "2.1", body)).json()["volume"]["id"])

    def _flavor(self, known: dict[str, str]) -> str:
        flavor_id = self.unique("contract-flavor")
        body = {"flavor": {"name": flavor_id, "ram": 1024, "vcpus": 2, "disk": 10, "id": flavor_id}}
        self._ok(self.call("POST", "/flavors", "2.1", body))
        return flavor_id

    @staticmethod
    def _ok(resp: httpx.Response) -> httpx.Response:
        if resp.status_code >= 400:
            raise SetupFailed(
                f"{resp.request.method} {resp.request.url.path} answered "
                f"{resp.status_code}: {resp.text[:200]}"
            )
        return resp

    def run_case(self, group: Group, case: Case, route: Route) -> Result:
        def result(outcome: str, reason: str = "") -> Result:
            return Result(case.key, case.directory, case.version, case.name, outcome, reason)

        try:
            known = self.prepare(group, case, route)
        except (SetupFailed, httpx.HTTPError, KeyError, IndexError) as exc:
            return result("failed", f"setup: {exc}")
        values = request_values(
            {
                "image_id": self.image_id,
                "uuid": self.image_id,
                "flavor_id": self.unique("contract-flavor"),
                "flavorid": known.get("flavor", "1"),
                "flavor_name": self.unique("flavor"),
                "keypair_name": known.get("keypair_name", self.unique("keypair")),
                "name": known.get("name", "new-server-test"),
                "type": "HARD",
                "id": "2",
                **{k: v for k, v in known.items() if not k.startswith(("past", "future"))},
            }
        )
        request_tpl = self._request_template(case, route)
        body: str | None = None
        sent: set[str] = set()
        if request_tpl is not None:
            try:
                body = render_request(request_tpl.read_text(), values)
                for literal, replacement in route.literals:
                    body = body.replace(literal, replacement.format(**known))
                sent = set(PLACEHOLDER.findall(request_tpl.read_text()))
            except KeyError as exc:
                return result("failed", f"request template: {exc}")
        try:
            path = route.path.format(**known)
        except KeyError as exc:
            return result("failed", f"no value for {exc} in {route.path}")
        try:
            version = route.microversion or case.version
            resp = self.call(route.method, path, version, body, route.caller)
        except httpx.HTTPError as exc:
            return result("failed", f"{route.method} {path}: {exc}")
        for step in route.after:
            self._step(step, known, group.version)
        expected_status = route.status
        if resp.status_code != expected_status:
            return result(
                "failed",
                f"{route.method} {path}: status {resp.status_code} (wanted {expected_status}): "
                f"{resp.text[:300]}",
            )
        for item in ids(resp):
            group.owned.add(item)
        if route.settle and "server" in known:
            try:
                self.wait(known["server"], route.settle)
            except SetupFailed as exc:
                return result("failed", f"after the call: {exc}")
        if case.response is None:
            return result("passed")
        sent |= self.boot_sent if "server" in known else set()
        echoed = {k: v for k, v in values.items() if k in sent or k in known}
        return self._compare(case, resp, echoed, group, result, route)

    def _compare(self, case: Case, resp: httpx.Response, values: dict[str, str], group: Group,
                 result: Any, route: Route) -> Result:  # fmt: skip
        try:
            expected = parse_template(case.response.read_text()) if case.response else None
        except ValueError as exc:
            return result("failed", f"unreadable template: {exc}")  # type: ignore[no-any-return]
        try:
            actual = resp.json() if resp.content else None
        except ValueError:
            return result("failed", f"not JSON: {resp.text[:200]}")  # type: ignore[no-any-return]
        subs = dict(PATTERNS)
        # As upstream: a value the request sent (or a resource the suite made) comes back as
        # itself; the other placeholders stay patterns.
        subs.update({k: re.escape(values[k]) for k in _ECHOED if k in values})
        subs["compute_endpoint"] = re.escape(self.base)
        subs["versioned_compute_endpoint"] = re.escape(self.base + "/v2.1")
        subs["host"] = r"[\w.:/-]+"
        named = {v for k, v in values.items() if k.startswith("named")}
        hosts = 0
        if route.host_totals:
            listed = self._ok(self.call("GET", "/os-hypervisors", "2.1"))
            hosts = len(listed.json()["hypervisors"])
        if not route.all_items:
            owned = group.owned
            if "changes-" in route.path and "server" in values:
                # a changes-since/before list shows deleted servers too: the earlier cases'
                owned = {values["server"]}
            actual = only_owned(expected, actual, owned)

        def relaxed(path: str, want: Any, got: Any) -> bool | None:
            key = path.rsplit("/", 1)[-1]
            fixed = route.in_flight + route.booted_usage
            if any(k == key and want == t and got == a for k, t, a in fixed):
                return True
            if hosts and path.startswith("/hypervisor_statistics/") and key in _SUMS:
                return isinstance(got, int) and got == (hosts if key == "count" else want * hosts)
            if route.measured and not isinstance(want, dict | list):
                return same_kind(want, got)
            if named and key == "uuid" and isinstance(want, str) and re.fullmatch(UUID, want):
                # upstream's stubbed instance list names made-up servers; these are the
                # servers the case booted onto the host
                return got in named
            if key == "uptime" and want == _USAGE_HOUR and "{start}" in route.path:
                # upstream's clock stood still an hour after the boots; here it ran on: the
                # seconds since this case's boots
                elapsed = time.time() - self.booted_at + 1
                return isinstance(got, int) and 0 <= got <= elapsed
            return relax(path, want, got)

        try:
            Matcher(subs, relaxed).compare(expected, actual)
        except NoMatch as exc:
            return result("failed", str(exc)[:400])  # type: ignore[no-any-return]
        return result("passed")  # type: ignore[no-any-return]

    # -- all cases -----------------------------------------------------------------------

    def run(self, cases: list[Case]) -> list[Result]:
        results: list[Result] = []
        # Upstream runs each sample on a fresh cloud. The hypervisor samples show each host's
        # use, which an earlier group's leftovers would change (an evacuated guest holds its
        # source host until that host's agent restarts): they run first, on idle hosts.
        cases = sorted(cases, key=lambda c: c.directory not in _FIRST)
        for (directory, version), items in groupby(cases, key=lambda c: (c.directory, c.version)):
            group = Group(self, directory, version)
            for case in items:
                route = routes_mod.route_for(directory, version, case.name)
                if route is None:
                    results.append(
                        Result(case.key, directory, version, case.name, "unmapped",
                               "no route in tests/contract/routes.py yet")
                    )  # fmt: skip
                elif isinstance(route, NotApplicable):
                    results.append(
                        Result(case.key, directory, version, case.name, "not_applicable",
                               route.reason)
                    )  # fmt: skip
                else:
                    self.reset_quotas()
                    results.append(self.run_case(group, case, route))
                    if route.path.startswith("/servers") or route.named_servers:
                        self.sweep_servers()
                    if route.path.startswith("/os-keypairs"):
                        self.sweep_keypairs()
            self.sweep()
        return results

    def sweep(self) -> None:
        """Leave the project as a fresh cloud has it, so no group sees another's leftovers.

        Upstream runs every sample against an empty cloud with default quotas; here one
        project serves the whole suite (some templates name its id), so what a group made
        goes before the next: servers (also those a case booted without the runner knowing
        the id: multiple create, a build that failed), key pairs, server groups, and the
        limits the quota cases set.
        """
        self.sweep_servers()
        self.sweep_keypairs()
        resp = self.call("GET", "/os-server-groups", "2.1")
        for item in resp.json().get("server_groups", []) if resp.is_success else []:
            self.call("DELETE", f"/os-server-groups/{item['id']}", "2.1")
        self.clear_aggregates()
        self.reset_quotas()

    def reset_quotas(self) -> None:
        """Default limits again for the projects the templates name (a quota case sets some)."""
        for project in QUOTA_PROJECTS:
            self.call("DELETE", f"/os-quota-sets/{project}", "2.1")

    def sweep_keypairs(self) -> None:
        """Delete the key pairs of every user the templates name (admin may since 2.10)."""
        for user in KEYPAIR_USERS:
            resp = self.call("GET", f"/os-keypairs?user_id={user}", "2.10")
            for item in resp.json().get("keypairs", []) if resp.is_success else []:
                name = item["keypair"]["name"]
                self.call("DELETE", f"/os-keypairs/{name}?user_id={user}", "2.10")

    def sweep_servers(self) -> None:
        """Delete every server of the project and wait until they are gone."""
        resp = self.call("GET", "/servers?limit=1000", "2.1")
        servers = [s["id"] for s in resp.json().get("servers", [])] if resp.is_success else []
        servers += sorted(self.foreign)
        self.foreign.clear()
        for server_id in servers:
            self.call("DELETE", f"/servers/{server_id}", "2.1")
        for server_id in servers:
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                if self.call("GET", f"/servers/{server_id}", "2.1").status_code == 404:
                    break
                time.sleep(0.05)


# API directories whose samples need hosts no earlier group has used.
_FIRST = frozenset(("os-hypervisors",))
# Upstream's usage samples: an hour of use (its clock stood still an hour after the boots).
_USAGE_HOUR = 3600
# The hypervisor statistics that sum the hosts' values.
_SUMS = frozenset((
    "count", "current_workload", "free_disk_gb", "free_ram_mb", "local_gb", "local_gb_used",
    "memory_mb", "memory_mb_used", "running_vms", "vcpus", "vcpus_used",
))  # fmt: skip

# Route values or steps that name the server's host or another one (`{server_host}`).
_NEEDS_HOSTS = "_host}"


def start(state_dir: Path) -> Mesh:
    """A mesh for the suite, with the default quotas the templates show (each group's
    resources are swept before the next, see `Runner.sweep`)."""
    return start_mesh(state_dir, extra=SUITE_CONFIG)


# As upstream's shelve samples: a shelved server keeps its host until shelveOffload. As its
# console samples: the console proxies' base URLs of Nova's default configuration.
SUITE_CONFIG: dict[str, dict[str, object]] = {
    "actions": {"shelved_offload_time": -1},
    # Each simulated host as upstream's fake driver's one node "fake-mini" (its hypervisor
    # samples show that node's resources).
    "agent": {"vcpus": 2, "memory_mb": 8192, "disk_gb": 1028, "reserved_host_memory_mb": 512},
    "console": {
        "novncproxy_base_url": "http://127.0.0.1:6080/vnc_auto.html",
        "serialproxy_base_url": "ws://127.0.0.1:6083/",
        "html5proxy_base_url": "http://127.0.0.1:6082/spice_auto.html",
        "spice_direct_proxy_base_url": "http://127.0.0.1:13002/nova",
    },
}


def run(mesh: Mesh, only: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every case, or only those of the API directories named in `only`."""
    runner = Runner(mesh)
    try:
        cases = [c for c in discover(runner.root) if not only or c.directory in only]
        report = summarize(runner.run(cases))
        report["fixture_fallbacks"] = runner.boot_fallbacks
        return report
    finally:
        runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="contract-report.json")
    parser.add_argument("--failures", action="store_true", help="print every failed case")
    parser.add_argument("--baseline", help="write the passing cases to this baseline file")
    parser.add_argument(
        "--only", default="", help="comma-separated API directories to run (default: all)"
    )
    args = parser.parse_args()
    only = frozenset(d.strip() for d in args.only.split(",") if d.strip())
    unknown = only - {p.name for p in templates_root().iterdir() if p.is_dir()}
    if unknown:
        parser.error(f"no such API directory: {', '.join(sorted(unknown))}")
    if only and args.baseline:
        parser.error("a baseline is recorded from the whole suite, not with --only")
    state = Path(tempfile.mkdtemp(prefix="novamesh-contract-"))
    started = time.monotonic()
    mesh = start(state / "state")
    try:
        report = run(mesh, only)
    finally:
        mesh.stop()
        shutil.rmtree(state, ignore_errors=True)
    report["seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    out.with_suffix(".md").write_text(table)
    print(table)
    if args.failures:
        for case in report["cases"]:
            if case["outcome"] == "failed":
                print(f"FAILED {case['key']}: {case['reason']}")
    if args.baseline:
        passed = sorted(c["key"] for c in report["cases"] if c["outcome"] == "passed")
        baseline = {"passed": len(passed), "passed_cases": passed}
        Path(args.baseline).write_text(json.dumps(baseline, indent=1) + "\n")
        print(f"baseline: {len(passed)} passing cases in {args.baseline}")
    print(f"report: {out} ({report['seconds']} s)")


if __name__ == "__main__":
    main()
