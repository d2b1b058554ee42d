"""The long-lived parts of a server, built once from `Settings` and shared by every transport.

Services know nothing of the transports above them (the pipeline, the tools, the MCP server
built from those tools at the edge), so none of those is imported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .agents.data import ContextCache
from .agents.nlp import NlpAgent
from .databases.registry import Registry
from .sessions import SessionStore, build_store
from .settings import Settings

if TYPE_CHECKING:
    from .mcp_server import McpDoor


@dataclass
class Services:
    settings: Settings
    registry: Registry
    contexts: ContextCache
    sessions: SessionStore
    nlp: NlpAgent
    started_at: float = field(default_factory=time.time)
    #: The MCP endpoint over these services, made by the edge on first use (`mcp_server.door`).
    mcp: McpDoor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            registry=Registry(settings),
            contexts=ContextCache(settings.reference_date, settings.offline_min_confidence),
            sessions=build_store(settings.redis_url, settings.session_ttl, settings.max_sessions),
            nlp=NlpAgent.from_settings(settings),
        )

    def close(self) -> None:
        self.registry.close()
        self.nlp.close()

    async def aclose(self) -> None:
        """Close what needs the event loop (the session store's connections), then the rest."""
        await self.sessions.aclose()
        self.close()
