"""The fake driver: simulated hosts, power states, addresses, and guests that outlive a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from novamesh.agent.states import PowerState
from novamesh.agent.virt import registry
from novamesh.agent.virt.capabilities import MATRIX_ROWS, support_levels
from novamesh.agent.virt.driver import (
    CAPABILITY_INTERFACES,
    CAPABILITY_TRAITS,
    REQUIRED_CAPABILITIES,
    check_declarations,
    host_traits,
)
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.agent.virt.model import (
    InstanceNotFound,
    InstanceSpec,
    InvalidInstanceState,
    RequestedNetwork,
)
from novamesh.common.config import AgentConfig

HOSTS = ("h-1", "h-2")


def make(state_file: Path | None = None) -> FakeDriver:
    return FakeDriver(FakeSettings(hosts=HOSTS, vcpus=8, memory_mb=4096, state_file=state_file))


def spec(uuid: str = "u1", **kw: object) -> InstanceSpec:
    return InstanceSpec(uuid=uuid, vcpus=2, memory_mb=1024, root_gb=10, **kw)  # type: ignore[arg-type]


def test_hosts_follow_the_configured_prefix_and_count() -> None:
    cfg = AgentConfig(host_prefix="sim", host_count=3)
    assert registry.fake_host_names(cfg) == ("sim-1", "sim-2", "sim-3")
    assert registry.fake_host_names(AgentConfig(hosts=["a", "b"])) == ("a", "b")


def test_registry_refuses_unknown_driver(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown virt driver 'nope'"):
        registry.load(AgentConfig(driver="nope"), tmp_path)


def test_declared_capabilities_are_implemented() -> None:
    driver = make()
    check_declarations(driver)
    assert "operation.pause" in driver.capabilities
    assert "operation.launch" in driver.capabilities
    assert "operation.live-migrate" in driver.capabilities


def test_a_driver_claiming_more_than_it_implements_is_refused() -> None:
    # The fake implements every capability interface: a subclass takes one away.
    class WithoutLiveMigration(FakeDriver):
        live_migration = None  # type: ignore[assignment]

    driver = WithoutLiveMigration(FakeSettings(hosts=("h-1",)))
    with pytest.raises(TypeError, match=r"operation\.live-migrate"):
        check_declarations(driver)


def test_capacity_comes_from_settings_and_traits_include_compute_node() -> None:
    driver = make()
    cap = driver.get_host_capacity("h-2")
    assert (cap.host, cap.nodename, cap.vcpus, cap.memory_mb) == ("h-2", "h-2", 8, 4096)
    traits = host_traits(driver, cap)
    assert "COMPUTE_NODE" in traits
    assert "COMPUTE_IMAGE_TYPE_QCOW2" in traits


async def test_spawn_runs_the_guest_with_a_private_address() -> None:
    driver = make()
    interfaces = await driver.spawn("h-1", spec())
    info = await driver.get_info("h-1", "u1")
    assert info.power_state == PowerState.RUNNING
    (iface,) = interfaces
    assert iface.network == "private"
    assert iface.address.startswith("192.168.")
    assert iface.mac_address.startswith("fa:16:3e:")
    other = await driver.spawn("h-2", spec("u2"))
    assert other[0].address != iface.address


async def test_requested_networks_and_none() -> None:
    driver = make()
    ifaces = await driver.spawn(
        "h-1", spec(networks=(RequestedNetwork("net-a", fixed_ip="10.1.2.3", tag="t"),))
    )
    assert [(i.network, i.address, i.tag) for i in ifaces] == [("net-a", "10.1.2.3", "t")]
    assert await driver.spawn("h-1", spec("u2", networks=(RequestedNetwork("none"),))) == []


async def test_power_actions_follow_the_guest_state() -> None:
    driver = make()
    await driver.spawn("h-1", spec())
    await driver.pause("h-1", "u1")
    assert (await driver.get_info("h-1", "u1")).power_state == PowerState.PAUSED
    with pytest.raises(InvalidInstanceState):
        await driver.pause("h-1", "u1")
    await driver.unpause("h-1", "u1")
    await driver.suspend("h-1", "u1")
    assert (await driver.get_info("h-1", "u1")).power_state == PowerState.SUSPENDED
    await driver.resume("h-1", "u1")
    await driver.power_off("h-1", "u1")
    assert (await driver.get_info("h-1", "u1")).power_state == PowerState.SHUTDOWN
    with pytest.raises(InvalidInstanceState):
        await driver.reboot("h-1", "u1", hard=False)
    await driver.reboot("h-1", "u1", hard=True)
    assert (await driver.get_info("h-1", "u1")).power_state == PowerState.RUNNING


async def test_destroy_is_idempotent() -> None:
    driver = make()
    await driver.spawn("h-1", spec())
    await driver.destroy("h-1", "u1")
    await driver.destroy("h-1", "u1")
    with pytest.raises(InstanceNotFound):
        await driver.get_info("h-1", "u1")
    assert await driver.list_instances("h-1") == []


async def test_addresses_are_handed_out_round_robin_skipping_network_and_broadcast() -> None:
    driver = make()
    addresses = []
    for n in range(300):
        (iface,) = await driver.spawn("h-1", spec(f"u{n}"))
        addresses.append(iface.address)
        if n % 2:
            await driver.destroy("h-1", f"u{n}")
    assert len(set(addresses)) == 300
    assert not any(a.endswith((".0", ".255")) for a in addresses)
    assert addresses[0] == "192.168.0.1" and addresses[254] == "192.168.1.1"


async def test_guests_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.json"
    driver = make(path)
    await driver.init_host()
    await driver.spawn("h-1", spec())
    await driver.spawn("h-2", spec("u2"))
    await driver.power_off("h-2", "u2")
    await driver.cleanup()

    reborn = make(path)
    await reborn.init_host()
    assert [i.uuid for i in await reborn.list_instances("h-1")] == ["u1"]
    (u2,) = await reborn.list_instances("h-2")
    assert (u2.power_state, u2.vcpus, u2.memory_mb) == (PowerState.SHUTDOWN, 2, 1024)
    fresh = await reborn.spawn("h-1", spec("u3"))
    assert fresh[0].address not in {i.address for i in u2.interfaces}


def test_every_capability_name_the_agent_knows_is_a_matrix_row() -> None:
    named = (
        REQUIRED_CAPABILITIES
        | set(CAPABILITY_INTERFACES)
        | set(CAPABILITY_TRAITS)
        | FakeDriver.capabilities
    )
    assert named <= set(MATRIX_ROWS)
    assert len(MATRIX_ROWS) == len(set(MATRIX_ROWS)) == 59


def test_an_unknown_capability_name_is_refused() -> None:
    driver = make()
    driver.capabilities = driver.capabilities | {"operation.teleport"}
    with pytest.raises(TypeError, match="not support-matrix rows"):
        check_declarations(driver)


def test_support_levels_cover_every_row() -> None:
    levels = support_levels(FakeDriver.capabilities)
    assert list(levels) == list(MATRIX_ROWS)
    assert levels["operation.pause"] == "complete"
    assert levels["operation.live-migrate"] == "complete"


async def test_the_boots_volumes_are_recorded_on_the_guest() -> None:
    from novamesh.agent.convert import instance_spec_from_proto
    from novamesh.agent.v1 import agent_pb2, block_devices_pb2

    root = block_devices_pb2.BlockDevice(
        source_type="image",
        destination_type="volume",
        boot_index=0,
        device_name="/dev/vda",
        volume_size=3,
        image_id="img",
        volume_id="v-root",
    )
    local_swap = block_devices_pb2.BlockDevice(
        source_type="blank", destination_type="local", boot_index=-1, guest_format="swap"
    )
    proto = agent_pb2.InstanceSpec(uuid="u1", block_devices=[root, local_swap])
    proto.flavor.root_gb = 10
    instance = instance_spec_from_proto(proto)
    assert [v.volume_id for v in instance.volumes] == ["v-root"]
    assert instance.boots_from_volume and instance.disk_gb == 0
    driver = make()
    await driver.spawn("h-1", instance)
    guest = driver._guests["u1"]
    assert guest.volumes == {"v-root": "/dev/vda"}
    assert guest.volume_sizes == {"v-root": 3}
    assert any("from image img" in line for line in guest.console)
