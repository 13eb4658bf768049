"""Allocation candidates, computed over the in-memory Snapshot.

Semantics follow upstream placement: the unsuffixed group may spread its resources over
providers of one tree plus sharing providers (MISC_SHARES_VIA_AGGREGATE) anchored to that tree;
each suffixed group is satisfied by a single provider. Groups are then merged per anchor tree,
filtered by group_policy and same_subtree, and checked against capacity once consolidated.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from novamesh.placement.objects.snapshot import Provider, Snapshot


@dataclass
class Group:
    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    # AND of ORs: each entry is a set of traits of which at least one must be present.
    required: list[frozenset[str]] = field(default_factory=list)
    forbidden: frozenset[str] = frozenset()
    member_of: list[frozenset[str]] = field(default_factory=list)
    forbidden_aggs: frozenset[str] = frozenset()
    in_tree: str | None = None

    @property
    def use_same_provider(self) -> bool:
        return self.suffix != ""

    @functools.cached_property
    def must_have(self) -> tuple[frozenset[str], list[frozenset[str]]]:
        """`required` split into traits that must all be present and any-of sets (read once
        the group is complete: it is cached)."""
        single = frozenset(t for any_of in self.required if len(any_of) == 1 for t in any_of)
        return single, [any_of for any_of in self.required if len(any_of) > 1]


@dataclass
class Query:
    groups: list[Group]
    group_policy: str | None = None
    limit: int | None = None
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    same_subtrees: list[frozenset[str]] = field(default_factory=list)
    nested_aware: bool = True


# One way to satisfy one group: (provider id, rc, amount) triples plus which providers
# satisfied which suffix.
Resources = tuple[tuple[int, str, int], ...]


@dataclass(frozen=True)
class Candidate:
    anchor: int
    resources: Resources
    mappings: tuple[tuple[str, frozenset[int]], ...]
    same_provider: bool = False


@dataclass
class Result:
    candidates: list[Candidate]
    # provider ids to summarise
    summaries: list[int]


def _traits_ok(traits: frozenset[str], g: Group) -> bool:
    single, any_ofs = g.must_have
    return single <= traits and all(any_of & traits for any_of in any_ofs)


def _aggs_ok(p: Provider, g: Group) -> bool:
    return all(p.aggregates & any_of for any_of in g.member_of) and not (
        p.aggregates & g.forbidden_aggs
    )


class _Search:
    def __init__(self, snap: Snapshot, q: Query) -> None:
        self.snap = snap
        self.q = q
        self.anchor_ok: set[int] | None = None
        if q.root_required or q.root_forbidden:
            self.anchor_ok = {
                p.id
                for p in snap.by_id.values()
                if p.parent_id is None
                and q.root_required <= p.traits
                and not (q.root_forbidden & p.traits)
            }
        self.roots_seen: set[int] = set()
        self._anchors: dict[int, set[int]] = {}
        self._ancestors: dict[int, frozenset[int]] = {}

    def anchors_of_sharing(self, p: Provider) -> set[int]:
        """Roots of every tree that has a provider in an aggregate with sharing provider p."""
        got = self._anchors.get(p.id)
        if got is None:
            got = {p.root_id}
            for agg in p.aggregates:
                for member in self.snap.agg_members.get(agg, ()):
                    got.add(self.snap.by_id[member].root_id)
            self._anchors[p.id] = got
        return got

    def tree_root(self, g: Group) -> int | bool | None:
        if g.in_tree is None:
            return None
        p = self.snap.by_uuid.get(g.in_tree)
        return False if p is None else p.root_id

    def with_resource(self, rc: str, amount: int, tree: int | None) -> list[Provider]:
        return [
            p
            for p in self.snap.by_rc.get(rc, ())
            if (tree is None or p.root_id == tree) and p.can_take(rc, amount)
        ]

    def single(self, g: Group) -> list[Candidate]:
        tree = self.tree_root(g)
        if tree is False:
            return []
        assert tree is not True
        if g.resources:
            pools = sorted(
                (self.with_resource(rc, amt, tree) for rc, amt in g.resources.items()),
                key=len,
            )
            ids = {p.id for p in pools[0]}
            for pool in pools[1:]:
                ids &= {p.id for p in pool}
            found = [self.snap.by_id[i] for i in sorted(ids)]
        else:
            found = [p for p in self.snap.by_id.values() if tree is None or p.root_id == tree]
        out: list[Candidate] = []
        res_items = sorted(g.resources.items())
        for p in found:
            if not _traits_ok(p.traits, g) or (p.traits & g.forbidden):
                continue
            if not _aggs_ok(p, g):
                continue
            self.roots_seen.add(p.root_id)
            res = tuple((p.id, rc, amt) for rc, amt in res_items)
            mapping = ((g.suffix, frozenset([p.id])),)
            if self.anchor_ok is None or p.root_id in self.anchor_ok:
                out.append(Candidate(p.root_id, res, mapping, g.use_same_provider))
            if "MISC_SHARES_VIA_AGGREGATE" in p.traits:
                for anchor in sorted(self.anchors_of_sharing(p)):
                    if anchor == p.root_id:
                        continue
                    if self.anchor_ok is not None and anchor not in self.anchor_ok:
                        continue
                    self.roots_seen.add(anchor)
                    out.append(Candidate(anchor, res, mapping, g.use_same_provider))
        return out

    def multi(self, g: Group) -> list[Candidate]:
        tree = self.tree_root(g)
        if tree is False:
            return []
        assert tree is not True
        in_aggs: set[int] | None = None
        if g.member_of:
            in_aggs = {
                p.id
                for p in self.snap.by_id.values()
                if all(p.aggregates & any_of for any_of in g.member_of)
            }
        bad_aggs = (
            {p.id for p in self.snap.by_id.values() if p.aggregates & g.forbidden_aggs}
            if g.forbidden_aggs
            else set()
        )
        # rc -> anchor -> providers able to give the whole amount
        per_rc: dict[str, dict[int, list[Provider]]] = {}
        for rc, amt in sorted(g.resources.items()):
            by_anchor: dict[int, list[Provider]] = defaultdict(list)
            for p in self.with_resource(rc, amt, tree):
                by_anchor[p.root_id].append(p)
                shares = "MISC_SHARES_VIA_AGGREGATE" in p.traits
                if shares and tree is None and (in_aggs is None or p.id in in_aggs):
                    for anchor in sorted(self.anchors_of_sharing(p)):
                        if anchor != p.root_id:
                            by_anchor[anchor].append(p)
            for anchor in list(by_anchor):
                keep = [
                    p
                    for p in by_anchor[anchor]
                    if (self.anchor_ok is None or anchor in self.anchor_ok)
                    and (in_aggs is None or p.id in in_aggs or anchor in in_aggs)
                    and p.id not in bad_aggs
                    and anchor not in bad_aggs
                ]
                if keep:
                    by_anchor[anchor] = keep
                else:
                    del by_anchor[anchor]
            if not by_anchor:
                return []
            per_rc[rc] = by_anchor
        anchors = set.intersection(*(set(v) for v in per_rc.values())) if per_rc else set()
        out: list[Candidate] = []
        rcs = sorted(per_rc)
        for anchor in sorted(anchors):
            self.roots_seen.add(anchor)
            for combo in itertools.product(*(per_rc[rc][anchor] for rc in rcs)):
                for p in combo:
                    self.roots_seen.add(p.root_id)
                if any(p.traits & g.forbidden for p in combo):
                    continue
                union: frozenset[str] = frozenset().union(*(p.traits for p in combo))
                if not _traits_ok(union, g):
                    continue
                res = tuple((p.id, rc, g.resources[rc]) for p, rc in zip(combo, rcs, strict=True))
                mapping = ((g.suffix, frozenset(p.id for p in combo)),)
                out.append(Candidate(anchor, res, mapping, False))
        return out

    def for_group(self, g: Group) -> list[Candidate]:
        if not g.use_same_provider and (self.snap.sharing or self.snap.has_trees):
            return self.multi(g)
        return self.single(g)

    def same_subtree_ok(self, mappings: dict[str, set[int]]) -> bool:
        for suffixes in self.q.same_subtrees:
            ids: set[int] = set()
            for s in suffixes:
                ids |= mappings.get(s, set())
            if len(ids) <= 1:
                continue
            common: frozenset[int] | None = None
            for i in ids:
                anc = self.ancestor_ids(i)
                common = anc if common is None else common & anc
            if not common or not (common & ids):
                return False
        return True

    def ancestor_ids(self, pid: int) -> frozenset[int]:
        got = self._ancestors.get(pid)
        if got is None:
            got = frozenset(a.id for a in self.snap.ancestors(self.snap.by_id[pid]))
            self._ancestors[pid] = got
        return got

    def fits(self, amounts: dict[tuple[int, str], int]) -> bool:
        for (pid, rc), amt in amounts.items():
            p = self.snap.by_id[pid]
            inv = p.inventories.get(rc)
            if inv is None or amt > inv.max_unit or p.usages.get(rc, 0) + amt > inv.capacity:
                return False
        return True


def find(snap: Snapshot, q: Query) -> Result:
    s = _Search(snap, q)
    if s.anchor_ok is not None and not s.anchor_ok:
        return Result([], [])
    per_group: dict[str, list[Candidate]] = {}
    for g in q.groups:
        got = s.for_group(g)
        if not got:
            return Result([], [])
        per_group[g.suffix] = got
    suffixes = list(per_group)
    by_anchor: dict[int, dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    for suffix, cands in per_group.items():
        for c in cands:
            by_anchor[c.anchor][suffix].append(c)
    granular = sum(1 for x in suffixes if x)
    merged: dict[tuple[Resources, tuple[tuple[str, frozenset[int]], ...]], Candidate] = {}
    for anchor, groups in by_anchor.items():
        if len(groups) != len(suffixes):
            continue
        for combo in itertools.product(*(groups[x] for x in suffixes)):
            mappings: dict[str, set[int]] = defaultdict(set)
            for c in combo:
                for suffix, ids in c.mappings:
                    mappings[suffix] |= ids
            if q.group_policy == "isolate":
                used = set().union(*(next(iter(c.mappings))[1] for c in combo if c.same_provider))
                if len(used) != granular:
                    continue
            if q.same_subtrees and not s.same_subtree_ok(mappings):
                continue
            amounts: dict[tuple[int, str], int] = defaultdict(int)
            for c in combo:
                for pid, rc, amt in c.resources:
                    amounts[(pid, rc)] += amt
            if not s.fits(amounts):
                continue
            resources = tuple((pid, rc, amt) for (pid, rc), amt in sorted(amounts.items()))
            maps = tuple(sorted((k, frozenset(v)) for k, v in mappings.items()))
            # A sharing provider alone is one answer, whichever tree it was anchored to.
            merged.setdefault((resources, maps), Candidate(anchor, resources, maps))
    cands = list(merged.values())
    if not cands:
        return Result([], [])
    if not q.nested_aware and snap.has_trees:
        kept = []
        for c in cands:
            pids = {pid for pid, _, _ in c.resources}
            roots = {snap.by_id[pid].root_id for pid in pids}
            if len(pids) == len(roots):
                kept.append(c)
        cands = kept
        in_use = {pid for c in cands for pid, _, _ in c.resources}
        summaries = sorted(in_use)
    else:
        summaries = []
    if q.limit is not None and q.limit < len(cands):
        cands = cands[: q.limit]
    if q.nested_aware or not snap.has_trees:
        roots = {snap.by_id[pid].root_id for c in cands for pid, _, _ in c.resources}
        summaries = [p.id for root in sorted(roots & s.roots_seen | roots) for p in snap.tree(root)]
    else:
        in_use = {pid for c in cands for pid, _, _ in c.resources}
        summaries = [pid for pid in summaries if pid in in_use]
    return Result(cands, summaries)
