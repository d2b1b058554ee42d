"""The long-lived parts of a server, built once from `Settings` and shared by every transport."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mcp.server.mcpserver import MCPServer

from .agents.data import ContextCache
from .agents.nlp import NlpAgent
from .databases.registry import Registry
from .sessions import MemorySessionStore
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    registry: Registry
    contexts: ContextCache
    sessions: MemorySessionStore
    nlp: NlpAgent
    started_at: float = field(default_factory=time.time)
    #: The MCP tools over these services (built right after the services themselves).
    mcp: MCPServer = field(init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        from .tools import build_mcp

        services = cls(
            settings=settings,
            registry=Registry(settings),
            contexts=ContextCache(),
            sessions=MemorySessionStore(),
            nlp=NlpAgent(settings.engine),
        )
        services.mcp = build_mcp(services)
        return services

    def close(self) -> None:
        self.registry.close()
