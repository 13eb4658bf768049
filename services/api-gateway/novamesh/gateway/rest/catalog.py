"""The catalog REST faces (flavor extra specs and access, quotas and limits, the network proxies,
hypervisors and tenant usage),
registered together so the gateway's main names them in one line."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from novamesh.compute.v1 import (
    api_flavor_extras_pb2,
    api_flavor_extras_pb2_grpc,
    api_hypervisors_pb2,
    api_hypervisors_pb2_grpc,
    api_networks_pb2,
    api_networks_pb2_grpc,
    api_quotas_pb2,
    api_quotas_pb2_grpc,
    api_usage_audit_pb2,
    api_usage_audit_pb2_grpc,
)
from novamesh.gateway.clients.hypervisors import HypervisorsClient
from novamesh.gateway.domain.deps import Deps
from novamesh.gateway.rest.call import Rest
from novamesh.gateway.rest.flavor_extras import FlavorExtrasRest
from novamesh.gateway.rest.hypervisors import HypervisorsRest, SimpleTenantUsageRest
from novamesh.gateway.rest.networks import NetworksRest
from novamesh.gateway.rest.quotas import QuotasRest
from novamesh.gateway.rest.usage_audit import InstanceUsageAuditLogRest

Registrar = Callable[[grpc.aio.Server], None]

SERVICE_NAMES = [
    api_flavor_extras_pb2.DESCRIPTOR.services_by_name["FlavorExtrasRestService"].full_name,
    api_quotas_pb2.DESCRIPTOR.services_by_name["QuotasRestService"].full_name,
    api_networks_pb2.DESCRIPTOR.services_by_name["NetworksRestService"].full_name,
    api_hypervisors_pb2.DESCRIPTOR.services_by_name["HypervisorsRestService"].full_name,
    api_hypervisors_pb2.DESCRIPTOR.services_by_name["SimpleTenantUsageRestService"].full_name,
    api_usage_audit_pb2.DESCRIPTOR.services_by_name["InstanceUsageAuditLogRestService"].full_name,
]


def registrars(rest: Rest, deps: Deps, nodes: HypervisorsClient | None = None) -> list[Registrar]:
    # One channel to the router's hypervisor service, for the life of the process.
    nodes = nodes or HypervisorsClient(deps.cfg.endpoints.router)
    max_limit = deps.cfg.api.max_limit
    hypervisors = HypervisorsRest(rest, nodes, max_limit, nodes)
    usage = SimpleTenantUsageRest(rest, nodes, max_limit)
    extras = FlavorExtrasRest(rest, deps)
    quotas = QuotasRest(rest, deps)
    nets = NetworksRest(rest, deps)
    audit = InstanceUsageAuditLogRest(rest, nodes)
    return [
        lambda s: api_flavor_extras_pb2_grpc.add_FlavorExtrasRestServiceServicer_to_server(
            extras, s
        ),
        lambda s: api_quotas_pb2_grpc.add_QuotasRestServiceServicer_to_server(quotas, s),
        lambda s: api_networks_pb2_grpc.add_NetworksRestServiceServicer_to_server(nets, s),
        lambda s: api_hypervisors_pb2_grpc.add_HypervisorsRestServiceServicer_to_server(
            hypervisors, s
        ),
        lambda s: api_hypervisors_pb2_grpc.add_SimpleTenantUsageRestServiceServicer_to_server(
            usage, s
        ),
        lambda s: api_usage_audit_pb2_grpc.add_InstanceUsageAuditLogRestServiceServicer_to_server(
            audit, s
        ),
    ]
