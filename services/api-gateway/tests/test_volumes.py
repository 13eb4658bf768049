"""Volumes: the os-volumes proxy's records (up to 2.35) and os-volume_attachments (attach,
list, show, swap, 2.85 delete_on_termination, detach) with the record's status kept in step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from novamesh.gateway.testing.harness import Gateway, Response
from novamesh.gateway.testing.subresources import boot, gateway


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with gateway(tmp_path) as gw:
        yield gw


async def rest(
    gw: Gateway,
    rpc: str,
    path: str,
    id: str = "",
    sub_id: str = "",
    body: Any = None,
    version: str = "2.1",
    token: str = "alice:p1",
) -> Response:
    return await gw.rest(
        f"volumes.{rpc}",
        id=id,
        sub_id=sub_id,
        path=path,
        body=body,
        version=version,
        token=token,
    )


async def new_volume(gw: Gateway, name: str = "data", size: int = 1) -> str:
    body = {"volume": {"size": size, "display_name": name, "availability_zone": "nova"}}
    resp = await rest(gw, "CreateVolume", "/v2.1/os-volumes", body=body)
    assert resp.status == 200, resp.message
    return str(resp.body["volume"]["id"])


async def volume(gw: Gateway, vid: str) -> dict[str, Any]:
    resp = await rest(gw, "GetVolume", f"/v2.1/os-volumes/{vid}", id=vid)
    assert resp.status == 200, resp.message
    found: dict[str, Any] = resp.body["volume"]
    return found


async def test_volume_records(gw: Gateway) -> None:
    vid = await new_volume(gw)
    shown = await volume(gw, vid)
    assert shown["status"] == "available" and shown["attachments"] == [{}]
    assert (shown["displayName"], shown["size"], shown["availabilityZone"]) == ("data", 1, "nova")
    listed = await rest(gw, "ListVolumesDetail", "/v2.1/os-volumes/detail")
    assert [v["id"] for v in listed.body["volumes"]] == [vid]
    other = await rest(gw, "GetVolume", f"/v2.1/os-volumes/{vid}", id=vid, token="eve:p9")
    assert (other.status, other.message) == (404, f"Volume {vid} could not be found.")
    resp = await rest(gw, "CreateVolume", "/v2.1/os-volumes", body={"volume": {"size": 0}})
    assert resp.status == 400
    resp = await rest(gw, "ListVolumes", "/v2.1/os-volumes", version="2.36")
    assert resp.status == 404
    assert (await rest(gw, "DeleteVolume", f"/v2.1/os-volumes/{vid}", id=vid)).status == 202
    assert (await rest(gw, "ListVolumes", "/v2.1/os-volumes")).body == {"volumes": []}


async def test_attach_swap_detach(gw: Gateway) -> None:
    sid = await boot(gw)
    vid = await new_volume(gw)
    base = f"/v2.1/servers/{sid}/os-volume_attachments"
    body = {"volumeAttachment": {"volumeId": vid, "tag": "db", "delete_on_termination": True}}
    resp = await rest(gw, "AttachVolume", base, id=sid, body=body, version="2.79")
    assert resp.status == 200, resp.message
    att = resp.body["volumeAttachment"]
    assert att == {
        "device": "/dev/vdb",
        "id": vid,
        "serverId": sid,
        "volumeId": vid,
        "tag": "db",
        "delete_on_termination": True,
    }
    shown = await volume(gw, vid)
    assert shown["status"] == "in-use"
    assert shown["attachments"] == [
        {"device": "/dev/vdb", "id": vid, "serverId": sid, "volumeId": vid}
    ]
    # The same volume twice, or an attached one to another server: a 400.
    again = await rest(gw, "AttachVolume", base, id=sid, body=body, version="2.79")
    assert again.status == 400 and "status must be 'available'" in again.message

    listed = await rest(gw, "ListVolumeAttachments", base, id=sid, version="2.89")
    (entry,) = listed.body["volumeAttachments"]
    assert "id" not in entry and entry["attachment_id"] and entry["bdm_uuid"]

    # 2.85: the owner flips delete_on_termination; a swap needs an admin.
    flip = {"volumeAttachment": {"volumeId": vid, "delete_on_termination": False}}
    resp = await rest(gw, "UpdateVolumeAttachment", f"{base}/{vid}", sid, vid, flip, "2.85")
    assert resp.status == 202, resp.message
    shown_att = await rest(gw, "GetVolumeAttachment", f"{base}/{vid}", sid, vid, version="2.85")
    assert shown_att.body["volumeAttachment"]["delete_on_termination"] is False
    target = await new_volume(gw, "bigger", 2)
    swap = {"volumeAttachment": {"volumeId": target}}
    resp = await rest(gw, "UpdateVolumeAttachment", f"{base}/{vid}", sid, vid, swap)
    assert resp.status == 403
    resp = await rest(gw, "UpdateVolumeAttachment", f"{base}/{vid}", sid, vid, swap, token="admin")
    assert resp.status == 202, resp.message
    assert (await volume(gw, vid))["status"] == "available"
    assert (await volume(gw, target))["status"] == "in-use"

    resp = await rest(gw, "DetachVolume", f"{base}/{target}", sid, target)
    assert resp.status == 202
    assert (await volume(gw, target))["status"] == "available"
    assert (await rest(gw, "ListVolumeAttachments", base, id=sid)).body == {"volumeAttachments": []}
    resp = await rest(gw, "DetachVolume", f"{base}/{target}", sid, target)
    assert resp.status == 404


async def test_refused_attach_leaves_the_volume_available(gw: Gateway) -> None:
    sid = await boot(gw)
    vid = await new_volume(gw)
    assert gw.devices is not None
    gw.devices.refuse = True
    base = f"/v2.1/servers/{sid}/os-volume_attachments"
    body = {"volumeAttachment": {"volumeId": vid}}
    resp = await rest(gw, "AttachVolume", base, id=sid, body=body)
    assert resp.status == 409
    assert (await volume(gw, vid))["status"] == "available"
    missing = {"volumeAttachment": {"volumeId": "44444444-4444-4444-4444-444444444444"}}
    assert (await rest(gw, "AttachVolume", base, id=sid, body=missing)).status == 404
    inst = gw.router.instances[sid]
    inst.vm_state = "building"
    resp = await rest(gw, "AttachVolume", base, id=sid, body=body)
    assert resp.status == 409 and "vm_state building" in resp.message
    bad = {"volumeAttachment": {"volumeId": vid, "tag": "t"}}
    assert (await rest(gw, "AttachVolume", base, id=sid, body=bad, version="2.48")).status == 400


async def test_a_deleted_servers_volume_is_available_again(gw: Gateway) -> None:
    sid = await boot(gw)
    vid = await new_volume(gw)
    base = f"/v2.1/servers/{sid}/os-volume_attachments"
    body = {"volumeAttachment": {"volumeId": vid}}
    assert (await rest(gw, "AttachVolume", base, id=sid, body=body)).status == 200
    del gw.router.instances[sid]
    shown = await volume(gw, vid)
    assert (shown["status"], shown["attachments"]) == ("available", [{}])


async def test_attach_answer_keeps_the_volume_id_from_2_89(gw: Gateway) -> None:
    """Nova answers an attach with `id` (the volume id) at every microversion; only list and
    show name the attachment and BDM ids from 2.89 (regression: the suite's 2.89 sample)."""
    sid = await boot(gw)
    vid = await new_volume(gw)
    base = f"/v2.1/servers/{sid}/os-volume_attachments"
    body = {"volumeAttachment": {"volumeId": vid, "tag": "db"}}
    resp = await rest(gw, "AttachVolume", base, id=sid, body=body, version="2.89")
    assert resp.status == 200, resp.message
    assert resp.body["volumeAttachment"] == {
        "device": resp.body["volumeAttachment"]["device"],
        "id": vid,
        "serverId": sid,
        "volumeId": vid,
        "tag": "db",
        "delete_on_termination": False,
    }
    shown = await rest(gw, "GetVolumeAttachment", f"{base}/{vid}", sid, vid, version="2.89")
    assert "id" not in shown.body["volumeAttachment"]
    assert shown.body["volumeAttachment"]["bdm_uuid"]
