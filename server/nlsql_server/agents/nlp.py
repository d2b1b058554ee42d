"""The NLP agent: picks the engine for a question, and drives the LLM's retry loop.

Engines: `offline` (deterministic, no network), `llm` (an OpenAI-compatible model) and `auto`,
the default: the offline engine when it is confident and placed every word of the question (its
own checks turn a doubtful reading into a decline), else the LLM when one is configured (and the
offline engine's doubtful answer after all when the LLM fails). The caller hands `answer`
a `run` coroutine that checks and executes SQL; when the LLM's SQL is refused or fails, the
agent asks the model again with the error, at most `LlmConfig.retries` times. The engines stay
pure: only `run` touches the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from anyio import to_thread

from ..engines.base import EngineContext, Generated
from ..engines.llm import Attempt, LlmConfig, LlmEngine
from ..engines.offline import OfflineEngine
from ..exceptions import CannotAnswer, InvalidParams, NlsqlError, QueryFailed, UnsafeSql
from ..settings import Settings

__all__ = ["ENGINES", "Answered", "NlpAgent"]

ENGINES = ("auto", "offline", "llm")
T = TypeVar("T")
Run = Callable[[Generated], Awaitable[T]]
Retrying = Callable[[str], Awaitable[None]]


async def _quiet(message: str) -> None:
    return None


@dataclass(frozen=True)
class Answered(Generic[T]):
    """The SQL that ran, what `run` returned for it, and the failed tries before it."""

    generated: Generated
    result: T
    attempts: list[Attempt] = field(default_factory=list)


class NlpAgent:
    """Holds the engines a server offers; `answer` routes a question and runs its SQL."""

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

    async def answer(
        self,
        question: str,
        context: EngineContext,
        engine: str | None,
        run: Run[T],
        retrying: Retrying = _quiet,
    ) -> Answered[T]:
        """Generate SQL with the chosen engine and `run` it; LLM SQL that fails is retried."""
        name = self._known(engine or self.default_engine)
        if name == "llm":
            self.llm.config.require()
            return await self._llm(question, context, run, retrying)
        try:
            offline = await to_thread.run_sync(self.offline.generate, question, context)
        except CannotAnswer as exc:
            if name == "offline" or not self.llm.configured:
                # Tells the client whether asking again with the LLM engine could help.
                exc.data.setdefault("engine", "offline")
                exc.data.setdefault("llm_configured", self.llm.configured)
                raise
            return await self._llm(question, context, run, retrying)
        # Precision first: an answer that left words unplaced may be confidently wrong.
        unplaced = offline.understood.get("unplaced")
        confident = offline.confidence >= self.auto_min_confidence and not unplaced
        if name == "offline" or confident or not self.llm.configured:
            return Answered(offline, await run(offline))
        try:
            return await self._llm(question, context, run, retrying)
        except NlsqlError:
            # The LLM failed (unreachable, or no SQL of its ran): a doubtful answer beats none.
            return Answered(offline, await run(offline))

    async def _llm(
        self, question: str, context: EngineContext, run: Run[T], retrying: Retrying
    ) -> Answered[T]:
        attempts: list[Attempt] = []
        while True:
            try:
                generated = await to_thread.run_sync(
                    self.llm.generate, question, context, tuple(attempts)
                )
            except (CannotAnswer, UnsafeSql) as exc:
                if "reply" not in exc.data:
                    raise
                self._retry_or_raise(exc, attempts, exc.data["reply"])
                await retrying(exc.message)
                continue
            try:
                return Answered(generated, await run(generated), attempts)
            except (UnsafeSql, QueryFailed) as exc:
                self._retry_or_raise(exc, attempts, generated.sql)
                await retrying(exc.message)

    def _retry_or_raise(self, exc: NlsqlError, attempts: list[Attempt], sql: str) -> None:
        """Record the failed try, or raise `exc` (with the tries) when no retry is left."""
        if len(attempts) >= self.llm.config.retries:
            exc.data["attempts"] = [{"sql": a.sql, "error": a.error} for a in attempts] + [
                {"sql": sql, "error": exc.message}
            ]
            raise exc
        attempts.append(Attempt(sql, exc.message))

    def _known(self, name: str) -> str:
        if name not in ENGINES:
            raise InvalidParams(
                f"Unknown engine {name!r}. Engines: {', '.join(ENGINES)}.", engines=list(ENGINES)
            )
        return name

    def close(self) -> None:
        self.llm.close()
