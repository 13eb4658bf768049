"""ComputeAgentService: who this agent is and what its driver can do."""

from __future__ import annotations

import grpc
from novamesh.agent.v1 import agent_pb2, agent_pb2_grpc
from novamesh.agent.virt.driver import Driver


class ComputeAgentServicer(agent_pb2_grpc.ComputeAgentServiceServicer):
    def __init__(self, agent_id: str, version: str, driver: Driver) -> None:
        self._agent_id = agent_id
        self._version = version
        self._driver = driver

    async def GetInfo(
        self,
        request: agent_pb2.GetInfoRequest,
        context: grpc.aio.ServicerContext[agent_pb2.GetInfoRequest, agent_pb2.AgentInfo],
    ) -> agent_pb2.AgentInfo:
        return agent_pb2.AgentInfo(
            agent_id=self._agent_id,
            version=self._version,
            driver=self._driver.name,
            hosts=list(self._driver.list_hosts()),
            capabilities=sorted(self._driver.capabilities),
        )
