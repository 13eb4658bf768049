"""Views against Nova's API sample templates: the same keys, per microversion and role."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from novamesh.agent.v1 import agent_pb2
from novamesh.cells.v1 import router_pb2
from novamesh.common.apidb import models
from novamesh.gateway.api.microversion import parse
from novamesh.gateway.views import flavors as flavor_views
from novamesh.gateway.views import servers as server_views
from novamesh.gateway.views import versions as version_views
from novamesh.gateway.views.common import ViewContext

SAMPLES = Path(os.environ.get("NOVAMESH_NOVA_SAMPLES", "/nonexistent"))
for candidate in (Path(__file__).resolve().parents[i] for i in range(2, 5)):
    if (candidate / "shared/reference/nova/api_sample_templates").is_dir():
        SAMPLES = candidate / "shared/reference/nova/api_sample_templates"
        break

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="Nova sample templates not found")


def load(path: Path) -> Any:
    text = re.sub(r'(?<!")%\((\w+)\)s(?!")', "0", path.read_text())
    return json.loads(text)


def instance() -> router_pb2.Instance:
    inst = router_pb2.Instance(
        uuid="a4d9a4c7-8a4f-4d7e-8a43-7d3f4f2a1b11",
        name="new-server-test",
        hostname="new-server-test",
        project_id="6f70656e737461636b20342065766572",
        user_id="admin",
        vm_state="active",
        power_state=1,
        host="compute",
        node="fake-mini",
        availability_zone="us-west",
        image_ref="70a599e0-31e7-49b7-b260-868f441e862b",
        metadata={"My Server Name": "Apache1"},
        reservation_id="r-abcd1234",
        system_metadata={"auto_disk_config": "True", "pinned_availability_zone": "us-west"},
        interfaces=[
            agent_pb2.NetworkInterface(
                network="private",
                address="192.168.1.30",
                version=4,
                mac_address="00:0c:29:0d:11:74",
            )
        ],
    )
    inst.flavor.id, inst.flavor.name = "1", "m1.tiny"
    inst.flavor.vcpus, inst.flavor.memory_mb, inst.flavor.root_gb = 1, 512, 1
    inst.image.properties["architecture"] = "x86_64"
    inst.created_at.FromSeconds(1_700_000_000)
    inst.updated_at.FromSeconds(1_700_000_100)
    inst.launched_at.FromSeconds(1_700_000_050)
    return inst


def _version_of(path: Path) -> str:
    parent = path.parent.name
    return parent[1:] if parent.startswith("v2.") else "2.1"


def _templates(name: str) -> list[Path]:
    base = SAMPLES / "servers"
    return sorted([base / name, *base.glob(f"v2.*/{name}")])


def _inst_for(version: str) -> router_pb2.Instance:
    inst = instance()
    # Nova's 2.69 samples are the views of an instance whose cell is down.
    inst.unreachable = version == "2.69"
    return inst


def _ctx(version: str, template: dict[str, Any]) -> ViewContext:
    admin = "OS-EXT-SRV-ATTR:host" in template
    return ViewContext(parse(version), "http://openstack.example.com", is_admin=admin)


@pytest.mark.parametrize("path", _templates("server-get-resp.json.tpl"), ids=_version_of)
def test_show_keys_match_templates(path: Path) -> None:
    expected = load(path)["server"]
    version = _version_of(path)
    view = server_views.detail(_ctx(version, expected), _inst_for(version), show=True)
    assert sorted(view) == sorted(expected)
    assert sorted(view["flavor"]) == sorted(expected["flavor"])
    assert sorted(view["image"]) == sorted(expected["image"])
    if "addresses" in expected:
        assert sorted(view["addresses"]["private"][0]) == sorted(
            expected["addresses"]["private"][0]
        )


@pytest.mark.parametrize("path", _templates("servers-details-resp.json.tpl"), ids=_version_of)
def test_detail_keys_match_templates(path: Path) -> None:
    expected = load(path)["servers"][0]
    version = _version_of(path)
    view = server_views.detail(_ctx(version, expected), _inst_for(version))
    assert sorted(view) == sorted(expected)


@pytest.mark.parametrize("path", _templates("server-update-resp.json.tpl"), ids=_version_of)
def test_update_keys_match_templates(path: Path) -> None:
    expected = load(path)["server"]
    version = _version_of(path)
    full = parse(version).at_least("2.75")
    view = server_views.detail(_ctx(version, expected), instance(), show=True, full=full)
    assert sorted(view) == sorted(expected)


def test_status_mapping() -> None:
    inst = instance()
    cases = [
        ("active", "", "ACTIVE"),
        ("active", "rebooting", "REBOOT"),
        ("active", "rebooting_hard", "HARD_REBOOT"),
        ("active", "powering-off", "ACTIVE"),
        ("stopped", "", "SHUTOFF"),
        ("stopped", "resize_prep", "RESIZE"),
        ("building", "scheduling", "BUILD"),
        ("resized", "", "VERIFY_RESIZE"),
        ("resized", "resize_reverting", "REVERT_RESIZE"),
        ("error", "rebuilding", "REBUILD"),
        ("shelved_offloaded", "", "SHELVED_OFFLOADED"),
        ("bogus", "", "UNKNOWN"),
    ]
    for vm_state, task_state, status in cases:
        inst.vm_state, inst.task_state = vm_state, task_state
        assert server_views.server_status(inst) == status, (vm_state, task_state)


def flavor() -> models.Flavor:
    return models.Flavor(
        flavorid="1",
        name="m1.tiny",
        memory_mb=512,
        vcpus=1,
        root_gb=1,
        ephemeral_gb=0,
        swap=0,
        rxtx_factor=1.0,
        disabled=False,
        is_public=True,
        description=None,
        extra_specs=[],
        projects=[],
    )


def _flavor_templates(name: str) -> list[Path]:
    base = SAMPLES / "flavors"
    return sorted([base / name, *base.glob(f"v2.*/{name}")])


@pytest.mark.parametrize("path", _flavor_templates("flavor-get-resp.json.tpl"), ids=_version_of)
def test_flavor_show_keys(path: Path) -> None:
    expected = load(path)["flavor"]
    ctx = ViewContext(parse(_version_of(path)), "http://openstack.example.com", is_admin=True)
    assert sorted(flavor_views.detail(ctx, flavor(), extra_specs=True)) == sorted(expected)


@pytest.mark.parametrize("path", _flavor_templates("flavors-list-resp.json.tpl"), ids=_version_of)
def test_flavor_list_keys(path: Path) -> None:
    expected = load(path)["flavors"][0]
    ctx = ViewContext(parse(_version_of(path)), "http://openstack.example.com")
    assert sorted(flavor_views.summary(ctx, flavor())) == sorted(expected)


def test_swap_zero_is_empty_string_before_275() -> None:
    old = ViewContext(parse("2.74"), "http://x")
    new = ViewContext(parse("2.75"), "http://x")
    assert flavor_views.detail(old, flavor(), False)["swap"] == ""
    assert flavor_views.detail(new, flavor(), False)["swap"] == 0


def test_version_documents_match_templates() -> None:
    base = "http://openstack.example.com"
    text = (SAMPLES / "versions/versions-get-resp.json.tpl").read_text()
    expected = json.loads(text.replace("%(host)s", base).replace("%(max_api_version)s", "2.104"))
    assert version_views.versions(base) == expected
    text = (SAMPLES / "versions/v21-version-get-resp.json.tpl").read_text()
    expected = json.loads(text.replace("%(host)s", base).replace("%(max_api_version)s", "2.104"))
    assert version_views.version("v2.1", base) == expected
    text = (SAMPLES / "versions/v2-version-get-resp.json.tpl").read_text()
    assert version_views.version("v2.0", base) == json.loads(text.replace("%(host)s", base))
