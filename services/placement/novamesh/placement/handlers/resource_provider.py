"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import providers, resource_classes, traits
from novamesh.placement.objects.snapshot import Provider, Snapshot
from novamesh.placement.schemas import resource_provider as schema


async def create(req: http.Request) -> http.Response:
    data = http.extract_json(req, schema.post(req.version.at_least(14)))
    uuid = await providers.create(
        req.store, data["name"], data.get("uuid"), data.get("parent_provider_uuid")
    )
    headers = [("location", f"/resource_providers/{uuid}")]
    if not req.version.at_least(20):
        return http.Response(201, None, headers)
    snap = await req.store.view()
    p = util.provider_or_404(snap, uuid)
    resp = http.ok(util.render_provider(snap, p, req.version), req.version, util.stamp(p))
    resp.headers = headers
    return resp


async def show(req: http.Request) -> http.Response:
    snap = await req.store.view()
    p = util.provider_or_404(snap, req.params["uuid"])
    return http.ok(util.render_provider(snap, p, req.version), req.version, util.stamp(p))


async def update(req: http.Request) -> http.Response:
    uuid = req.params["uuid"]
    util.provider_or_404(await req.store.view(), uuid)
    data = http.extract_json(req, schema.put(req.version.at_least(14)))
    await providers.update_provider(
        req.store,
        uuid,
        data.get("name"),
        data.get("parent_provider_uuid"),
        set_parent="parent_provider_uuid" in data,
        allow_reparenting=req.version.at_least(37),
    )
    snap = await req.store.view()
    p = util.provider_or_404(snap, uuid)
    return http.ok(util.render_provider(snap, p, req.version), req.version, util.stamp(p))


async def delete(req: http.Request) -> http.Response:
    await providers.delete_provider(req.store, req.params["uuid"])
    return http.no_content()


async def list_providers(req: http.Request) -> http.Response:
    v = req.version
    http.validate_query(req, schema.query(v.minor))
    snap = await req.store.view()
    found: list[Provider] = sorted(snap.by_id.values(), key=lambda p: p.id)
    if (name := req.qs("name")) is not None:
        found = [p for p in found if p.name == name]
    if (uuid := req.qs("uuid")) is not None:
        found = [p for p in found if p.uuid == uuid]
    if (tree := req.qs("in_tree")) is not None:
        anchor = snap.by_uuid.get(tree)
        found = [p for p in found if anchor is not None and p.root_id == anchor.root_id]
    if "member_of" in req.query:
        required, forbidden = util.member_of_params(req)
        found = [
            p
            for p in found
            if all(p.aggregates & any_of for any_of in required) and not (p.aggregates & forbidden)
        ]
    if "required" in req.query:
        required_t, forbidden_t = util.required_params(req)
        wanted = set().union(*required_t) | forbidden_t
        known = {name for name, _ in await traits.list_names(req.store, sorted(wanted), None, None)}
        missing = sorted(wanted - known)
        if missing:
            raise errors.invalid(
                'Invalid trait(s) in "required" parameter: No such trait(s): '
                + ", ".join(missing)
                + "."
            )
        found = [
            p
            for p in found
            if all(p.traits & any_of for any_of in required_t) and not (p.traits & forbidden_t)
        ]
    if (res := req.qs("resources")) is not None:
        wanted_res = util.resources_param(res)
        known_rc = {n for n, _ in await resource_classes.list_all(req.store)}
        for rc in wanted_res:
            if rc not in known_rc:
                raise errors.invalid(
                    f"Invalid resource class in resources parameter: No such resource class {rc}."
                )
        found = [p for p in found if all(_has_room(p, rc, n) for rc, n in wanted_res.items())]
    return _render_list(snap, found, v)


def _has_room(p: Provider, rc: str, amount: int) -> bool:
    # Capacity, min_unit, max_unit and step_size, as for allocation candidates.
    return p.can_take(rc, amount)


def _render_list(snap: Snapshot, found: list[Provider], v: http.Version) -> http.Response:
    stamps = [s for p in found if (s := util.stamp(p)) is not None]
    body = {"resource_providers": [util.render_provider(snap, p, v) for p in found]}
    return http.ok(body, v, max(stamps) if stamps else None)
