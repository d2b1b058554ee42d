"""Server configuration: one object, read once from `NLSQL_*` environment variables."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .exposure import LOOPBACK_HOSTS


def default_data_dir() -> Path:
    """Where the sample databases are generated: a per-user data directory."""
    return Path(platformdirs.user_data_dir("nlsql-jupyter", appauthor=False))


class Settings(BaseSettings):
    """Everything the server can be told. Build once at start-up and pass it down."""

    model_config = SettingsConfigDict(env_prefix="NLSQL_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    #: Serve the bundled sample databases (`retail`, `finance`).
    samples: bool = True
    #: Rows an answer carries at most; the answer says `truncated` past it.
    row_limit: int = 10_000
    #: Seconds one statement may run.
    query_timeout: float = 30.0
    #: A TOML/YAML file of named databases (`NLSQL_DATABASES`): `[databases.NAME] url = "..."`.
    databases_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("NLSQL_DATABASES", "databases_file")
    )
    #: Where the glossary overlays live (the meanings users chose; `overlay.py`); unset: a
    #: `glossary/` folder beside the databases file, else in the data directory.
    glossary_dir: Path | None = None
    #: Connections kept open per MySQL/TiDB database.
    pool_size: int = 4
    #: Default engine for `ask`: `auto` (offline when confident, else the LLM), `offline`, `llm`.
    engine: str = "auto"
    #: `auto` asks the LLM (when configured) below this offline-engine confidence.
    auto_min_confidence: float = 0.7
    #: The LLM engine (docs/llm.md): any OpenAI-compatible endpoint; defaults suit Moonshot KIMI.
    llm_base_url: str | None = None
    llm_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NLSQL_LLM_API_KEY", "MOONSHOT_API_KEY", "llm_api_key"),
    )
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    llm_model: str | None = None
    #: Seconds one LLM completion may take.
    llm_timeout: float = 30.0
    #: New attempts after LLM SQL that was refused or failed, each carrying the error.
    llm_retries: int = 2
    llm_temperature: float | None = None
    #: The day relative periods ("last year", "this quarter") count from; unset: the latest date
    #: in each database (`NLSQL_REFERENCE_DATE=2025-12-31`).
    reference_date: date | None = None
    #: Below this confidence the offline engine answers "can't answer" with what it understood.
    offline_min_confidence: float = 0.5
    #: Serve the WebSocket endpoint (off for proxies that block WebSockets).
    websocket: bool = True
    #: Keep sessions in this Redis (`NLSQL_REDIS_URL`, shared by replicas); unset: in memory.
    redis_url: str | None = None
    #: Seconds a session lives after its last use (in Redis, or in memory).
    session_ttl: float = 3600.0
    #: Sessions kept in memory at most (the least recently used goes first).
    max_sessions: int = 10_000
    #: When set (`NLSQL_TOKEN`), `/rpc`, `/ws` and `/mcp` need `Authorization: Bearer <token>`.
    token: str | None = None
    #: Host names the server answers to (`NLSQL_ALLOWED_HOSTS=a.example,b.example`; `*`: any,
    #: for a token-protected server on every interface). Defeats DNS rebinding.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOOPBACK_HOSTS)
    )
    #: Browser origins allowed to call the server (`NLSQL_ALLOWED_ORIGINS`); none by default:
    #: web pages are refused, clients that send no Origin (the kernel, the CLI) are not.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    #: Bytes one JSON-RPC message (an HTTP body, a WebSocket frame) may have.
    max_message_bytes: int = 1 << 20
    #: How deeply a message's arrays and objects may nest.
    max_json_depth: int = 32
    #: Requests one JSON-RPC batch may hold.
    max_batch: int = 50
    #: Characters a question may have: the engines' work grows with it.
    max_question_chars: int = 2000
    #: Bytes of memory all SQLite statements of this process may hold together (SQLite's hard
    #: heap limit, process-wide; 0: none). A query past it fails at once, so one step such as
    #: `printf('%.*c', 900000000, 'x')` cannot build a 900 MB string.
    sqlite_heap_bytes: int = 256 << 20
    #: Bytes of memory each DuckDB database may use (its `memory_limit`; 0: DuckDB's default,
    #: 80 % of the machine). Past it a query fails rather than swapping.
    duckdb_memory_bytes: int = 512 << 20
    #: Bytes of cell values one answer carries at most (about its JSON size); rows past it are
    #: left out and the answer says `truncated`, with a `note`.
    max_result_bytes: int = 64 << 20
    #: Bytes one text or blob cell carries at most; a longer one is cut, and the note says so.
    max_cell_bytes: int = 1 << 20
    #: A result of more rows than this goes to a client that asked for Arrow (`arrow: true`) as
    #: an Arrow IPC stream instead of JSON rows (docs/protocol.md, "Large results"). Charts
    #: are drawn up to 5,000 rows, so the default sends no chart's rows as Arrow.
    arrow_min_rows: int = Field(default=5_000, ge=0)
    #: Rows a query may be expected to read (its plan's estimate, before it runs) and still run
    #: without the client's confirmation (`confirm: true`, `nlsql … --yes`, the notebook's
    #: "Run anyway"); 0: never ask. A full scan of a million rows runs; a join that reads a
    #: table once per row of another (rows multiply) asks first.
    cost_budget_rows: int = Field(default=10_000_000, ge=0)
    #: Threads that run queries, engines and the work on their results at once (docs/limits.md).
    query_threads: int = 16
    #: Threads for cheap blocking calls (schema, registry): never queued behind queries.
    cheap_threads: int = 8
    #: Queries one client (a WebSocket connection; over HTTP one session, else one address)
    #: may have running or waiting; more are refused as `too_busy`.
    client_queries: int = 8

    #: Whether clients see where SQLite files live (`databases.list` URLs). `nlsql serve` on a
    #: public address turns it off unless NLSQL_DISCLOSE_PATHS says otherwise: a remote client
    #: then sees `sqlite:///retail.sqlite`, never the server's directories.
    disclose_paths: bool = True

    #: Rows one MCP tool result carries at most (`execute_query`, `ask`); a cut result says
    #: `truncated` and how many rows it left out.
    mcp_max_rows: int = Field(default=500, ge=1)
    #: Bytes of JSON one MCP tool result may take (rows, tables or databases are cut to fit).
    #: LLM agents cap a tool result near 25k tokens; 40 kB is about 10k.
    mcp_max_bytes: int = Field(default=40_000, ge=2_000)

    @property
    def overlay_dir(self) -> Path:
        """The folder of the glossary overlays (`glossary_dir`, or its default)."""
        if self.glossary_dir is not None:
            return self.glossary_dir.expanduser()
        if self.databases_file is not None:
            return self.databases_file.expanduser().resolve().parent / "glossary"
        return self.data_dir / "glossary"

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
