"""Moving a guest: resize and cold migration (same host, or to another libvirt host whose
instances path this host can write), and live migration to another libvirt daemon.

Mixed into the driver. Nova reaches another host's instances path over ssh; here each peer's
path is configured (`[libvirt] peer_instances_paths`: a shared mount, or on one machine simply
the other host's local path) and the source writes the guest's files there.

A cold move leaves the source's guest defined and stopped with its spec set aside
(`spec.resize-backup.json`), so a revert can start it again: on the same host the old disk is
kept as `disk.resize-backup` (the new flavor may grow the disk), on another host the disk was
copied and the original stays untouched. Whether a host still holds a moved-away guest is read
from its files: the set-aside spec without a current one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import libvirt
from novamesh.agent.virt.libvirt import imagebackend
from novamesh.agent.virt.libvirt.connection import Connection
from novamesh.agent.virt.libvirt.guest import GuestConfig, domain_xml
from novamesh.agent.virt.libvirt.instances import InstanceFiles
from novamesh.agent.virt.libvirt.settings import LibvirtSettings
from novamesh.agent.virt.migration_job import (
    MigrationCancelled,
    MigrationProgress,
    NoActiveMigration,
)
from novamesh.agent.virt.model import DriverError, InstanceNotFound, InstanceSpec, NetworkInterface

LOG = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def notes_power(method: F) -> F:
    """The command that called this reports the guest's power state itself: note it, so the
    lifecycle events the operation caused do not report it a second time, late."""

    @functools.wraps(method)
    async def wrapper(self: Any, host: str, target: Any, *args: Any, **kw: Any) -> Any:
        try:
            return await method(self, host, target, *args, **kw)
        finally:
            await self._note_power(target if isinstance(target, str) else target.uuid)

    return cast(F, wrapper)


class MoveOps:
    settings: LibvirtSettings
    _conn: Connection
    _host: str

    async def _domain(self, uuid: str) -> libvirt.virDomain:
        raise NotImplementedError

    def _files(self, uuid: str) -> InstanceFiles:
        raise NotImplementedError

    async def _stop(self, dom: libvirt.virDomain, *, clean: bool = True) -> None:
        raise NotImplementedError

    async def _guest_config(
        self,
        spec: InstanceSpec,
        interfaces: tuple[NetworkInterface, ...],
        *,
        rescue_props: dict[str, str] | None = None,
    ) -> GuestConfig:
        raise NotImplementedError

    async def _define_and_start(self, cfg: GuestConfig, start: bool = True) -> None:
        raise NotImplementedError

    async def _note_power(self, uuid: str) -> None:
        raise NotImplementedError

    async def _forget_guest(self, uuid: str) -> None:
        """Stop and undefine the domain (its files stay)."""
        raise NotImplementedError

    async def destroy(self, host: str, uuid: str) -> None:
        raise NotImplementedError

    def _peer_files(self, dest_host: str, uuid: str) -> InstanceFiles:
        path = self.settings.peer_instances_paths.get(dest_host)
        if not path:
            raise DriverError(
                f"host {dest_host} is not in [libvirt] peer_instances_paths of {self._host}: "
                "its instances path cannot be reached"
            )
        return InstanceFiles(Path(path), uuid)

    # ---- cold moves -----------------------------------------------------------------------

    @notes_power
    async def migrate_disk_and_power_off(self, host: str, uuid: str, dest_host: str) -> None:
        files = self._files(uuid)
        remote = bool(dest_host) and dest_host != self._host
        if remote and files.volumes():
            raise DriverError("a guest with local volumes attached cannot move to another host")
        dest = self._peer_files(dest_host, uuid) if remote else None
        dom = await self._domain(uuid)
        await self._stop(dom)
        if dest is not None:
            try:
                await _copy_guest(files, dest)
            except (OSError, DriverError) as exc:
                await asyncio.to_thread(imagebackend.remove_tree, dest.dir)
                raise DriverError(f"copying the guest to {dest_host} failed: {exc}") from exc
        elif files.disk.exists():
            await asyncio.to_thread(shutil.copyfile, files.disk, files.resize_backup)
        files.spec_file.replace(files.old_spec_file)

    @notes_power
    async def finish_migration(self, host: str, instance: InstanceSpec) -> None:
        files = self._files(instance.uuid)
        # Same host: the set-aside spec; another host: the spec the source copied here.
        before = files.load_old() or files.load()
        interfaces = before[1] if before else ()
        if files.disk.exists() and instance.root_gb:
            info = await imagebackend.disk_info(files.disk)
            if instance.root_gb * imagebackend.GIB > info.virtual_size:
                await imagebackend.resize(files.disk, instance.root_gb)
        if instance.ephemeral_gb and not files.ephemeral.exists():
            await imagebackend.create_blank(files.ephemeral, instance.ephemeral_gb)
        files.save(instance, interfaces)
        try:
            await self._define_and_start(await self._guest_config(instance, interfaces))
        except libvirt.libvirtError as exc:
            raise DriverError(f"libvirt could not start the resized guest: {exc}") from exc

    async def confirm_migration(self, host: str, uuid: str) -> None:
        files = self._files(uuid)
        if files.old_spec_file.exists() and not files.spec_file.exists():
            # The guest moved to another host: what is left here goes.
            await self.destroy(host, uuid)
            return
        files.resize_backup.unlink(missing_ok=True)
        files.old_spec_file.unlink(missing_ok=True)

    @notes_power
    async def finish_revert_migration(self, host: str, instance: InstanceSpec) -> None:
        files = self._files(instance.uuid)
        with contextlib.suppress(InstanceNotFound):
            await self._stop(await self._domain(instance.uuid), clean=False)
        old = files.load_old()
        spec, interfaces = old if old else (instance, ())
        if files.resize_backup.exists():
            files.resize_backup.replace(files.disk)
        files.save(spec, interfaces)
        files.old_spec_file.unlink(missing_ok=True)
        await self._define_and_start(await self._guest_config(spec, interfaces))

    async def _keep_for_revert(self, uuid: str) -> bool:
        """A same-host resize being reverted: the agent drops the resized guest first, but the
        set-aside disk and spec are what the revert restores, so only the domain goes."""
        files = self._files(uuid)
        if not (files.old_spec_file.exists() and files.spec_file.exists()):
            return False
        await self._forget_guest(uuid)
        files.spec_file.unlink(missing_ok=True)
        return True

    # ---- live migration -------------------------------------------------------------------

    async def live_migration(self, host: str, uuid: str, dest_host: str) -> None:
        """Move the running guest to `dest_host`'s daemon: its files are prepared in the peer's
        instances path, QEMU streams memory and disks over UNIX sockets there (both daemons see
        one filesystem; no network between them is needed), the peer's daemon gets the domain
        with paths in its own directory, and this host forgets the guest.

        The copy runs as a libvirt job: while it does, `live_migration_progress` reads its
        counters, `live_migration_force_complete` and `live_migration_abort` steer it."""
        dest_uri = self.settings.peer_uris.get(dest_host)
        if not dest_uri:
            raise DriverError(f"host {dest_host} is not in [libvirt] peer_uris of {self._host}")
        files = self._files(uuid)
        if files.volumes():
            raise DriverError("a guest with local volumes attached cannot live-migrate")
        dest = self._peer_files(dest_host, uuid)
        saved = files.load()
        if saved is None:
            raise InstanceNotFound(f"instance {uuid} has no files on this host")
        spec, interfaces = saved
        dom = await self._domain(uuid)
        job = _LiveJob(dom, dest_uri, self.settings.live_migration_permit_post_copy)
        self._live_jobs[uuid] = job
        started = time.monotonic()
        try:
            await _prepare_destination(files, dest)
            dest_cfg = await self._guest_config(spec, interfaces)
            dest_xml = _relocate(domain_xml(dest_cfg), files.dir, dest.dir)
            disks = [d.target for d in dest_cfg.disks if d.device == "disk"]
            options = _Options(self.settings.live_migration_bandwidth, job.post_copy)
            await self._conn.call(_migrate, dom, dest_uri, dest_xml, dest.dir, disks, options)
        except (OSError, libvirt.libvirtError) as exc:
            await asyncio.to_thread(imagebackend.remove_tree, dest.dir)
            if job.paused:
                # Forced, then failed or aborted: the guest runs on here.
                with contextlib.suppress(libvirt.libvirtError):
                    await self._conn.call(dom.resume)
            if job.aborted:
                raise MigrationCancelled(
                    f"live migration of {uuid} to {dest_host} was aborted"
                ) from exc
            raise DriverError(f"live migration to {dest_host} failed: {exc}") from exc
        finally:
            self._live_jobs.pop(uuid, None)
        LOG.info("live-migrated %s to %s in %.1f s", uuid, dest_host, time.monotonic() - started)
        if job.paused:
            # Paused to converge: it runs on where it arrived.
            await self._conn.call(_resume_at, dest_uri, uuid)
        # The guest runs there now: this host keeps nothing of it.
        await self.destroy(host, uuid)

    async def live_migration_progress(self, host: str, uuid: str) -> MigrationProgress | None:
        job = self._live_jobs.get(uuid)
        if job is None:
            return None
        try:
            stats: dict[str, Any] = await self._conn.call(job.dom.jobStats)
        except libvirt.libvirtError:
            # The job is ending (or not started yet): nothing to report now.
            return None
        return MigrationProgress(**{key: int(stats.get(key, 0)) for key in _COUNTERS})

    async def live_migration_force_complete(self, host: str, uuid: str) -> None:
        """Nova's way: switch to post-copy when permitted, else pause the guest so that its
        memory stops changing and the copy converges. The bandwidth cap is lifted too: the
        operator asked for the move to end now."""
        job = self._live_job(uuid)
        try:
            if job.post_copy:
                await self._conn.call(job.dom.migrateStartPostCopy, 0)
            else:
                await self._conn.call(job.dom.suspend)
                job.paused = True
            if self.settings.live_migration_bandwidth:
                await self._conn.call(job.dom.migrateSetMaxSpeed, _UNLIMITED_MIB_S, 0)
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot force the live migration of {uuid}: {exc}") from exc

    async def live_migration_abort(self, host: str, uuid: str) -> None:
        job = self._live_job(uuid)
        job.aborted = True
        try:
            await self._conn.call(job.dom.abortJob)
        except libvirt.libvirtError as exc:
            job.aborted = False
            raise DriverError(f"cannot abort the live migration of {uuid}: {exc}") from exc

    @property
    def _live_jobs(self) -> dict[str, _LiveJob]:
        # Created on first use, so the driver's constructor needs no part of it.
        if not hasattr(self, "_live_job_table"):
            self._live_job_table: dict[str, _LiveJob] = {}
        return self._live_job_table

    def _live_job(self, uuid: str) -> _LiveJob:
        job = self._live_jobs.get(uuid)
        if job is None:
            raise NoActiveMigration(f"no live migration of instance {uuid} runs on {self._host}")
        return job


@dataclass
class _LiveJob:
    dom: libvirt.virDomain
    dest_uri: str
    post_copy: bool
    aborted: bool = False
    paused: bool = False


@dataclass(frozen=True)
class _Options:
    bandwidth: int
    post_copy: bool


# libvirt's job statistics keys (VIR_DOMAIN_JOB_MEMORY_TOTAL ...) are Nova's column names.
_COUNTERS = (
    "memory_total",
    "memory_processed",
    "memory_remaining",
    "disk_total",
    "disk_processed",
    "disk_remaining",
)
# What "no cap" means to virDomainMigrateSetMaxSpeed (MiB/s; QEMU's own maximum).
_UNLIMITED_MIB_S = 8_796_093_022_207


def _resume_at(uri: str, uuid: str) -> None:
    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByUUIDString(uuid)
        if dom.info()[0] == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()
    finally:
        conn.close()


async def _copy_guest(src: InstanceFiles, dest: InstanceFiles) -> None:
    """The guest's files into another host's instances path. The root disk is flattened: the
    other host's image cache may not hold its backing file."""
    await asyncio.to_thread(dest.dir.mkdir, parents=True, exist_ok=True)
    if src.disk.exists():
        await imagebackend.flatten(src.disk, dest.disk)
    for name in (src.ephemeral.name, src.config_drive.name, src.spec_file.name):
        if (src.dir / name).exists():
            await asyncio.to_thread(shutil.copyfile, src.dir / name, dest.dir / name)


async def _prepare_destination(src: InstanceFiles, dest: InstanceFiles) -> None:
    """Empty disks of the same sizes (QEMU's block mirror fills them), the config drive and
    the spec copied: Nova's pre_live_migration on the destination."""
    await asyncio.to_thread(dest.dir.mkdir, parents=True, exist_ok=True)
    for disk in (src.disk, src.ephemeral):
        if disk.exists():
            info = await imagebackend.disk_info(disk)
            target = dest.dir / disk.name
            await imagebackend.qemu_img(
                "create", "-q", "-f", "qcow2", str(target), str(info.virtual_size)
            )
    for name in (src.config_drive.name, src.spec_file.name):
        if (src.dir / name).exists():
            await asyncio.to_thread(shutil.copyfile, src.dir / name, dest.dir / name)


def _relocate(xml: str, src_dir: Path, dest_dir: Path) -> str:
    return xml.replace(f"{src_dir}/", f"{dest_dir}/")


def _migrate(
    dom: libvirt.virDomain,
    dest_uri: str,
    dest_xml: str,
    dest_dir: Path,
    disks: list[str],
    options: _Options,
) -> None:
    flags = (
        libvirt.VIR_MIGRATE_LIVE
        | libvirt.VIR_MIGRATE_PEER2PEER
        | libvirt.VIR_MIGRATE_PERSIST_DEST
        | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
        | libvirt.VIR_MIGRATE_NON_SHARED_DISK
    )
    if options.post_copy:
        # Allowed, not started: force-complete switches to it.
        flags |= libvirt.VIR_MIGRATE_POSTCOPY
    # UNIX socket paths are short (108 bytes): the system's temporary directory, which both
    # daemons' QEMUs see.
    sockets = Path(tempfile.gettempdir()) / f"novamesh-{dest_dir.name[:13]}"
    params: dict[str, Any] = {
        libvirt.VIR_MIGRATE_PARAM_URI: f"unix://{sockets}.migrate.sock",
        libvirt.VIR_MIGRATE_PARAM_DISKS_URI: f"unix://{sockets}.disks.sock",
        libvirt.VIR_MIGRATE_PARAM_DEST_XML: dest_xml,
        libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: dest_xml,
        libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS: disks,
    }
    if options.bandwidth > 0:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = options.bandwidth
    dom.migrateToURI3(dest_uri, params, flags)
