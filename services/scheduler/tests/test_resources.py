"""The request spec -> placement query translation."""

from __future__ import annotations

from novamesh.scheduler import resources
from novamesh.scheduler.spec import Flavor, ImageMeta, RequestSpec


def build(**flavor_kw: object) -> resources.ResourceRequest:
    extra = flavor_kw.pop("extra_specs", {})
    image = flavor_kw.pop("image", {})
    is_bfv = bool(flavor_kw.pop("is_bfv", False))
    flavor = Flavor(vcpus=2, memory_mb=4096, root_gb=20, extra_specs=extra, **flavor_kw)  # type: ignore[arg-type]
    spec = RequestSpec(flavor=flavor, image=ImageMeta(properties=image), is_bfv=is_bfv)  # type: ignore[arg-type]
    return resources.build(spec, limit=50)


def test_flavor_resources_with_swap_rounded_up_and_ephemeral() -> None:
    req = build(ephemeral_gb=5, swap=1025)
    assert req.limit == 50
    assert req.unnumbered.resources == {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 27}
    assert req.unnumbered.forbidden_traits == {"COMPUTE_STATUS_DISABLED"}


def test_boot_from_volume_needs_no_root_disk() -> None:
    assert build(is_bfv=True).unnumbered.resources == {"VCPU": 2, "MEMORY_MB": 4096}


def test_resources_extra_specs_override_add_and_remove() -> None:
    req = build(
        extra_specs={
            "resources:VCPU": "0",
            "resources:PCPU": "2",
            "resources:CUSTOM_MAGIC": "1",
            "resources:DISK_GB": "bogus",
        }
    )
    assert req.unnumbered.resources == {
        "PCPU": 2,
        "MEMORY_MB": 4096,
        "DISK_GB": 20,
        "CUSTOM_MAGIC": 1,
    }


def test_dedicated_cpu_policy_asks_for_pcpu() -> None:
    req = build(extra_specs={"hw:cpu_policy": "dedicated"})
    assert req.unnumbered.resources["PCPU"] == 2
    assert "VCPU" not in req.unnumbered.resources


def test_granular_groups_traits_and_group_policy() -> None:
    req = build(
        extra_specs={
            "resources1:SRIOV_NET_VF": "1",
            "trait1:CUSTOM_PHYSNET_A": "required",
            "resources_gpu:VGPU": "1",
            "trait_gpu:CUSTOM_SLOW": "forbidden",
            "trait:HW_CPU_X86_AVX2": "required",
            "trait:CUSTOM_IGNORED": "preferred",
            "group_policy": "isolate",
        },
        image={"trait:HW_NIC_OFFLOAD": "required", "trait1:X": "required", "os": "linux"},
    )
    assert req.group_policy == "isolate"
    assert [g.suffix for g in req.groups] == ["", "1", "_gpu"]
    assert req.unnumbered.required_traits == {"HW_CPU_X86_AVX2", "HW_NIC_OFFLOAD"}
    g1, gpu = req.groups[1], req.groups[2]
    assert g1.resources == {"SRIOV_NET_VF": 1}
    assert g1.required_traits == {"CUSTOM_PHYSNET_A"}
    assert gpu.resources == {"VGPU": 1}
    assert gpu.forbidden_traits == {"CUSTOM_SLOW"}


def test_several_numbered_groups_default_to_policy_none() -> None:
    req = build(extra_specs={"resources1:VGPU": "1", "resources2:VGPU": "1"})
    assert req.group_policy == "none"


def test_tenant_aggregates_and_in_tree() -> None:
    spec = RequestSpec(flavor=Flavor(vcpus=1, memory_mb=512), member_of=["agg-b", "agg-a"])
    req = resources.build(spec, in_tree="rp-1")
    assert req.unnumbered.member_of == [["agg-a", "agg-b"]]
    assert req.unnumbered.in_tree == "rp-1"
