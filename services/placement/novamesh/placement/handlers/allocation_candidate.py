"""GET /allocation_candidates: query parsing and rendering; the search is objects/candidates."""

from __future__ import annotations

import json
import re
from typing import Any

from novamesh.placement import errors, http
from novamesh.placement.handlers import util
from novamesh.placement.objects import candidates, resource_classes, traits
from novamesh.placement.objects.snapshot import Snapshot
from novamesh.placement.schemas.common import GROUP_PAT, GROUP_PAT_1_33

_KEYS = "resources|required|member_of|in_tree"


def _query_schema(v: http.Version) -> dict[str, Any]:
    """Upstream's query schema at `v`: keys appear with the microversion that added them."""
    pat = GROUP_PAT_1_33 if v.at_least(33) else GROUP_PAT
    props: dict[str, Any] = {}
    if v.at_least(16):
        props["limit"] = {"type": "string", "pattern": "^[1-9][0-9]*$"}
    if v.at_least(25):
        props["group_policy"] = {"type": "string", "enum": ["none", "isolate"]}
    if v.at_least(35):
        props["root_required"] = {"type": "string"}
    if v.at_least(36):
        props["same_subtree"] = {"type": "string"}
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    keys = ["resources", "required", "member_of"] + (["in_tree"] if v.at_least(31) else [])
    if v.at_least(25):
        # One pattern per key, as upstream: its error message lists them.
        schema["patternProperties"] = {f"^{key}({pat})?$": {"type": "string"} for key in keys}
    else:
        props["resources"] = {"type": "string"}
        if v.at_least(17):
            props["required"] = {"type": "string"}
        if v.at_least(21):
            props["member_of"] = {"type": "string"}
        schema["required"] = ["resources"]
    return schema


def _groups(req: http.Request) -> dict[str, candidates.Group]:
    v = req.version
    pat = re.compile(rf"^({_KEYS})({GROUP_PAT_1_33 if v.at_least(33) else GROUP_PAT})?$")
    groups: dict[str, candidates.Group] = {}
    for key in req.query:
        m = pat.match(key)
        if not m:
            continue
        prefix, suffix = m.group(1), m.group(2) or ""
        g = groups.setdefault(suffix, candidates.Group(suffix=suffix))
        if prefix == "resources":
            g.resources = util.resources_param(req.qs(key) or "")
        elif prefix == "required":
            required, forbidden = util.required_params(req, suffix)
            g.required, g.forbidden = required, frozenset(forbidden)
        elif prefix == "member_of":
            member_of, forbidden_aggs = util.member_of_params(req, suffix)
            g.member_of, g.forbidden_aggs = member_of, frozenset(forbidden_aggs)
        else:
            g.in_tree = util.in_tree_param(req.qs(key) or "")
    return groups


def _validate_groups(
    req: http.Request, groups: dict[str, candidates.Group], subtrees: list[frozenset[str]]
) -> None:
    v = req.version
    if v.at_least(36):
        resourceless = {s for s, g in groups.items() if not g.resources}
        if len(resourceless) == len(groups):
            raise errors.invalid(
                "There must be at least one resources or resources[$S] parameter.",
                errors.QUERYPARAM_MISSING_VALUE,
            )
        in_subtree = set().union(*subtrees) if subtrees else set()
        bad = sorted(s for s in resourceless if s not in in_subtree)
        if bad:
            raise errors.invalid(
                "Resourceless suffixed group request should be specified in `same_subtree` "
                f"query param: bad group(s) - {bad}.",
                errors.QUERYPARAM_BAD_VALUE,
            )
        unknown = sorted(s for s in in_subtree if s not in groups)
        if unknown:
            raise errors.invalid(
                f"Real suffixes should be specified in `same_subtree`: {unknown} not found in "
                f"{list(groups)}.",
                errors.QUERYPARAM_BAD_VALUE,
            )
    else:
        orphans = [f"required{s}" for s, g in groups.items() if g.required and not g.resources]
        if orphans:
            raise errors.invalid(
                "All traits parameters must be associated with resources.  Found the following "
                f"orphaned traits keys: {', '.join(orphans)}"
            )
        orphans = [
            f"member_of{s}"
            for s, g in groups.items()
            if not g.resources and (g.member_of or g.forbidden_aggs)
        ]
        if orphans:
            raise errors.invalid(
                "All member_of parameters must be associated with resources. Found the "
                f"following orphaned member_of keys: {', '.join(orphans)}"
            )
        if not all(g.resources for g in groups.values()):
            raise errors.invalid("All request groups must specify resources.")
        if not groups:
            raise errors.invalid(
                "At least one request group (`resources` or `resources{$S}`) is required."
            )
    if v.at_least(22):
        conflicts = sorted(
            f"required{s}: ({', '.join(sorted(any_of))})"
            for s, g in groups.items()
            for any_of in g.required
            if all(t in g.forbidden for t in any_of)
        )
        if conflicts:
            raise errors.invalid(
                "Conflicting required and forbidden traits found in the following traits "
                f"keys: {', '.join(conflicts)}"
            )


async def _check_names(
    req: http.Request, groups: dict[str, candidates.Group], anchors: set[str]
) -> None:
    rcs = {rc for g in groups.values() for rc in g.resources}
    known_rc = {n for n, _ in await resource_classes.list_all(req.store)}
    for rc in sorted(rcs):
        if rc not in known_rc:
            raise errors.invalid(
                f"Invalid resource class in resources parameter: No such resource class {rc}."
            )
    names = set(anchors)
    for g in groups.values():
        names |= set().union(*g.required) if g.required else set()
        names |= g.forbidden
    if names:
        known = {n for n, _ in await traits.list_names(req.store, sorted(names), None, None)}
        missing = sorted(names - known)
        if missing:
            raise errors.invalid(f"No such trait(s): {', '.join(missing)}.")


def _parse(req: http.Request) -> candidates.Query:
    v = req.version
    http.validate_query(req, _query_schema(v))
    raw_limit = next(iter(req.qs_all("limit")), None)  # the first wins, as upstream
    limit = int(raw_limit) if raw_limit else None
    root_req: set[str] = set()
    root_forb: set[str] = set()
    roots = req.qs_all("root_required")
    if roots and v.at_least(35):
        if len(roots) > 1:
            raise errors.invalid(
                "Query parameter 'root_required' may be specified only once.",
                errors.ILLEGAL_DUPLICATE_QUERYPARAM,
            )
        required, root_forb = util.traits_param(roots[0], True, False)
        root_req = {next(iter(r)) for r in required}
        conflicts = sorted(root_req & root_forb)
        if conflicts:
            raise errors.invalid(
                "Conflicting required and forbidden traits found in root_required: "
                + ", ".join(conflicts),
                errors.QUERYPARAM_BAD_VALUE,
            )
    subtrees: list[frozenset[str]] = []
    for val in req.qs_all("same_subtree") if v.at_least(36) else []:
        suffixes = frozenset(s.strip() for s in val.split(","))
        if "" in suffixes:
            raise errors.invalid(
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
                errors.QUERYPARAM_BAD_VALUE,
            )
        subtrees.append(suffixes)
    groups = _groups(req)
    _validate_groups(req, groups, subtrees)
    # The first group_policy wins, as upstream.
    policy = next(iter(req.qs_all("group_policy")), None)
    if v.at_least(25) and policy is None and len([s for s in groups if s]) > 1:
        raise errors.invalid(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.'
        )
    return candidates.Query(
        groups=list(groups.values()),
        group_policy=policy,
        limit=limit,
        root_required=frozenset(root_req),
        root_forbidden=frozenset(root_forb),
        same_subtrees=subtrees,
        nested_aware=v.at_least(29),
    )


# Answers can be megabytes: no spaces after separators (an eighth less to send and parse).
_COMPACT = (",", ":")


def render(
    snap: Snapshot, result: candidates.Result, q: candidates.Query, v: http.Version
) -> bytes:
    """The JSON answer, encoded."""
    requested = {rc for g in q.groups for rc in g.resources}
    areqs: list[dict[str, Any]] = []
    for c in result.candidates:
        per_rp: dict[str, dict[str, int]] = {}
        for pid, rc, amount in c.resources:
            res = per_rp.setdefault(snap.by_id[pid].uuid, {})
            res[rc] = res.get(rc, 0) + amount
        if v.at_least(12):
            areq: dict[str, Any] = {"allocations": {u: {"resources": r} for u, r in per_rp.items()}}
        else:
            areq = {
                "allocations": [
                    {"resource_provider": {"uuid": u}, "resources": r} for u, r in per_rp.items()
                ]
            }
        if v.at_least(34):
            areq["mappings"] = {s: sorted(snap.by_id[i].uuid for i in ids) for s, ids in c.mappings}
        areqs.append(areq)
    # Provider summaries are most of a large answer, and the same in every answer until the
    # provider changes: each is encoded once per provider version (a changed provider is a new
    # Provider object in the next snapshot) and spliced in.
    shape = (v.at_least(17), v.at_least(29), True if v.at_least(27) else frozenset(requested))
    parts = []
    for pid in result.summaries:
        memo = snap.by_id[pid].memo
        part = memo.get(shape)
        if part is None:
            part = memo[shape] = _summary(snap, pid, v, requested)
        parts.append(part)
    return (
        '{"allocation_requests":'
        + json.dumps(areqs, separators=_COMPACT)
        + ',"provider_summaries":{'
        + ",".join(parts)
        + "}}"
    ).encode()


def _summary(snap: Snapshot, pid: int, v: http.Version, requested: set[str]) -> str:
    """One provider's `"uuid": {summary}` member, JSON-encoded."""
    p = snap.by_id[pid]
    res_sum = {
        rc: {"capacity": inv.capacity, "used": p.usages.get(rc, 0)}
        for rc, inv in p.inventories.items()
        if v.at_least(27) or rc in requested
    }
    s: dict[str, Any] = {"resources": res_sum}
    if v.at_least(17):
        # Upstream lists traits in creation order: the standard ones, then custom ones.
        s["traits"] = sorted(p.traits, key=lambda t: (t.startswith("CUSTOM_"), t))
    if v.at_least(29):
        s["parent_provider_uuid"] = snap.parent_uuid(p)
        s["root_provider_uuid"] = snap.by_id[p.root_id].uuid
    return f"{json.dumps(p.uuid)}:{json.dumps(s, separators=_COMPACT)}"


# Memoised answers per snapshot: at most this many, and this many bytes (oldest go first).
_MEMO_SIZE = 64
_MEMO_BYTES = 32 * 1024 * 1024


def _remember(snap: Snapshot, key: tuple[Any, ...], body: bytes) -> None:
    if key in snap.memo:  # computed meanwhile by a concurrent request
        return
    answers: list[tuple[Any, ...]] = snap.memo.setdefault("answers", [])
    snap.memo[key] = body
    answers.append(key)
    snap.memo["bytes"] = snap.memo.get("bytes", 0) + len(body)
    while len(answers) > 1 and (len(answers) > _MEMO_SIZE or snap.memo["bytes"] > _MEMO_BYTES):
        snap.memo["bytes"] -= len(snap.memo.pop(answers.pop(0)))


async def list_candidates(req: http.Request) -> http.Response:
    # The answer depends only on the query, the microversion and the placement state, and a
    # snapshot is one immutable state: a repeated query is served from the snapshot's memo.
    # Any write moves to a new snapshot, so nothing stale is ever served.
    snap = await req.store.view()
    query = tuple(sorted((k, tuple(v)) for k, v in req.query.items()))
    key = ("allocation_candidates", str(req.version), query)
    body = snap.memo.get(key)
    if body is None:
        q = _parse(req)
        await _check_names(
            req, {g.suffix: g for g in q.groups}, set(q.root_required) | set(q.root_forbidden)
        )
        result = candidates.find(snap, q)
        body = render(snap, result, q, req.version)
        _remember(snap, key, body)
    return http.ok(body, req.version)
