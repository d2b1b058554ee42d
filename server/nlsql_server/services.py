"""The long-lived parts of a server, built once from `Settings` and shared by every transport."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            registry=Registry(settings),
            contexts=ContextCache(),
            sessions=MemorySessionStore(),
            nlp=NlpAgent(settings.engine),
        )

    def close(self) -> None:
        self.registry.close()
