"""Protos <-> the scheduler's own types. The only module besides the gRPC adapters that knows
the generated code."""

from __future__ import annotations

from novamesh.cells.v1 import router_pb2
from novamesh.placement.v1 import placement_pb2 as ppb
from novamesh.scheduler.filters.availability_zone import host_zones
from novamesh.scheduler.host_state import HostReport, NumaCell, PciPool
from novamesh.scheduler.pipeline import Choice, Placed
from novamesh.scheduler.spec import Destination, Flavor, ImageMeta, InstanceGroup, RequestSpec
from novamesh.scheduler.v1 import request_spec_pb2 as rpb
from novamesh.scheduler.v1 import scheduler_pb2 as spb


def spec_from_proto(msg: rpb.RequestSpec) -> RequestSpec:
    f = msg.flavor
    img = msg.image
    spec = RequestSpec(
        project_id=msg.project_id,
        user_id=msg.user_id,
        flavor=Flavor(
            id=f.id,
            name=f.name,
            vcpus=f.vcpus,
            memory_mb=f.memory_mb,
            root_gb=f.root_gb,
            ephemeral_gb=f.ephemeral_gb,
            swap=f.swap,
            extra_specs=dict(f.extra_specs),
        ),
        image=ImageMeta(
            id=img.id,
            name=img.name,
            disk_format=img.disk_format,
            container_format=img.container_format,
            min_ram=img.min_ram,
            min_disk=img.min_disk,
            properties=dict(img.properties),
        ),
        availability_zone=msg.availability_zone,
        scheduler_hints={k: list(v.values) for k, v in msg.scheduler_hints.items()},
        num_instances=msg.num_instances or 1,
        ignore_hosts=list(msg.ignore_hosts),
        force_hosts=list(msg.force_hosts),
        force_nodes=list(msg.force_nodes),
        is_bfv=msg.is_bfv,
        member_of=list(msg.member_of),
        source_cell_uuid=msg.source_cell_uuid,
    )
    if msg.HasField("requested_destination"):
        d = msg.requested_destination
        spec.requested_destination = Destination(d.host, d.node, d.cell_uuid, list(d.aggregates))
    if msg.HasField("instance_group") and msg.instance_group.policy:
        g = msg.instance_group
        spec.instance_group = InstanceGroup(
            uuid=g.uuid,
            policy=g.policy,
            rules=dict(g.rules),
            members=set(g.members),
            hosts=list(g.hosts),
        )
    if msg.HasField("retry"):
        spec.num_attempts = msg.retry.num_attempts
        for entry in msg.retry.hosts:
            host, _, node = entry.partition(":")
            spec.retry_hosts.append((host, node or host))
    return spec


def report_from_proto(msg: router_pb2.HostStateUpdate) -> HostReport:
    r = msg.resources
    return HostReport(
        uuid=r.compute_node_uuid,
        host=r.host,
        nodename=r.nodename,
        cell_uuid=msg.cell_uuid,
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
        metrics=dict(r.metrics),
        service_up=msg.service_up,
        service_disabled=msg.service_disabled,
        num_io_ops=msg.num_io_ops,
        instance_uuids=list(msg.instance_uuids),
        numa_cells=[
            # CPUs pinned to guests are used whatever the guests' vCPU usage says.
            NumaCell(
                c.id, len(c.cpus), c.memory_mb, max(c.cpu_usage, len(c.pinned_cpus)), c.memory_usage
            )
            for c in r.numa_cells
        ],
        pci_pools=[
            PciPool(p.vendor_id, p.product_id, p.count, None if p.numa_node < 0 else p.numa_node)
            for p in r.pci_pools
        ],
    )


def _selection(choice: Choice) -> spb.Selection:
    host = choice.host
    cand = choice.candidate
    return spb.Selection(
        host=host.host,
        nodename=host.nodename,
        compute_node_uuid=host.uuid,
        cell_uuid=host.cell_uuid,
        availability_zone=min(host_zones(host), default=""),
        allocation=ppb.AllocationRequest(
            allocations={
                rp: ppb.ProviderAllocation(resources=res) for rp, res in cand.allocations.items()
            },
            mappings={k: ppb.AnyOf(values=v) for k, v in cand.mappings.items()},
        ),
    )


def response_to_proto(placed: list[Placed]) -> spb.SelectDestinationsResponse:
    return spb.SelectDestinationsResponse(
        results=[
            spb.InstanceSelections(
                instance_uuid=p.instance_uuid,
                selections=[_selection(p.chosen), *(_selection(a) for a in p.alternates)],
            )
            for p in placed
        ]
    )
