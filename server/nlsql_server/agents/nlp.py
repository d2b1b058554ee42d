"""The NLP agent: decides who writes a question's SQL, and asks the engines for it.

Engines: `offline` (deterministic, no network), `llm` (an OpenAI-compatible model) and `auto`,
the default: the offline engine when it is confident and placed every word of the question (its
own checks turn a doubtful reading into a decline), else the LLM when one is configured (and the
offline engine's doubtful answer after all when the LLM fails). `draft` makes that decision;
the pipeline runs the SQL and owns the LLM's execution-guided retry loop, calling `generate_llm`
again with each failed attempt. The engines stay pure: this agent never touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engines.base import EngineContext, Generated
from ..engines.llm import Attempt, LlmConfig, LlmEngine
from ..engines.offline import OfflineEngine
from ..exceptions import CannotAnswer, InvalidParams
from ..settings import Settings
from ..workers import run_query

__all__ = ["ENGINES", "Draft", "NlpAgent"]

ENGINES = ("auto", "offline", "llm")


@dataclass(frozen=True)
class Draft:
    """The routing decision for one question, made before any SQL runs.

    `ask_llm` false: run `offline` as is. True: the LLM writes the SQL, and `offline` (when
    set) is the doubtful offline answer to run if the LLM fails.
    """

    offline: Generated | None
    ask_llm: bool


class NlpAgent:
    """Holds the engines a server offers and routes a question to them."""

    def __init__(
        self,
        default_engine: str = "auto",
        llm: LlmConfig | None = None,
        auto_min_confidence: float = 0.7,
    ) -> None:
        self.offline = OfflineEngine()
        self.llm = LlmEngine(llm or LlmConfig())
        self.default_engine = self._known(default_engine)
        self.auto_min_confidence = auto_min_confidence

    @classmethod
    def from_settings(cls, settings: Settings) -> NlpAgent:
        return cls(settings.engine, LlmConfig.from_settings(settings), settings.auto_min_confidence)

    @property
    def retries(self) -> int:
        """New LLM attempts allowed after SQL that was refused or failed."""
        return self.llm.config.retries

    async def draft(self, question: str, context: EngineContext, engine: str | None) -> Draft:
        """Choose the engine (`engine`, else the server's default) and run the offline one if it
        has a say. Raises `CannotAnswer` when the offline engine declines and no LLM can help."""
        name = self._known(engine or self.default_engine)
        if name == "llm":
            self.llm.config.require()
            return Draft(None, ask_llm=True)
        try:
            offline = await run_query(self.offline.generate, question, context)
        except CannotAnswer as exc:
            if name == "offline" or not self.llm.configured:
                # Tells the client whether asking again with the LLM engine could help.
                exc.data.setdefault("engine", "offline")
                exc.data.setdefault("llm_configured", self.llm.configured)
                raise
            return Draft(None, ask_llm=True)
        # Precision first: an answer that left words unplaced may be confidently wrong.
        unplaced = offline.understood.get("unplaced")
        confident = offline.confidence >= self.auto_min_confidence and not unplaced
        if name == "offline" or confident or not self.llm.configured:
            return Draft(offline, ask_llm=False)
        return Draft(offline, ask_llm=True)

    async def generate_llm(
        self, question: str, context: EngineContext, attempts: tuple[Attempt, ...]
    ) -> Generated:
        """One LLM completion (in a worker thread), shown the failed `attempts` before it."""
        return await run_query(self.llm.generate, question, context, attempts)

    def _known(self, name: str) -> str:
        if name not in ENGINES:
            raise InvalidParams(
                f"Unknown engine {name!r}. Engines: {', '.join(ENGINES)}.", engines=list(ENGINES)
            )
        return name

    def close(self) -> None:
        self.llm.close()
