"""Upstream's gabbi fixtures, recreated through the REST API.

Upstream placement's fixtures write providers, inventories, traits and allocations straight into
its database before a gabbi file runs. Here each one builds the same topology through the public
API of a fresh placement, and exports the same environment variables. A fixture may also name
the policy mode placement has to start with.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

Env = dict[str, str]


class Api:
    """A thin admin client: every call must succeed, or the fixture is broken."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={
                "x-auth-token": "admin",
                "accept": "application/json",
                # Old enough that allocations need no consumer_type, new enough for nesting.
                "openstack-api-version": "placement 1.28",
            },
            timeout=30,
        )
        self.rcs: set[str] = set()
        self.traits: set[str] = set()

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, url: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        resp = self.http.request(method, url, json=body)
        if resp.status_code >= 400 and resp.status_code not in ok:
            raise RuntimeError(f"{method} {url}: {resp.status_code} {resp.text}")
        return resp.json() if resp.content else None

    def generation(self, rp: str) -> int:
        return int(self.call("GET", f"/resource_providers/{rp}")["generation"])

    def create_provider(
        self, name: str, *aggs: str, parent: str | None = None, rp_uuid: str | None = None
    ) -> str:
        rp = rp_uuid or str(uuid.uuid4())
        body: dict[str, Any] = {"name": name, "uuid": rp}
        if parent:
            body["parent_provider_uuid"] = parent
        self.call("POST", "/resource_providers", body)
        if aggs:
            self.set_aggregates(rp, *aggs)
        return rp

    def set_aggregates(self, rp: str, *aggs: str) -> None:
        body = {"aggregates": list(aggs), "resource_provider_generation": self.generation(rp)}
        self.call("PUT", f"/resource_providers/{rp}/aggregates", body)

    def ensure_rc(self, rc: str) -> None:
        if rc.startswith("CUSTOM_") and rc not in self.rcs:
            self.call("PUT", f"/resource_classes/{rc}")
            self.rcs.add(rc)

    def add_inventory(self, rp: str, rc: str, total: int, **kw: Any) -> None:
        self.ensure_rc(rc)
        kw.setdefault("max_unit", total)
        body = {"resource_class": rc, "total": total, **kw}
        body["resource_provider_generation"] = self.generation(rp)
        self.call("POST", f"/resource_providers/{rp}/inventories", body)

    def set_traits(self, rp: str, *traits: str) -> None:
        for t in traits:
            if t.startswith("CUSTOM_") and t not in self.traits:
                self.call("PUT", f"/traits/{t}")
                self.traits.add(t)
        body = {"traits": list(traits), "resource_provider_generation": self.generation(rp)}
        self.call("PUT", f"/resource_providers/{rp}/traits", body)

    def set_allocation(
        self, rp: str, resources: dict[str, int], project: str, user: str, consumer: str = ""
    ) -> str:
        consumer = consumer or str(uuid.uuid4())
        body = {
            "allocations": {rp: {"resources": resources}},
            "project_id": project,
            "user_id": user,
            "consumer_generation": None,
        }
        self.call("PUT", f"/allocations/{consumer}", body)
        return consumer


def allocation(api: Api, env: Env) -> None:
    project, user = env["PROJECT_ID"], env["USER_ID"]
    env["ALT_USER_ID"] = alt_user = str(uuid.uuid4())
    rp = api.create_provider(env["RP_NAME"], rp_uuid=env["RP_UUID"])
    api.add_inventory(rp, "DISK_GB", 2048, step_size=10, min_unit=10, max_unit=1000)
    api.add_inventory(rp, "VCPU", 10, max_unit=10)
    env["CONSUMER_0"] = api.set_allocation(rp, {"DISK_GB": 1000}, project, user)
    env["CONSUMER_ID"] = api.set_allocation(rp, {"VCPU": 6}, project, user)
    env["ALT_CONSUMER_ID"] = api.set_allocation(rp, {"DISK_GB": 20, "VCPU": 1}, project, alt_user)
    env["ALT_RP_UUID"] = str(uuid.uuid4())
    env["ALT_RP_NAME"] = str(uuid.uuid4())


def shared_storage(api: Api, env: Env) -> None:
    env["AGG_UUID"] = agg = str(uuid.uuid4())
    cn1 = api.create_provider("cn1", agg)
    cn2 = api.create_provider("cn2", agg)
    ss = api.create_provider("ss", agg)
    ss2 = api.create_provider("ss2", agg)
    env.update(CN1_UUID=cn1, CN2_UUID=cn2, SS_UUID=ss, SS2_UUID=ss2)
    pfs = []
    for cn, n in ((cn1, 1), (cn1, 2), (cn2, 1), (cn2, 2)):
        i = 1 if cn == cn1 else 2
        numa = api.create_provider(f"numa{i}_{n}", parent=cn)
        pf = api.create_provider(f"pf{i}_{n}", parent=numa)
        env[f"NUMA{i}_{n}_UUID"] = numa
        env[f"PF{i}_{n}_UUID"] = pf
        pfs.append(pf)
    for cn in (cn1, cn2):
        api.add_inventory(cn, "VCPU", 24, allocation_ratio=16.0)
        api.add_inventory(cn, "MEMORY_MB", 128 * 1024, allocation_ratio=1.5)
    api.set_traits(cn1, "HW_CPU_X86_SSE", "HW_CPU_X86_SSE2")
    api.add_inventory(cn2, "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
    for shared in (ss, ss2):
        api.add_inventory(shared, "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
        api.set_traits(shared, "MISC_SHARES_VIA_AGGREGATE")
    for pf in pfs:
        api.add_inventory(pf, "SRIOV_NET_VF", 8, allocation_ratio=1.0)


def numa_aggregate(api: Api, env: Env) -> None:
    agg_a, agg_b, agg_c = (str(uuid.uuid4()) for _ in range(3))
    env.update(AGGA_UUID=agg_a, AGGB_UUID=agg_b, AGGC_UUID=agg_c)
    cn1 = api.create_provider("cn1", agg_a)
    cn2 = api.create_provider("cn2", agg_a, agg_b)
    ss1 = api.create_provider("ss1", agg_a)
    ss2 = api.create_provider("ss2", agg_c)
    numas = [
        api.create_provider("numa1_1", agg_c, parent=cn1),
        api.create_provider("numa1_2", parent=cn1),
        api.create_provider("numa2_1", parent=cn2),
        api.create_provider("numa2_2", parent=cn2),
    ]
    env.update(CN1_UUID=cn1, CN2_UUID=cn2, SS1_UUID=ss1, SS2_UUID=ss2)
    for name, numa in zip(("1_1", "1_2", "2_1", "2_2"), numas, strict=True):
        env[f"NUMA{name}_UUID"] = numa
        api.add_inventory(numa, "VCPU", 24, allocation_ratio=16.0)
    for ss in (ss1, ss2):
        api.add_inventory(ss, "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
        api.set_traits(ss, "MISC_SHARES_VIA_AGGREGATE")


def numa_network(api: Api, env: Env, cn1: str | None = None, cn2: str | None = None) -> None:
    env["AGGA_UUID"] = agg_a = str(uuid.uuid4())
    ss1 = api.create_provider("ss1", agg_a)
    api.set_traits(ss1, "MISC_SHARES_VIA_AGGREGATE")
    api.add_inventory(ss1, "DISK_GB", 2000)
    env["SS1_UUID"] = ss1
    cn1 = cn1 or api.create_provider("cn1", agg_a)
    api.set_aggregates(cn1, agg_a)
    api.set_traits(cn1, "COMPUTE_VOLUME_MULTI_ATTACH")
    env["CN1_UUID"] = cn1
    numas = []
    for i in (0, 1):
        numa = api.create_provider(f"numa{i}", parent=cn1)
        api.set_traits(numa, "HW_NUMA_ROOT", *(["CUSTOM_FOO"] if i == 1 else []))
        api.add_inventory(numa, "VCPU", 4)
        numas.append(numa)
        env[f"NUMA{i}_UUID"] = numa
    api.add_inventory(numas[0], "MEMORY_MB", 2048, min_unit=512, step_size=256)
    api.add_inventory(numas[1], "MEMORY_MB", 2048, min_unit=256, max_unit=1024)
    user, project = "numafx-user", "numafx-project"
    api.set_allocation(numas[0], {"VCPU": 2}, project, user)
    fpga = api.create_provider("fpga0", parent=numas[0])
    api.add_inventory(fpga, "FPGA", 1)
    env["FPGA0_UUID"] = fpga
    pgpu = api.create_provider("pgpu0", parent=numas[0])
    api.add_inventory(pgpu, "VGPU", 8)
    env["PGPU0_UUID"] = pgpu
    for i in (0, 1):
        fpga = api.create_provider(f"fpga1_{i}", parent=numas[1])
        api.add_inventory(fpga, "FPGA", 1)
        env[f"FPGA1_{i}_UUID"] = fpga
    agent = api.create_provider("sriov_agent", parent=cn1)
    api.set_traits(agent, "CUSTOM_VNIC_TYPE_DIRECT")
    env["SRIOV_AGENT_UUID"] = agent
    for i in (1, 2):
        dev = api.create_provider(f"esn{i}", parent=agent)
        api.set_traits(dev, f"CUSTOM_PHYSNET{i}")
        api.add_inventory(dev, "NET_BW_EGR_KILOBIT_PER_SEC", 10000 * i)
        env[f"ESN{i}_UUID"] = dev
    agent = api.create_provider("ovs_agent", parent=cn1)
    api.set_traits(agent, "CUSTOM_VNIC_TYPE_NORMAL")
    env["OVS_AGENT_UUID"] = agent
    dev = api.create_provider("br_int", parent=agent)
    api.set_traits(dev, "CUSTOM_PHYSNET0")
    api.add_inventory(dev, "NET_BW_EGR_KILOBIT_PER_SEC", 1000)
    env["BR_INT_UUID"] = dev
    cn2 = cn2 or api.create_provider("cn2")
    api.set_aggregates(cn2, agg_a)
    api.add_inventory(cn2, "VCPU", 8)
    api.set_allocation(cn2, {"VCPU": 3}, project, user)
    api.add_inventory(cn2, "MEMORY_MB", 2048, min_unit=1024, step_size=128)
    api.add_inventory(cn2, "DISK_GB", 1000)
    api.set_traits(cn2, "CUSTOM_FOO")
    env["CN2_UUID"] = cn2
    nics = []
    for i in (1, 2, 3):
        nic = api.create_provider(f"nic{i}", parent=cn2)
        api.set_traits(nic, "CUSTOM_HW_NIC_ROOT")
        nics.append(nic)
        env[f"NIC{i}_UUID"] = nic
    pf_layout = [(0, "1_1", 1, 4), (0, "1_2", 2, 4)]
    pf_layout += [(1, f"2_{i + 1}", (i % 2) + 1, 2) for i in range(4)]
    pf_layout += [(2, "3_1", 1, 8)]
    for nic_index, suffix, physnet, vfs in pf_layout:
        pf = api.create_provider(f"pf{suffix}", parent=nics[nic_index])
        api.set_traits(pf, f"CUSTOM_PHYSNET{physnet}")
        api.add_inventory(pf, "CUSTOM_VF", vfs)
        env[f"PF{suffix}_UUID"] = pf


def deep_numa_network(api: Api, env: Env) -> None:
    gp1 = api.create_provider("gp1")
    p1 = api.create_provider("p1", parent=gp1)
    p2 = api.create_provider("p2", parent=gp1)
    cn1 = api.create_provider("cn1", parent=p1)
    cn2 = api.create_provider("cn2", parent=p2)
    numa_network(api, env, cn1, cn2)


def non_shared_storage(api: Api, env: Env) -> None:
    for name in ("AGGA_UUID", "AGGB_UUID", "AGGC_UUID"):
        env[name] = str(uuid.uuid4())
    for i in (1, 2, 3):
        cn = api.create_provider(f"cn{i}")
        env[f"CN{i}_UUID"] = cn
        api.add_inventory(cn, "VCPU", 24)
        api.add_inventory(cn, "MEMORY_MB", 128 * 1024)
        api.add_inventory(cn, "DISK_GB", 2000)


def granular(api: Api, env: Env) -> None:
    api.call("POST", "/resource_classes", {"name": "CUSTOM_NET_MBPS"})
    api.rcs.add("CUSTOM_NET_MBPS")
    agg_a, agg_b, agg_c = (str(uuid.uuid4()) for _ in range(3))
    env.update(AGGA=agg_a, AGGB=agg_b, AGGC=agg_c)
    left = env["CN_LEFT"] = api.create_provider("cn_left", agg_a)
    for rc, total in (
        ("VCPU", 8),
        ("MEMORY_MB", 4096),
        ("DISK_GB", 500),
        ("VGPU", 8),
        ("SRIOV_NET_VF", 8),
        ("CUSTOM_NET_MBPS", 4000),
    ):
        api.add_inventory(left, rc, total)
    api.set_traits(
        left, "HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_GPU_API_DXVA", "HW_NIC_DCB_PFC", "CUSTOM_FOO"
    )
    middle = env["CN_MIDDLE"] = api.create_provider("cn_middle", agg_a, agg_b)
    for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("SRIOV_NET_VF", 8)):
        api.add_inventory(middle, rc, total)
    api.add_inventory(middle, "CUSTOM_NET_MBPS", 4000)
    api.set_traits(
        middle, "HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE", "HW_NIC_ACCEL_TLS"
    )
    right = env["CN_RIGHT"] = api.create_provider("cn_right", agg_b, agg_c)
    for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("DISK_GB", 500)):
        api.add_inventory(right, rc, total)
    api.add_inventory(right, "VGPU", 8, max_unit=2)
    api.set_traits(right, "HW_CPU_X86_MMX", "HW_GPU_API_DXVA", "CUSTOM_DISK_SSD")
    shr1 = env["SHR_DISK_1"] = api.create_provider("shr_disk_1", agg_a)
    api.add_inventory(shr1, "DISK_GB", 1000)
    api.set_traits(shr1, "MISC_SHARES_VIA_AGGREGATE", "CUSTOM_DISK_SSD")
    shr2 = env["SHR_DISK_2"] = api.create_provider("shr_disk_2", agg_a, agg_b)
    api.add_inventory(shr2, "DISK_GB", 1000)
    api.set_traits(shr2, "MISC_SHARES_VIA_AGGREGATE")
    net = env["SHR_NET"] = api.create_provider("shr_net", agg_c)
    api.add_inventory(net, "SRIOV_NET_VF", 16)
    api.add_inventory(net, "CUSTOM_NET_MBPS", 40000)
    api.set_traits(net, "MISC_SHARES_VIA_AGGREGATE")


_VNIC_DIRECT = ("CUSTOM_VNIC_TYPE_DIRECT", "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL")
_VNIC_SRIOV = (*_VNIC_DIRECT, "CUSTOM_VNIC_TYPE_MACVTAP")


def neutron_qos_multi_segment(api: Api, env: Env) -> None:
    # compute0: segment OTHER; compute1: MSN_S1; compute2: MSN_S2; compute3: both, with
    # little bandwidth. Upstream exports compute2's SR-IOV agent as compute3's; so do we.
    physnets = {0: ["OTHER"], 1: ["MSN_S1"], 2: ["MSN_S2"], 3: ["MSN_S1", "MSN_S2"]}
    sriov_agents: dict[int, str] = {}
    for i, nets in physnets.items():
        name = f"compute{i}"
        bw = 1000 if i == 3 else None
        cn = env[name] = api.create_provider(name)
        for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("DISK_GB", 500)):
            api.add_inventory(cn, rc, total)
        ovs = env[f"{name}:ovs_agent"] = api.create_provider(
            f"{name}:Open vSwitch agent", parent=cn
        )
        api.add_inventory(ovs, "NET_PACKET_RATE_KILOPACKET_PER_SEC", 1000)
        api.set_traits(ovs, "CUSTOM_VNIC_TYPE_NORMAL")
        for n, net in enumerate(nets):
            suffix = "" if n == 0 else str(n + 1)
            br = env[f"{name}:br_ex{suffix}"] = api.create_provider(
                f"{name}:Open vSwitch agent:br-ex{suffix}", parent=ovs
            )
            for rc in ("NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC"):
                api.add_inventory(br, rc, bw or 5000)
            api.set_traits(br, "CUSTOM_VNIC_TYPE_NORMAL", f"CUSTOM_PHYSNET_{net}")
        agent = sriov_agents[i] = api.create_provider(f"{name}:NIC Switch agent", parent=cn)
        env[f"{name}:sriov_agent"] = sriov_agents[2] if i == 3 else agent
        api.set_traits(agent, *_VNIC_SRIOV)
        for n, net in enumerate(nets):
            pf = env[f"{name}:pf{n}"] = api.create_provider(
                f"{name}:NIC Switch agent:enp129s0f{n}", parent=agent
            )
            for rc in ("NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC"):
                api.add_inventory(pf, rc, bw or 10000)
            api.set_traits(pf, *_VNIC_SRIOV, f"CUSTOM_PHYSNET_{net}")


def _nothing(api: Api, env: Env) -> None:
    del api, env


@dataclass(frozen=True)
class Fixture:
    build: Callable[[Api, Env], None] = _nothing
    # The policy mode placement must start with (see novamesh.placement.policy).
    policy: str = "legacy"
    # Why the file can't run here; None when it can.
    skip: str | None = None
    # Origins the edge allows cross-origin requests from (upstream's [cors] allowed_origin).
    cors_origins: tuple[str, ...] = ()


FIXTURES: dict[str, Fixture] = {
    "APIFixture": Fixture(),
    "AllocationFixture": Fixture(allocation),
    "SharedStorageFixture": Fixture(shared_storage),
    "NUMAAggregateFixture": Fixture(numa_aggregate),
    "NUMANetworkFixture": Fixture(numa_network),
    "DeepNUMANetworkFixture": Fixture(deep_numa_network),
    "NonSharedStorageFixture": Fixture(non_shared_storage),
    "GranularFixture": Fixture(granular),
    "NeutronQoSMultiSegmentFixture": Fixture(neutron_qos_multi_segment),
    "CORSFixture": Fixture(cors_origins=("http://valid.example.com",)),
    "OpenPolicyFixture": Fixture(policy="open"),
    "SecureRBACPolicyFixture": Fixture(policy="secure"),
    "LegacyRBACPolicyFixture": Fixture(policy="legacy"),
}
