"""Where the LLM engine sends its questions, read once from `Settings`.

The defaults suit Moonshot's KIMI: a Moonshot key (`NLSQL_LLM_API_KEY` or `MOONSHOT_API_KEY`)
alone is enough. An `OPENAI_API_KEY` alone points at OpenAI instead, so that key never travels to
another provider. Any OpenAI-compatible server (llama.cpp, Ollama, vLLM) needs only
`NLSQL_LLM_BASE_URL` and `NLSQL_LLM_MODEL`; such servers usually want no key.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...settings import Settings
from .errors import LlmNotConfigured

__all__ = ["MOONSHOT_BASE_URL", "OPENAI_BASE_URL", "LlmConfig"]

MOONSHOT_BASE_URL = "https://api.moonshot.ai/v1"
MOONSHOT_MODEL = "kimi-k2.6"
OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_MODEL = "gpt-4.1-mini"
#: Local servers check no key, but the SDK insists on one.
_NO_KEY = "not-needed"

HOW_TO_CONFIGURE = (
    "The LLM engine is not configured. Set NLSQL_LLM_API_KEY (or MOONSHOT_API_KEY) for Moonshot "
    "KIMI, OPENAI_API_KEY for OpenAI, or NLSQL_LLM_BASE_URL and NLSQL_LLM_MODEL for any "
    "OpenAI-compatible server (llama.cpp, Ollama, vLLM); see docs/llm.md."
)


@dataclass(frozen=True)
class LlmConfig:
    """One OpenAI-compatible endpoint and how patiently to use it."""

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    #: Seconds one completion may take.
    timeout: float = 30.0
    #: New attempts after a reply whose SQL was refused or failed (each carries the error).
    retries: int = 2
    #: Sampling temperature; None leaves the provider's default (some models accept no other).
    temperature: float | None = None
    max_tokens: int = 512
    #: Tables the prompt describes at most, the most relevant first.
    max_tables: int = 8
    #: Consecutive failed calls that open the breaker, and seconds it then stays open.
    breaker_failures: int = 3
    breaker_reset: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmConfig:
        base_url = settings.llm_base_url
        key = settings.llm_api_key
        model = settings.llm_model
        if base_url is None and key is None and settings.openai_api_key:
            base_url, key, model = OPENAI_BASE_URL, settings.openai_api_key, model or OPENAI_MODEL
        elif base_url is None and key is not None:
            base_url, model = MOONSHOT_BASE_URL, model or MOONSHOT_MODEL
        elif base_url is not None and key is None:
            key = _NO_KEY
        return cls(
            base_url=base_url,
            api_key=key,
            model=model or (MOONSHOT_MODEL if base_url == MOONSHOT_BASE_URL else None),
            timeout=settings.llm_timeout,
            retries=settings.llm_retries,
            temperature=settings.llm_temperature,
        )

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.api_key and self.model)

    def require(self) -> None:
        """Raise `LlmNotConfigured` with the way to configure it, unless configured."""
        if not self.configured:
            missing = "NLSQL_LLM_MODEL is missing. " if self.base_url and not self.model else ""
            raise LlmNotConfigured(missing + HOW_TO_CONFIGURE)
