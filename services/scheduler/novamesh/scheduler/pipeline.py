"""SelectDestinations: placement candidates -> filters -> weighers -> claim -> alternates.

Everything between choosing a host and recording the pick (consume_from_request, group picks)
runs without awaiting, so concurrent requests in this process always see each other's picks;
the claim in placement is what makes several scheduler replicas safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from novamesh.common.config import SchedulerConfig
from novamesh.scheduler import prefilters, registry, resources, topology_picks
from novamesh.scheduler.explain import Explanation, NoValidHost
from novamesh.scheduler.filters import Filter
from novamesh.scheduler.filters.pci_passthrough import parse_aliases
from novamesh.scheduler.host_state import PENDING_TTL, HostState, HostStateStore
from novamesh.scheduler.placement import Placement
from novamesh.scheduler.resources import Candidate
from novamesh.scheduler.spec import InstanceGroup, RequestSpec
from novamesh.scheduler.weighers import Weigher, weigh_hosts

LOG = logging.getLogger(__name__)


@dataclass(slots=True)
class Choice:
    host: HostState
    candidate: Candidate


@dataclass(slots=True)
class Placed:
    instance_uuid: str
    chosen: Choice
    alternates: list[Choice] = field(default_factory=list)


class GroupPicks:
    """Instances this scheduler placed per server group (and where), until the feed shows them.

    Concurrent requests carry their own copy of the group; merging these picks in makes them
    see each other's members and hosts.
    """

    def __init__(self) -> None:
        self._picks: dict[str, dict[str, tuple[str, float]]] = {}

    def add(self, group_uuid: str, instance_uuid: str, host: str) -> None:
        expires = time.monotonic() + PENDING_TTL
        self._picks.setdefault(group_uuid, {})[instance_uuid] = (host, expires)

    def discard(self, group_uuid: str, instance_uuid: str) -> None:
        self._picks.get(group_uuid, {}).pop(instance_uuid, None)

    def merge_into(self, group: InstanceGroup) -> None:
        picks = self._picks.get(group.uuid)
        if not picks:
            return
        now = time.monotonic()
        for uuid, (host, expires) in list(picks.items()):
            if expires < now:
                del picks[uuid]
                continue
            group.members.add(uuid)
            if host not in group.hosts:
                group.hosts.append(host)


class Scheduler:
    def __init__(
        self,
        cfg: SchedulerConfig,
        hosts: HostStateStore,
        placement: Placement,
        rng: random.Random | None = None,
        view_ready: asyncio.Event | None = None,
        view_wait: float = 10.0,
    ) -> None:
        self.cfg = cfg
        # Set once the host feed has delivered its first states; until then a request whose
        # candidates the view does not know waits for it (at most view_wait seconds) rather than
        # failing just because the scheduler started before the router.
        self.view_ready = view_ready
        self.view_wait = view_wait
        self.hosts = hosts
        self.placement = placement
        self.filters: list[Filter] = registry.build_filters(cfg.enabled_filters, cfg)
        self.weighers: list[Weigher] = registry.build_weighers(cfg.weighers, cfg)
        self.group_picks = GroupPicks()
        self.pci_aliases = parse_aliases(cfg.pci_alias)
        self.rng = rng or random.Random()

    async def select_destinations(
        self, spec: RequestSpec, instance_uuids: Sequence[str], return_alternates: bool
    ) -> list[Placed]:
        _normalise(spec)
        request = resources.build(
            spec, self.cfg.max_placement_results, in_tree=self._requested_node_uuid(spec)
        )
        for narrowed in (
            prefilters.availability_zone(spec, self.hosts.aggregates, self.cfg),
            prefilters.tenant(spec, self.hosts.aggregates, self.cfg),
        ):
            if narrowed:
                request.unnumbered.member_of.append(narrowed)
        why = Explanation(resources=request.unnumbered.resources, num_instances=len(instance_uuids))
        candidates = await self.placement.candidates(request)
        why.candidates = len(candidates)
        by_root: dict[str, Candidate] = {}
        for cand in candidates:
            by_root.setdefault(cand.root_uuid, cand)
        ready = self.view_ready
        if ready is not None and not ready.is_set() and any(r not in self.hosts for r in by_root):
            LOG.info("waiting for the host-state feed before scheduling")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), self.view_wait)
        hosts: list[HostState] = []
        for root in by_root:
            state = self.hosts.get(root)
            if state is None:
                why.unknown += 1
            else:
                hosts.append(state)
        hosts, skip_filters = self._restrict(hosts, spec, why)
        self._locate_members(spec.instance_group)
        placed: list[Placed] = []
        try:
            for index, uuid in enumerate(instance_uuids):
                why.instance_index = index
                group = spec.instance_group
                if group is not None and group.uuid:
                    self.group_picks.merge_into(group)
                if not skip_filters:
                    hosts = self._filter(hosts, spec, index, why)
                if not hosts:
                    raise NoValidHost(why.message())
                ranked = self._rank(hosts, spec)
                chosen = await self._claim(ranked, by_root, spec, uuid, why)
                alternates: list[Choice] = []
                if return_alternates:
                    for _, host in ranked:
                        if len(alternates) >= self.cfg.max_attempts - 1:
                            break
                        if host is not chosen and host.cell_uuid == chosen.cell_uuid:
                            alternates.append(Choice(host, by_root[host.uuid]))
                placed.append(Placed(uuid, Choice(chosen, by_root[chosen.uuid]), alternates))
        except BaseException:
            for done in placed:
                self._forget(done.chosen.host, spec, done.instance_uuid)
                await self.placement.release(done.instance_uuid)
            raise
        return placed

    def _locate_members(self, group: InstanceGroup | None) -> None:
        """The hosts of the group's existing members, from the host view (the API database
        knows the members, not where they run); once per member, for max_server_per_host."""
        if group is None or not group.members or group.hosts:
            return
        for state in self.hosts:
            if not state.instances.isdisjoint(group.members):
                group.hosts.extend([state.host] * len(state.instances & group.members))

    def _requested_node_uuid(self, spec: RequestSpec) -> str:
        dest = spec.requested_destination
        if dest is None or not dest.host:
            return ""
        nodes = self.hosts.by_host(dest.host)
        if dest.node:
            nodes = [n for n in nodes if n.nodename == dest.node]
        return nodes[0].uuid if len(nodes) == 1 else ""

    def _restrict(
        self, hosts: list[HostState], spec: RequestSpec, why: Explanation
    ) -> tuple[list[HostState], bool]:
        """Ignored, forced and requested hosts. Forced hosts skip the filters (Nova's rule)."""
        before = len(hosts)
        if spec.ignore_hosts:
            ignored = set(spec.ignore_hosts)
            hosts = [h for h in hosts if h.host not in ignored]
            why.remove("ignore_hosts", before - len(hosts))
        dest = spec.requested_destination
        if dest is not None:
            n = len(hosts)
            hosts = [
                h
                for h in hosts
                if (not dest.host or h.host == dest.host)
                and (not dest.node or h.nodename == dest.node)
                and (not dest.cell_uuid or h.cell_uuid == dest.cell_uuid)
            ]
            why.remove("requested destination", n - len(hosts))
        forced = bool(spec.force_hosts or spec.force_nodes)
        if forced:
            n = len(hosts)
            fh = {h.lower() for h in spec.force_hosts}
            fn = {n.lower() for n in spec.force_nodes}
            hosts = [
                h
                for h in hosts
                if (not fh or h.host.lower() in fh) and (not fn or h.nodename.lower() in fn)
            ]
            why.remove("forced host", n - len(hosts))
        return hosts, forced and not spec.retry_hosts

    def _filter(
        self, hosts: list[HostState], spec: RequestSpec, index: int, why: Explanation
    ) -> list[HostState]:
        for flt in self.filters:
            if index > 0 and flt.run_once_per_request:
                continue
            if not flt.relevant(spec):
                continue
            check = flt.check
            kept = [h for h in hosts if check(h, spec) is None]
            if len(kept) != len(hosts):
                why.remove(flt.name, len(hosts) - len(kept))
                if LOG.isEnabledFor(logging.DEBUG):
                    for h in hosts[:20]:
                        reason = check(h, spec)
                        if reason:
                            LOG.debug("%s: %s: %s", flt.name, h.host, reason)
            hosts = kept
            if not hosts:
                break
        return hosts

    def _rank(self, hosts: list[HostState], spec: RequestSpec) -> list[tuple[float, HostState]]:
        ranked = weigh_hosts(self.weighers, hosts, spec)
        if self.cfg.shuffle_best_same_weighed_hosts and len(ranked) > 1:
            best = ranked[0][0]
            ties = 1
            while ties < len(ranked) and ranked[ties][0] == best:
                ties += 1
            head = ranked[:ties]
            self.rng.shuffle(head)
            ranked[:ties] = head
        subset = min(max(1, self.cfg.host_subset_size), len(ranked))
        if subset > 1:
            pick = self.rng.randrange(subset)
            ranked.insert(0, ranked.pop(pick))
        return ranked

    async def _claim(
        self,
        ranked: list[tuple[float, HostState]],
        by_root: dict[str, Candidate],
        spec: RequestSpec,
        instance_uuid: str,
        why: Explanation,
    ) -> HostState:
        for _, host in ranked:
            self._record(host, spec, instance_uuid)
            ok = False
            try:
                ok = await self.placement.claim(
                    instance_uuid, by_root[host.uuid].allocations, spec.project_id, spec.user_id
                )
            finally:
                if not ok:
                    self._forget(host, spec, instance_uuid)
            if ok:
                return host
            why.lost_claims += 1
            LOG.info("claim on %s lost to a concurrent request; trying the next host", host.host)
        raise NoValidHost(why.message())

    def _record(self, host: HostState, spec: RequestSpec, instance_uuid: str) -> None:
        cells, devices = topology_picks.take(host, spec, self.pci_aliases)
        host.consume_from_request(spec, instance_uuid, cells, devices)
        group = spec.instance_group
        if group is not None:
            group.hosts.append(host.host)
            group.members.add(instance_uuid)
            if group.uuid:
                self.group_picks.add(group.uuid, instance_uuid, host.host)

    def _forget(self, host: HostState, spec: RequestSpec, instance_uuid: str) -> None:
        host.release(instance_uuid)
        group = spec.instance_group
        if group is not None:
            if host.host in group.hosts:
                group.hosts.remove(host.host)
            group.members.discard(instance_uuid)
            if group.uuid:
                self.group_picks.discard(group.uuid, instance_uuid)


def _normalise(spec: RequestSpec) -> None:
    """`zone:host[:node]` in the availability zone forces a host (admin-only, checked upstream)."""
    if ":" not in spec.availability_zone:
        return
    zone, _, rest = spec.availability_zone.partition(":")
    host, _, node = rest.partition(":")
    spec.availability_zone = zone
    if host and host not in spec.force_hosts:
        spec.force_hosts.append(host)
    if node and node not in spec.force_nodes:
        spec.force_nodes.append(node)
