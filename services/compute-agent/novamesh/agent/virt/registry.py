"""Drivers by name. `cfg.agent.driver` picks one; a new driver is one entry in DRIVERS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from novamesh.agent import identity
from novamesh.agent.virt.driver import Driver, check_declarations
from novamesh.agent.virt.fake import FakeDriver, FakeSettings
from novamesh.common.config import AgentConfig, Config

# (agent settings, the directory under which agents keep state) -> driver
DriverFactory = Callable[[AgentConfig, Path], Driver]


def fake_host_names(cfg: AgentConfig) -> tuple[str, ...]:
    if cfg.hosts:
        return tuple(cfg.hosts)
    return tuple(f"{cfg.host_prefix}-{n}" for n in range(1, cfg.host_count + 1))


def _fake(cfg: AgentConfig, state_root: Path) -> Driver:
    hosts = fake_host_names(cfg)
    return FakeDriver(
        FakeSettings(
            hosts=hosts,
            vcpus=cfg.vcpus,
            memory_mb=cfg.memory_mb,
            disk_gb=cfg.disk_gb,
            spawn_seconds=cfg.spawn_seconds,
            numa_nodes=cfg.numa_nodes,
            pci_devices=tuple(cfg.pci_devices),
            console_address=cfg.fake_console_address,
            live_migration_seconds=cfg.fake_live_migration_seconds,
            state_file=state_root / identity.agent_id(hosts) / "fake-hypervisor.json",
        )
    )


DRIVERS: dict[str, DriverFactory] = {
    "fake": _fake,
}


def _libvirt(cfg: Config, state_root: Path) -> Driver:
    # Imported only when chosen: libvirt-python is needed on libvirt hosts alone.
    from novamesh.agent.virt.libvirt import factory

    return factory.build(cfg)


def _fake_with_images(cfg: Config, state_root: Path) -> Driver:
    # The fake driver uploads snapshots to the image service, so it needs the endpoints too.
    driver = _fake(cfg.agent, state_root)
    assert isinstance(driver, FakeDriver)
    driver.set_image_service(cfg.endpoints.image_public_url, cfg.libvirt.image_token)
    return driver


# Drivers configured beyond [agent] (their own section, the endpoints): (config, state root).
FULL_CONFIG_DRIVERS: dict[str, Callable[[Config, Path], Driver]] = {
    "libvirt": _libvirt,
    "fake": _fake_with_images,
}


def load(cfg: AgentConfig, state_root: Path, full: Config | None = None) -> Driver:
    if cfg.driver in FULL_CONFIG_DRIVERS:
        driver = FULL_CONFIG_DRIVERS[cfg.driver](full or Config(agent=cfg), state_root)
        check_declarations(driver)
        return driver
    try:
        factory = DRIVERS[cfg.driver]
    except KeyError:
        known = ", ".join(sorted([*DRIVERS, *FULL_CONFIG_DRIVERS]))
        raise ValueError(f"unknown virt driver {cfg.driver!r} (known: {known})") from None
    driver = factory(cfg, state_root)
    check_declarations(driver)
    return driver
