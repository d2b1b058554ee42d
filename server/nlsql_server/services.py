"""The long-lived parts of a server, built once from `Settings` and shared by every transport."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mcp.server.mcpserver import MCPServer

from .agents.data import ContextCache
from .agents.nlp import NlpAgent
from .databases.registry import Registry
from .sessions import SessionStore, build_store
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    registry: Registry
    contexts: ContextCache
    sessions: SessionStore
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
            contexts=ContextCache(settings.reference_date, settings.offline_min_confidence),
            sessions=build_store(settings.redis_url, settings.session_ttl, settings.max_sessions),
            nlp=NlpAgent.from_settings(settings),
        )
        services.mcp = build_mcp(services)
        return services

    def close(self) -> None:
        self.registry.close()
        self.nlp.close()

    async def aclose(self) -> None:
        """Close what needs the event loop (the session store's connections), then the rest."""
        await self.sessions.aclose()
        self.close()
