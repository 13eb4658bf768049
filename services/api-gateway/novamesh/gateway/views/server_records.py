"""Views of instance actions and migrations, per microversion (Nova's os-instance-actions,
os-migrations and server-migrations)."""

from __future__ import annotations

import hashlib
from typing import Any

from novamesh.cells.v1 import actions_pb2
from novamesh.gateway.views.common import ViewContext, links, strtime, to_datetime


def _time(ts: Any) -> str | None:
    return strtime(to_datetime(ts))


def _host_id(project_id: str, host: str) -> str:
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def action(ctx: ViewContext, a: actions_pb2.InstanceActionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "action": a.action,
        "instance_uuid": a.instance_uuid,
        "request_id": a.request_id,
        "user_id": a.user_id or None,
        "project_id": a.project_id or None,
        "start_time": _time(a.start_time),
        "message": a.message or None,
    }
    if ctx.v("2.58"):
        out["updated_at"] = _time(a.updated_at)
    return out


def action_detail(
    ctx: ViewContext,
    a: actions_pb2.InstanceActionRecord,
    show_events: bool,
    show_host: bool,
    show_details: bool,
) -> dict[str, Any]:
    """`show_events`: admins always, everyone from 2.51; hosts and tracebacks are admins'."""
    out = action(ctx, a)
    if not show_events:
        return out
    events = []
    for e in a.events:
        event: dict[str, Any] = {
            "event": e.event,
            "start_time": _time(e.start_time),
            "finish_time": _time(e.finish_time),
            "result": e.result or None,
        }
        if show_host:
            event["traceback"] = e.traceback or None
        if ctx.v("2.62"):
            if show_host:
                event["host"] = e.host
            event["hostId"] = _host_id(a.project_id, e.host)
        if ctx.v("2.84") and show_details:
            event["details"] = e.details or None
        events.append(event)
    out["events"] = events
    return out


def migration(ctx: ViewContext, m: actions_pb2.Migration) -> dict[str, Any]:
    out: dict[str, Any] = {
        "created_at": _time(m.created_at),
        "dest_compute": m.dest_compute or None,
        "dest_host": m.dest_host or None,
        "dest_node": m.dest_node or None,
        "id": m.id,
        "instance_uuid": m.instance_uuid,
        "new_instance_type_id": _flavor_id(m.new_flavor_id),
        "old_instance_type_id": _flavor_id(m.old_flavor_id),
        "source_compute": m.source_compute or None,
        "source_node": m.source_node or None,
        "status": m.status,
        "updated_at": _time(m.updated_at),
    }
    if ctx.v("2.23"):
        out["migration_type"] = m.migration_type
        if m.migration_type == "live-migration" and m.status in _LIVE_RUNNING:
            out["links"] = links(ctx, f"servers/{m.instance_uuid}/migrations", str(m.id))
    if ctx.v("2.59"):
        out["uuid"] = m.uuid
    if ctx.v("2.80"):
        out["user_id"] = m.user_id or None
        out["project_id"] = m.project_id or None
    return out


_LIVE_RUNNING = ("queued", "preparing", "running")


def _flavor_id(value: str) -> int | str | None:
    # Nova shows the flavors' internal integer ids; the mesh keys flavors by flavorid, which
    # is an integer for the usual flavors.
    if not value:
        return None
    return int(value) if value.isdigit() else value
