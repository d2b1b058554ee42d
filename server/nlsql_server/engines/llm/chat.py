"""One chat completion through the `openai` SDK, guarded by a time-out and a breaker.

The single place where the SDK's exceptions become ours (`LlmUnavailable`), so the rest of the
engine never sees a provider's error types. The SDK is imported when the first client is made,
not with this module: it costs about half a second, and a server on the offline engine (the
default) never calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...breaker import CircuitBreaker
from .config import LlmConfig
from .errors import LlmUnavailable

if TYPE_CHECKING:
    import openai

__all__ = ["ChatClient", "Message", "Usage"]

Message = dict[str, str]


@dataclass
class Usage:
    """Tokens the endpoint reported over this client's calls: on a hosted model the bill, on a
    local one the latency (prompt tokens are read before the first word is written)."""

    calls: int = 0
    prompt_tokens: int = 0

    def since(self, earlier: Usage) -> Usage:
        """What was spent after `earlier`, a copy of this usage taken then."""
        return Usage(self.calls - earlier.calls, self.prompt_tokens - earlier.prompt_tokens)


class ChatClient:
    """Sends messages to the configured endpoint and returns the reply's text."""

    def __init__(self, config: LlmConfig, breaker: CircuitBreaker | None = None) -> None:
        import openai

        self.config = config
        self.breaker = breaker or CircuitBreaker(config.breaker_failures, config.breaker_reset)
        self.usage = Usage()
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            timeout=config.timeout,
            # The breaker and the SQL retry loop decide about repeats; the SDK's own retries
            # would multiply the time a user waits behind a dead endpoint.
            max_retries=0,
        )

    def complete(self, messages: Sequence[Message], temperature: float | None = None) -> str:
        """The reply text; `LlmUnavailable` when the endpoint fails, times out or is shut off.

        `temperature` overrides the configured one for this call (a retry that must differ).
        """
        import openai

        if not self.breaker.allow():
            wait = self.breaker.retry_in()
            raise LlmUnavailable(
                f"The LLM at {self.config.base_url} failed {self.breaker.consecutive_failures} "
                f"times in a row; it is not asked again for {wait:.0f} s.",
                retry_in=round(wait, 1),
            )
        options: dict[str, Any] = {"max_tokens": self.config.max_tokens}
        if temperature is None:
            temperature = self.config.temperature
        if temperature is not None:
            options["temperature"] = temperature
        try:
            response = self._client.chat.completions.create(
                model=self.config.model or "",
                messages=list(messages),  # type: ignore[arg-type]
                **options,
            )
        except openai.APITimeoutError as exc:
            self.breaker.record_failure()
            raise LlmUnavailable(
                f"The LLM at {self.config.base_url} did not answer within "
                f"{self.config.timeout:g} s (NLSQL_LLM_TIMEOUT).",
                timeout=self.config.timeout,
            ) from exc
        except openai.APIConnectionError as exc:
            self.breaker.record_failure()
            raise LlmUnavailable(
                f"The LLM at {self.config.base_url} could not be reached: {exc}."
            ) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                self.breaker.record_failure()
            else:
                self.breaker.release()  # the endpoint answered: no verdict on its health
            raise LlmUnavailable(
                f"The LLM at {self.config.base_url} answered HTTP {exc.status_code}: "
                f"{_detail(exc)}",
                status=exc.status_code,
            ) from exc
        except BaseException:
            self.breaker.release()  # interrupted, or a reply the SDK could not read: free the probe
            raise
        self.breaker.record_success()
        self.usage.calls += 1
        if response.usage is not None:
            self.usage.prompt_tokens += response.usage.prompt_tokens
        choices = response.choices or []
        content = choices[0].message.content if choices else None
        return content or ""

    def close(self) -> None:
        self._client.close()


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return exc.message
