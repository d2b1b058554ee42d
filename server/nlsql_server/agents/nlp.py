"""The NLP agent: picks the engine for a question and asks it for SQL."""

from __future__ import annotations

from ..engines.base import Engine, EngineContext, Generated
from ..engines.offline import OfflineEngine
from ..exceptions import InvalidParams


class NlpAgent:
    """Holds the engines a server offers; `generate` routes a question to the chosen one."""

    def __init__(self, default_engine: str = "offline") -> None:
        self.engines: dict[str, Engine] = {"offline": OfflineEngine()}
        self.default_engine = default_engine

    def generate(self, question: str, context: EngineContext, engine: str | None) -> Generated:
        name = engine or self.default_engine
        chosen = self.engines.get(name)
        if chosen is None:
            raise InvalidParams(
                f"Unknown engine {name!r}. Engines: {', '.join(self.engines)}.",
                engines=list(self.engines),
            )
        return chosen.generate(question, context)
