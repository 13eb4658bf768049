"""Server view fields whose values (not only keys) Nova users and its samples rely on."""

from __future__ import annotations

import datetime as dt
import re

from novamesh.cells.v1 import router_pb2
from novamesh.gateway.api.microversion import parse
from novamesh.gateway.views import servers as view
from novamesh.gateway.views.common import ViewContext, strtime

ADMIN = ViewContext(version=parse("2.3"), base_url="http://cloud", is_admin=True)


def _inst(**kw: object) -> router_pb2.Instance:
    inst = router_pb2.Instance(uuid="a4d9a4c7-8a4f-4d7e-8a43-7d3f4f2a1b11", vm_state="active")
    for key, value in kw.items():
        setattr(inst, key, value)
    inst.launched_at.FromDatetime(dt.datetime(2026, 1, 2, 3, 4, 5))
    return inst


def test_instance_name_is_nova_template_of_the_row_id() -> None:
    body = view.detail(ADMIN, _inst(id=42, host="h1"))
    assert body["OS-EXT-SRV-ATTR:instance_name"] == "instance-0000002a"


def test_availability_zone_of_a_host_in_no_zone_is_the_default() -> None:
    assert view.detail(ADMIN, _inst(host="h1"))["OS-EXT-AZ:availability_zone"] == "nova"
    landed = _inst(host="h1", availability_zone="us-west")
    assert view.detail(ADMIN, landed)["OS-EXT-AZ:availability_zone"] == "us-west"
    # Not on a host yet and no zone asked for: nothing to say.
    assert view.detail(ADMIN, _inst())["OS-EXT-AZ:availability_zone"] == ""


def test_usage_times_are_iso_with_microseconds_as_nova_prints_them() -> None:
    body = view.detail(ADMIN, _inst(host="h1"))
    assert body["OS-SRV-USG:launched_at"] == "2026-01-02T03:04:05.000000"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}",
        strtime(dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)) or "",
    )
