"""A scripted OpenAI-compatible chat server for the LLM engine's tests.

The only fake in the suite stands where the paid API would: a real Starlette app on 127.0.0.1
that the `openai` SDK reaches over real HTTP. Tests `enqueue` the replies it gives, in order,
and read back every request it received (`requests`, `prompts`). An empty script answers
HTTP 500 "no scripted reply", so a test that asks more than it scripted fails loudly.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlsql_server.services import Services
from nlsql_server.settings import Settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Scripted:
    """One reply: the assistant's text, or an HTTP error status; optionally after a delay."""

    content: str = ""
    status: int = 200
    delay: float = 0.0


class ScriptedLlm:
    """The app and its script. `url` is set by the fixture once the server listens."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self._script: list[Scripted] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    def enqueue(self, *replies: str | Scripted) -> None:
        with self._lock:
            self._script.extend(r if isinstance(r, Scripted) else Scripted(r) for r in replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    @property
    def prompts(self) -> list[str]:
        """Each request's messages joined into one text (what the model was shown)."""
        return [
            "\n".join(str(m.get("content", "")) for m in request["messages"])
            for request in self.requests
        ]

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body | {"authorization": request.headers.get("authorization")})
            reply = self._script.pop(0) if self._script else None
        if reply is None:
            return JSONResponse({"error": {"message": "no scripted reply"}}, status_code=500)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": f"scripted failure {reply.status}"}},
                status_code=reply.status,
            )
        return JSONResponse(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
                # The prompt counted in words, not tokens: enough to check what the client adds up.
                "usage": {
                    "prompt_tokens": (words := _words(body.get("messages", []))),
                    "completion_tokens": 0,
                    "total_tokens": words,
                },
            }
        )


def _words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def services_for(llm: ScriptedLlm, data_dir: Path, **settings: Any) -> Services:
    """Server services whose LLM engine talks to the scripted server `llm`."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "llm_base_url": llm.url,
        "llm_model": "scripted",
        "llm_timeout": 10.0,
    }
    return Services.from_settings(Settings(**(values | settings)))
