"""JSON-RPC 2.0 dispatch shared by `/ws` and `/rpc`: one message in, one response out.

Transport code only moves bytes; everything about methods, params and errors lives here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import __version__, mcp_server, pipeline, protocol, tools, workers
from .agents import viz
from .exceptions import InvalidParams, NlsqlError
from .protocol import ErrorCode
from .services import Services

log = logging.getLogger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[Services, dict[str, Any], Any, Notify], Awaitable[Any]]


def _str_param(params: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidParams(f"`{name}` must be a non-empty string.", param=name)
    return value.strip()


async def _ping(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    return {"pong": True, "version": __version__}


async def _databases_list(
    services: Services, params: dict[str, Any], rid: Any, notify: Notify
) -> Any:
    return await tools.list_databases(services)


async def _session_open(
    services: Services, params: dict[str, Any], rid: Any, notify: Notify
) -> Any:
    sid = _str_param(params, "session_id", required=False)
    session = await services.sessions.open(sid, services.registry.default_name())
    return {"session_id": session.session_id, "database": session.database}


async def _session_use(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    sid = _str_param(params, "session_id")
    name = _str_param(params, "database")
    await workers.run_cheap(services.registry.get, name)  # unknown names fail here, listing all
    session = await services.sessions.open(sid, services.registry.default_name())
    session.database = name
    await services.sessions.save(session)
    return {"session_id": session.session_id, "database": session.database}


async def _session_get(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    sid = _str_param(params, "session_id")
    session = await services.sessions.open(sid, services.registry.default_name())
    return session.to_dict()


async def _schema_tables(
    services: Services, params: dict[str, Any], rid: Any, notify: Notify
) -> Any:
    return await tools.discover_tables(services, _str_param(params, "database"))


async def _schema_describe(
    services: Services, params: dict[str, Any], rid: Any, notify: Notify
) -> Any:
    return await tools.get_table_schema(
        services, _str_param(params, "database"), _str_param(params, "table")
    )


async def _tools_list(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    return await mcp_server.door(services).list_tools()


async def _tools_call(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    arguments = params.get("arguments", {})
    if not isinstance(arguments, dict):
        raise InvalidParams("`arguments` must be an object.", param="arguments")
    return await mcp_server.door(services).call_tool(_str_param(params, "name"), arguments)


async def _sql_run(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    return await tools.run_sql(
        services, _str_param(params, "database"), _str_param(params, "sql"), params.get("limit")
    )


async def _ask(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    async def progress(stage: str, message: str, elapsed_ms: float) -> None:
        await notify(
            protocol.notification(
                protocol.ASK_PROGRESS,
                {"request_id": rid, "stage": stage, "message": message, "elapsed_ms": elapsed_ms},
            )
        )

    question = params.get("question")
    if question is not None and not isinstance(question, str):
        raise InvalidParams("`question` must be a string.", param="question")
    return await pipeline.ask(
        services,
        question or "",
        database=_str_param(params, "database", required=False),
        session_id=_str_param(params, "session_id", required=False),
        engine=_str_param(params, "engine", required=False),
        limit=params.get("limit"),
        execute=bool(params.get("execute", True)),
        chart=viz.chart_kind(params.get("chart")),
        progress=progress,
    )


async def _stats(services: Services, params: dict[str, Any], rid: Any, notify: Notify) -> Any:
    return {
        "version": __version__,
        "uptime_s": round(time.time() - services.started_at, 1),
        "databases": services.registry.names(),
        "sessions": services.sessions.stats(),
        "workers": workers.stats(),
    }


METHODS: dict[str, Handler] = {
    protocol.PING: _ping,
    protocol.DATABASES_LIST: _databases_list,
    protocol.SESSION_OPEN: _session_open,
    protocol.SESSION_USE: _session_use,
    protocol.SESSION_GET: _session_get,
    protocol.SCHEMA_TABLES: _schema_tables,
    protocol.SCHEMA_DESCRIBE: _schema_describe,
    protocol.SQL_RUN: _sql_run,
    protocol.ASK: _ask,
    protocol.TOOLS_LIST: _tools_list,
    protocol.TOOLS_CALL: _tools_call,
    protocol.STATS: _stats,
}


async def dispatch(services: Services, message: Any, notify: Notify) -> dict[str, Any] | None:
    """Handle one decoded JSON-RPC message; None for a notification (nothing to answer)."""
    if not isinstance(message, dict) or message.get("jsonrpc") != protocol.JSONRPC:
        return protocol.error(None, protocol.INVALID_REQUEST, "Not a JSON-RPC 2.0 request.")
    rid = message.get("id")
    method = message.get("method")
    params = message.get("params", {})
    if not isinstance(method, str):
        return protocol.error(rid, protocol.INVALID_REQUEST, "`method` must be a string.")
    if not isinstance(params, dict):
        return protocol.error(rid, protocol.INVALID_PARAMS, "`params` must be an object.")
    handler = METHODS.get(method)
    if handler is None:
        return protocol.error(
            rid,
            protocol.METHOD_NOT_FOUND,
            f"Unknown method {method!r}.",
            {"code": ErrorCode.METHOD_NOT_FOUND, "methods": sorted(METHODS)},
        )
    try:
        value = await handler(services, params, rid, notify)
    except InvalidParams as exc:
        return protocol.error(rid, protocol.INVALID_PARAMS, exc.message, exc.to_dict())
    except NlsqlError as exc:
        return protocol.error(rid, protocol.APPLICATION_ERROR, exc.message, exc.to_dict())
    except Exception:  # the connection must survive a bug in one request
        log.exception("internal error in %s", method)
        return protocol.error(
            rid,
            protocol.INTERNAL_ERROR,
            "Internal server error.",
            {"code": ErrorCode.INTERNAL_ERROR},
        )
    return None if "id" not in message else protocol.result(rid, value)
