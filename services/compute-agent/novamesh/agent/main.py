"""novamesh-agent: a compute agent. Its own small gRPC server answers GetInfo; the real work
arrives over the channel it opens to its cell's router."""

from __future__ import annotations

from novamesh.agent.agent import Agent
from novamesh.agent.servicer import ComputeAgentServicer
from novamesh.agent.v1 import agent_pb2, agent_pb2_grpc
from novamesh.common import service
from novamesh.common.config import Config

SERVICE_NAME = agent_pb2.DESCRIPTOR.services_by_name["ComputeAgentService"].full_name


async def build(cfg: Config) -> service.ServiceSpec:
    agent = Agent(cfg)
    servicer = ComputeAgentServicer(agent.agent_id, agent.version, agent.driver)
    return service.ServiceSpec(
        listen=cfg.endpoints.agent,
        registrars=[
            lambda server: agent_pb2_grpc.add_ComputeAgentServiceServicer_to_server(
                servicer, server
            )
        ],
        service_names=[SERVICE_NAME],
        on_start=agent.start,
        on_stop=agent.stop,
        extra={"agent": agent},
    )


def main() -> None:
    service.run("agent", build)
