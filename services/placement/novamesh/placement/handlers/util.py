"""Helpers shared by handlers: provider rendering and the query-string grammars."""

from __future__ import annotations

import datetime as dt
from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.objects.snapshot import Provider, Snapshot


def provider_or_404(snap: Snapshot, uuid: str) -> Provider:
    p = snap.by_uuid.get(uuid)
    if p is None:
        raise errors.not_found(
            f"No resource provider with uuid {uuid} found", errors.RESOURCE_PROVIDER_NOT_FOUND
        )
    return p


def provider_links(uuid: str, v: http.Version) -> list[dict[str, str]]:
    url = f"/resource_providers/{uuid}"
    rels = ["inventories", "usages"]
    if v.at_least(1):
        rels.append("aggregates")
    if v.at_least(6):
        rels.append("traits")
    if v.at_least(11):
        rels.append("allocations")
    return [{"rel": "self", "href": url}] + [{"rel": r, "href": f"{url}/{r}"} for r in rels]


def render_provider(snap: Snapshot, p: Provider, v: http.Version) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uuid": p.uuid,
        "name": p.name,
        "generation": p.generation,
        "links": provider_links(p.uuid, v),
    }
    if v.at_least(14):
        data["parent_provider_uuid"] = snap.parent_uuid(p)
        data["root_provider_uuid"] = snap.by_id[p.root_id].uuid
    return data


def stamp(p: Provider) -> dt.datetime | None:
    return p.updated_at or p.created_at


def resources_param(value: str) -> dict[str, int]:
    form = "?resources=VCPU:2,MEMORY_MB:1024"
    if value.strip() == "":
        raise errors.invalid(
            "Badly formed resources parameter. Expected resources query string parameter "
            f"in form: {form}. Got: empty string."
        )
    out: dict[str, int] = {}
    for item in value.split(","):
        bits = item.split(":")
        if len(bits) != 2:
            raise errors.invalid(
                "Badly formed resources parameter. Expected resources query string parameter "
                f"in form: {form}. Got: {item}."
            )
        rc, raw = bits
        try:
            amount = int(raw)
        except ValueError as exc:
            raise errors.invalid(
                f"Requested resource {rc} expected positive integer amount. Got: {raw}."
            ) from exc
        if amount < 1:
            raise errors.invalid(f"Requested resource {rc} requires amount >= 1. Got: {amount}.")
        out[rc] = amount
    return out


def traits_param(
    value: str, allow_forbidden: bool, allow_any: bool
) -> tuple[list[frozenset[str]], set[str]]:
    if value.startswith("in:"):
        if not allow_any:
            raise errors.invalid(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"only supported since microversion 1.39. Got: {value}"
            )
        any_of = {t.strip() for t in value[3:].split(",")}
        if not all(any_of):
            raise errors.invalid(
                "Invalid query string parameters: Expected 'required' parameter value of the "
                f"form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}"
            )
        if any(t.startswith("!") for t in any_of):
            raise errors.invalid(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"does not support forbidden traits. Got: {value}"
            )
        return [frozenset(any_of)], set()
    names = [t.strip() for t in value.split(",")]
    forbidden = {t[1:] for t in names if t.startswith("!")}
    expected = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
    if not all(names) or not all(forbidden):
        raise errors.invalid(
            "Invalid query string parameters: Expected 'required' parameter value of the "
            f"form: {expected}. Got an empty trait in: {value}"
        )
    if forbidden and not allow_forbidden:
        raise errors.invalid(
            "Invalid query string parameters: Expected 'required' parameter value of the "
            f"form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}"
        )
    return [frozenset([t]) for t in names if not t.startswith("!")], forbidden


def required_params(req: http.Request, suffix: str = "") -> tuple[list[frozenset[str]], set[str]]:
    values = req.qs_all("required" + suffix)
    if not req.version.at_least(39):
        values = values[-1:]
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        r, f = traits_param(value, req.version.at_least(22), req.version.at_least(39))
        required += r
        forbidden |= f
    return required, forbidden


def member_of_params(req: http.Request, suffix: str = "") -> tuple[list[frozenset[str]], set[str]]:
    values = req.qs_all("member_of" + suffix)
    if not req.version.at_least(24) and len(values) > 1:
        raise errors.invalid(f"Multiple member_of{suffix} parameters are not supported")
    required: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if "," in value and not (value.startswith("in:") or value.startswith("!in:")):
            raise errors.invalid(
                "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' "
                f"keyword using the valid microversion. Got: {value}"
            )
        req_set: set[str] = set()
        forb: set[str] = set()
        if value.startswith("!in:"):
            forb = set(value[4:].split(","))
        elif value.startswith("!"):
            forb = {value[1:]}
        elif value.startswith("in:"):
            req_set = set(value[3:].split(","))
        else:
            req_set = {value}
        for agg in req_set | forb:
            if not http.is_uuid(agg):
                raise errors.invalid(
                    "Invalid query string parameters: Expected 'member_of' parameter to "
                    f"contain valid UUID(s). Got: {agg}"
                )
        if req_set:
            required.append(frozenset(req_set))
        if forb:
            if not req.version.at_least(32):
                raise errors.invalid(
                    f"Forbidden member_of{suffix} parameters are not supported in the specified "
                    "microversion"
                )
            forbidden |= forb
    return required, forbidden


def in_tree_param(value: str) -> str:
    v = value.strip()
    if not http.is_uuid(v):
        raise errors.invalid(
            "Invalid query string parameters: Expected 'in_tree' parameter to be a format of "
            f"uuid. Got: {value}"
        )
    return v
