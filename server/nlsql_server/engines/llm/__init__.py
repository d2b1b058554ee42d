"""The LLM engine: any OpenAI-compatible chat endpoint (Moonshot KIMI by default), one module
per step:

1. `config`: where to send questions (`NLSQL_LLM_*`, `MOONSHOT_API_KEY`, `OPENAI_API_KEY`);
2. `relevance`: the tables a question is about, through the offline engine's schema linking;
3. `prompt` (+ `dialects`, `examples`): instructions, linked schema, glossary, sample values,
   verified examples, earlier turns and earlier failed attempts;
4. `chat`: the call through the `openai` SDK with a time-out and a breaker (`nlsql_server.breaker`);
5. `reply`: exactly one read-only statement out of the reply, checked by `safety`.
"""

from __future__ import annotations

from .config import LlmConfig
from .engine import LlmEngine
from .errors import LlmNotConfigured, LlmUnavailable
from .prompt import Attempt

__all__ = ["Attempt", "LlmConfig", "LlmEngine", "LlmNotConfigured", "LlmUnavailable"]
