"""Between the channel's protos and the agent's own types; the only module that knows both."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from novamesh.agent import action_commands as ac
from novamesh.agent import device_commands as dc
from novamesh.agent import host_event_commands as he
from novamesh.agent.commands import Build, Command, Power, PowerKind, StateUpdate, Terminate
from novamesh.agent.ledger import Outcome
from novamesh.agent.live_migration import ProgressReport
from novamesh.agent.resources import HostReport
from novamesh.agent.v1 import agent_pb2, host_topology_pb2, live_migration_pb2
from novamesh.agent.virt.model import (
    BlockDevice,
    InstanceSpec,
    NetworkInterface,
    RequestedNetwork,
)

_POWER_KINDS = {
    agent_pb2.PowerAction.KIND_START: PowerKind.START,
    agent_pb2.PowerAction.KIND_STOP: PowerKind.STOP,
    agent_pb2.PowerAction.KIND_REBOOT_SOFT: PowerKind.REBOOT_SOFT,
    agent_pb2.PowerAction.KIND_REBOOT_HARD: PowerKind.REBOOT_HARD,
    agent_pb2.PowerAction.KIND_PAUSE: PowerKind.PAUSE,
    agent_pb2.PowerAction.KIND_UNPAUSE: PowerKind.UNPAUSE,
    agent_pb2.PowerAction.KIND_SUSPEND: PowerKind.SUSPEND,
    agent_pb2.PowerAction.KIND_RESUME: PowerKind.RESUME,
}
POWER_KIND_PROTOS = {v: k for k, v in _POWER_KINDS.items()}


class BadCommand(ValueError):
    """A command the agent cannot understand (a newer router, or a bug)."""


def command_from_proto(cmd: agent_pb2.AgentCommand) -> Command:
    body = cmd.WhichOneof("body")
    if body == "build":
        return Build(instance_spec_from_proto(cmd.build.instance))
    if body == "terminate":
        if not cmd.terminate.instance_uuid:
            raise BadCommand("terminate without an instance uuid")
        return Terminate(cmd.terminate.instance_uuid)
    if body == "power":
        kind = _POWER_KINDS.get(cmd.power.kind)
        if kind is None or not cmd.power.instance_uuid:
            raise BadCommand(f"power action {cmd.power.kind} for {cmd.power.instance_uuid!r}")
        return Power(cmd.power.instance_uuid, kind)
    action = _action_from_proto(cmd, body)
    if action is not None:
        return action
    device = _device_from_proto(cmd, body)
    if device is not None:
        return device
    event = _host_event_from_proto(cmd, body)
    if event is not None:
        return event
    raise BadCommand(f"unknown command body {body!r}")


def _action_from_proto(cmd: agent_pb2.AgentCommand, body: str | None) -> Command | None:
    match body:
        case "migrate_out":
            m = cmd.migrate_out
            return ac.MigrateOut(_uuid(m.instance_uuid), m.dest_host, m.migration_uuid)
        case "finish_migration":
            f = cmd.finish_migration
            return ac.FinishMigration(
                instance_spec_from_proto(f.instance), f.migration_uuid, f.power_on
            )
        case "confirm_migration":
            c = cmd.confirm_migration
            return ac.ConfirmMigration(_uuid(c.instance_uuid), c.migration_uuid)
        case "revert_migration":
            r = cmd.revert_migration
            return ac.RevertMigration(
                instance_spec_from_proto(r.instance), r.migration_uuid, r.destroy_only, r.power_on
            )
        case "rescue":
            return ac.Rescue(
                _uuid(cmd.rescue.instance_uuid), cmd.rescue.image_id, cmd.rescue.admin_pass
            )
        case "unrescue":
            return ac.Unrescue(_uuid(cmd.unrescue.instance_uuid))
        case "set_admin_password":
            p = cmd.set_admin_password
            return ac.SetAdminPassword(_uuid(p.instance_uuid), p.password)
        case "trigger_crash_dump":
            return ac.TriggerCrashDump(_uuid(cmd.trigger_crash_dump.instance_uuid))
        case "snapshot":
            s = cmd.snapshot
            return ac.Snapshot(_uuid(s.instance_uuid), s.image_id, s.image_type or "snapshot")
        case "shelve_offload":
            return ac.ShelveOffload(_uuid(cmd.shelve_offload.instance_uuid))
        case "unshelve":
            return ac.Unshelve(instance_spec_from_proto(cmd.unshelve.instance))
        case "rebuild":
            rb = cmd.rebuild
            return ac.Rebuild(
                instance_spec_from_proto(rb.instance),
                rb.preserve_ephemeral,
                rb.power_on,
                rb.on_new_host,
            )
        case "live_migrate":
            lm = cmd.live_migrate
            return ac.LiveMigrate(
                instance_spec_from_proto(lm.instance), lm.dest_host, lm.migration_uuid
            )
        case "live_migration_force_complete":
            fc = cmd.live_migration_force_complete
            return ac.LiveMigrationForceComplete(_uuid(fc.instance_uuid), fc.migration_uuid)
        case "live_migration_abort":
            ab = cmd.live_migration_abort
            return ac.LiveMigrationAbort(_uuid(ab.instance_uuid), ab.migration_uuid)
        case "post_live_migration_at_destination":
            pl = cmd.post_live_migration_at_destination
            return ac.PostLiveMigrationAtDestination(
                instance_spec_from_proto(pl.instance), pl.migration_uuid
            )
        case "get_console_output":
            g = cmd.get_console_output
            return ac.GetConsoleOutput(_uuid(g.instance_uuid), g.length)
    return None


def _device_from_proto(cmd: agent_pb2.AgentCommand, body: str | None) -> Command | None:
    match body:
        case "get_diagnostics":
            return dc.GetDiagnostics(_uuid(cmd.get_diagnostics.instance_uuid))
        case "get_console":
            return dc.GetConsole(_uuid(cmd.get_console.instance_uuid), cmd.get_console.protocol)
        case "attach_interface":
            a = cmd.attach_interface
            return dc.AttachInterface(
                _uuid(a.instance_uuid), a.port_id, a.network_id, a.fixed_ip, a.tag
            )
        case "detach_interface":
            d = cmd.detach_interface
            return dc.DetachInterface(_uuid(d.instance_uuid), d.port_id)
        case "attach_volume":
            v = cmd.attach_volume
            return dc.AttachVolume(_uuid(v.instance_uuid), v.volume_id, v.device, v.tag, v.size_gb)
        case "detach_volume":
            return dc.DetachVolume(
                _uuid(cmd.detach_volume.instance_uuid), cmd.detach_volume.volume_id
            )
        case "swap_volume":
            s = cmd.swap_volume
            return dc.SwapVolume(_uuid(s.instance_uuid), s.old_volume_id, s.new_volume_id)
        case "get_host_uptime":
            return dc.GetHostUptime()
    return None


def _host_event_from_proto(cmd: agent_pb2.AgentCommand, body: str | None) -> Command | None:
    match body:
        case "power_update":
            p = cmd.power_update
            return he.PowerUpdate(_uuid(p.instance_uuid), p.power_on)
        case "extend_volume":
            e = cmd.extend_volume
            return he.ExtendVolume(_uuid(e.instance_uuid), e.volume_id, e.size_gb)
        case "destroy_evacuated":
            d = cmd.destroy_evacuated
            return he.DestroyEvacuated(_uuid(d.instance_uuid), d.migration_uuid)
        case "forget_evacuated":
            f = cmd.forget_evacuated
            return he.ForgetEvacuated(_uuid(f.instance_uuid), f.migration_uuid)
    return None


def _uuid(value: str) -> str:
    if not value:
        raise BadCommand("an action without an instance uuid")
    return value


def instance_spec_from_proto(spec: agent_pb2.InstanceSpec) -> InstanceSpec:
    if not spec.uuid:
        raise BadCommand("build without an instance uuid")
    flavor = spec.flavor
    return InstanceSpec(
        uuid=spec.uuid,
        name=spec.name,
        hostname=spec.hostname,
        project_id=spec.project_id,
        user_id=spec.user_id,
        flavor_name=flavor.name,
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb,
        swap_mb=flavor.swap,
        image_id=spec.image.id,
        image_properties=dict(spec.image.properties),
        flavor_extra_specs=dict(flavor.extra_specs),
        metadata=dict(spec.metadata),
        user_data=spec.user_data,
        key_name=spec.key_name,
        key_data=spec.key_data,
        admin_pass=spec.admin_pass,
        config_drive=spec.config_drive,
        networks=tuple(
            RequestedNetwork(n.network_id, n.port_id, n.fixed_ip, n.tag) for n in spec.networks
        ),
        node=spec.node,
        block_devices=tuple(
            BlockDevice(
                source_type=b.source_type,
                destination_type=b.destination_type,
                boot_index=b.boot_index,
                device_name=b.device_name,
                volume_size=b.volume_size,
                image_id=b.image_id,
                volume_id=b.volume_id,
                guest_format=b.guest_format,
            )
            for b in spec.block_devices
        ),
    )


def interface_to_proto(i: NetworkInterface) -> agent_pb2.NetworkInterface:
    return agent_pb2.NetworkInterface(
        network=i.network,
        address=i.address,
        version=i.version,
        mac_address=i.mac_address,
        port_id=i.port_id,
        tag=i.tag,
    )


def update_to_proto(u: StateUpdate) -> agent_pb2.InstanceUpdate:
    msg = agent_pb2.InstanceUpdate(
        instance_uuid=u.uuid,
        host=u.host,
        vm_state=u.vm_state,
        task_state=u.task_state,
        power_state=int(u.power_state),
        event=u.event,
        event_result=u.event_result,
        fault_message=u.fault_message,
        interfaces=[interface_to_proto(i) for i in u.interfaces],
    )
    if u.launched_at is not None:
        ts = Timestamp()
        ts.FromDatetime(u.launched_at)
        msg.launched_at.CopyFrom(ts)
    return msg


def report_to_proto(r: HostReport) -> agent_pb2.HostResources:
    return agent_pb2.HostResources(
        host=r.host,
        nodename=r.nodename,
        compute_node_uuid=r.compute_node_uuid,
        hypervisor_type=r.hypervisor_type,
        hypervisor_version=r.hypervisor_version,
        hypervisor_hostname=r.hypervisor_hostname,
        vcpus=r.vcpus,
        vcpus_used=r.vcpus_used,
        memory_mb=r.memory_mb,
        memory_mb_used=r.memory_mb_used,
        local_gb=r.local_gb,
        local_gb_used=r.local_gb_used,
        running_vms=r.running_vms,
        cpu_allocation_ratio=r.cpu_allocation_ratio,
        ram_allocation_ratio=r.ram_allocation_ratio,
        disk_allocation_ratio=r.disk_allocation_ratio,
        host_ip=r.host_ip,
        availability_zone=r.availability_zone,
        cpu_info=r.cpu_info,
        traits=list(r.traits),
        numa_cells=[
            host_topology_pb2.NumaCell(
                id=c.id,
                cpus=c.cpus,
                memory_mb=c.memory_mb,
                cpu_usage=c.cpu_usage,
                memory_usage=c.memory_usage,
                pinned_cpus=c.pinned_cpus,
                siblings=[host_topology_pb2.CpuSiblings(cpus=s) for s in c.siblings],
            )
            for c in r.topology.cells
        ],
        pci_pools=[
            host_topology_pb2.PciDevicePool(
                vendor_id=p.vendor_id,
                product_id=p.product_id,
                count=p.count,
                numa_node=-1 if p.numa_node is None else p.numa_node,
                tags=p.tags,
            )
            for p in r.topology.pci_pools
        ],
    )


def progress_to_proto(r: ProgressReport) -> live_migration_pb2.LiveMigrationProgress:
    p = r.progress
    return live_migration_pb2.LiveMigrationProgress(
        migration_uuid=r.migration_uuid,
        instance_uuid=r.instance_uuid,
        host=r.host,
        memory_total_bytes=p.memory_total,
        memory_processed_bytes=p.memory_processed,
        memory_remaining_bytes=p.memory_remaining,
        disk_total_bytes=p.disk_total,
        disk_processed_bytes=p.disk_processed,
        disk_remaining_bytes=p.disk_remaining,
    )


def outcome_to_proto(o: Outcome) -> agent_pb2.CommandResult:
    return agent_pb2.CommandResult(
        command_id=o.command_id,
        instance_uuid=o.instance_uuid,
        ok=o.ok,
        error=o.error,
        retryable=o.retryable,
        data=o.data,
    )
