"""The LLM engine: the linked schema and the conversation in, one checked SQL statement out.

Pure like every engine: it reads the `EngineContext`, calls the model and checks the reply, but
never touches the database. Running the SQL, and trying again with the error when the database
refuses it, is the NLP agent's loop (`agents.nlp`), which hands earlier `attempts` back here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...exceptions import CannotAnswer, UnsafeSql
from ..base import Engine, EngineContext, Generated
from .chat import ChatClient
from .config import LlmConfig
from .examples import Example, fitting_examples, load_examples
from .prompt import Attempt, build_messages
from .relevance import SchemaRanker
from .reply import checked

__all__ = ["LlmEngine"]

#: How much of a bad reply travels back to the model and into the error's data.
_REPLY_KEPT = 2000


class LlmEngine(Engine):
    """Asks an OpenAI-compatible model; see `LlmConfig` for where and how patiently."""

    name = "llm"

    def __init__(
        self,
        config: LlmConfig,
        chat: ChatClient | None = None,
        examples: Sequence[Example] | None = None,
    ) -> None:
        self.config = config
        self.ranker = SchemaRanker(config.max_tables)
        self.examples = tuple(load_examples() if examples is None else examples)
        self._chat = chat

    @property
    def configured(self) -> bool:
        return self.config.configured

    @property
    def chat(self) -> ChatClient:
        """The client, made on first use (so an unconfigured server never builds one)."""
        if self._chat is None:
            self.config.require()
            self._chat = ChatClient(self.config)
        return self._chat

    def generate(
        self, question: str, context: EngineContext, attempts: Sequence[Attempt] = ()
    ) -> Generated:
        """SQL for `question`; `attempts` are earlier tries at it, each with its error.

        A reply without SQL raises `CannotAnswer`, one that is not a single read-only statement
        raises `UnsafeSql`; both carry the reply in `data["reply"]` so a retry can quote it.
        """
        self.config.require()
        selection = self.ranker.select(question, context)
        if not selection.tables:
            raise CannotAnswer(
                "None of the question's words name a table, column or value of this database "
                f"({len(context.schema.tables)} tables): name what to look at.",
                understood={},
            )
        examples = fitting_examples(context.schema, self.examples)
        messages = build_messages(question, context, selection, examples, attempts)
        reply = self.chat.complete(messages)
        try:
            sql = checked(reply, context.dialect)
        except (CannotAnswer, UnsafeSql) as exc:
            exc.data["reply"] = reply[:_REPLY_KEPT]
            raise
        tables = list(selection.tables)
        return Generated(
            sql=sql,
            explanation=f"Written by {self.config.model} from the tables {', '.join(tables)}.",
            engine=self.name,
            understood={"tables": tables, "model": self.config.model},
        )

    def close(self) -> None:
        if self._chat is not None:
            self._chat.close()
