"""The LLM engine: the linked schema and the conversation in, one checked SQL statement out.

Pure like every engine: it reads the `EngineContext`, calls the model and checks the reply, but
never touches the database. Running the SQL, and trying again with the error when the database
refuses it, is the NLP agent's loop (`agents.nlp`), which hands earlier `attempts` back here.
Two checks happen here because they need only the schema and the attempts: every name of the
reply exists (`names`), and the reply is not a statement already tried — at temperature 0 a
model shown its error often writes the same query again, which would waste the retry.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot

from ...exceptions import CannotAnswer, UnsafeSql
from ..base import Engine, EngineContext, Generated
from .chat import ChatClient, Message, Usage
from .config import LlmConfig
from .examples import Example, fitting_examples, load_examples
from .names import unknown_name
from .options import WHOLE_SCHEMA_COLUMNS, Pipeline
from .prompt import Attempt, build_messages, fenced
from .relevance import SchemaRanker
from .reply import checked

__all__ = ["LlmEngine"]

#: How much of a bad reply travels back to the model and into the error's data.
_REPLY_KEPT = 2000
#: The temperature of the one extra call made when the model repeats a statement already tried:
#: greedy decoding would give the same statement again.
_EXPLORE = 0.7


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
        self.options = Pipeline()
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

    @property
    def usage(self) -> Usage:
        """The tokens spent so far (none before the first call)."""
        return self._chat.usage if self._chat is not None else Usage()

    def generate(
        self, question: str, context: EngineContext, attempts: Sequence[Attempt] = ()
    ) -> Generated:
        """SQL for `question`; `attempts` are earlier tries at it, each with its error.

        A reply without SQL raises `CannotAnswer`, one that is not a single read-only statement
        raises `UnsafeSql`; both carry the reply in `data["reply"]` so a retry can quote it.
        """
        self.config.require()
        self.ranker.max_columns = WHOLE_SCHEMA_COLUMNS if self.options.whole_schema else 0
        selection = self.ranker.select(question, context)
        if not selection.tables:
            raise CannotAnswer(
                "None of the question's words name a table, column or value of this database "
                f"({len(context.schema.tables)} tables): name what to look at.",
                understood={},
            )
        examples = fitting_examples(context.schema, self.examples)
        messages = build_messages(question, context, selection, examples, attempts, self.options)
        sql = self._ask(messages, context)
        tried = {_normal(a.sql) for a in attempts}
        if self.options.fresh_retries and _normal(sql) in tried:
            messages += [
                {"role": "assistant", "content": fenced(sql)},
                {
                    "role": "user",
                    "content": "That exact query was already tried and failed. "
                    "Write a different query for the same question.",
                },
            ]
            sql = self._ask(messages, context, _EXPLORE)
            if _normal(sql) in tried:
                raise CannotAnswer(
                    "The model wrote a query it had already tried, twice: no new try is left.",
                    understood={"tables": list(selection.tables)},
                )
        if self.options.check_names:
            problem = unknown_name(sqlglot.parse_one(sql, read=context.dialect), context.schema)
            if problem is not None:
                raise UnsafeSql(problem, reason="unknown_name", reply=sql)
        tables = list(selection.tables)
        return Generated(
            sql=sql,
            explanation=f"Written by {self.config.model} from the tables {', '.join(tables)}.",
            engine=self.name,
            understood={"tables": tables, "model": self.config.model},
        )

    def _ask(
        self, messages: list[Message], context: EngineContext, temperature: float | None = None
    ) -> str:
        """The one checked statement of the model's reply to `messages`."""
        reply = self.chat.complete(messages, temperature)
        try:
            return checked(reply, context.dialect)
        except (CannotAnswer, UnsafeSql) as exc:
            exc.data["reply"] = reply[:_REPLY_KEPT]
            raise

    def close(self) -> None:
        if self._chat is not None:
            self._chat.close()


def _normal(sql: str) -> str:
    """A statement's text with case, spacing and a trailing semicolon ignored."""
    return " ".join(sql.lower().rstrip().rstrip(";").split())
