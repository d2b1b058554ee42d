"""JSON-RPC 2.0 dispatch shared by `/ws` and `/rpc`: one decoded message in, the reply out.

Transport code only moves bytes; everything about requests, batches, params, results and
errors lives here, so both transports follow the same rules: a notification (no `id`) never
gets a reply, a batch gets an array of the replies to its requests (nothing when it held only
notifications), params and results pass through their models in `protocol.py`.
"""

from __future__ import annotations

import json
import logging
import reprlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from . import __version__, mcp_server, pipeline, protocol, remembering, tools, workers
from .databases.arrow import ArrowRows
from .exceptions import InvalidParams, NlsqlError
from .protocol import ErrorCode, Id
from .services import Services

log = logging.getLogger(__name__)

Notify = Callable[[dict[str, Any]], Awaitable[None]]
#: A method's code: its params (the method's model), the request's id, where progress goes;
#: returns JSON-ready data that `RESULTS` checks.
Handler = Callable[[Services, Any, Id, Notify], Awaitable[Any]]


async def _ping(services: Services, params: protocol.NoParams, rid: Id, notify: Notify) -> Any:
    return {"pong": True, "version": __version__}


async def _databases_list(
    services: Services, params: protocol.NoParams, rid: Id, notify: Notify
) -> Any:
    return await tools.list_databases(services)


async def _session_open(
    services: Services, params: protocol.SessionOpenParams, rid: Id, notify: Notify
) -> Any:
    session = await services.sessions.open(params.session_id, services.registry.default_name())
    return {"session_id": session.session_id, "database": session.database}


async def _session_use(
    services: Services, params: protocol.SessionUseParams, rid: Id, notify: Notify
) -> Any:
    # an unknown name fails here, listing the names there are
    await workers.run_cheap(services.registry.get, params.database)
    session = await services.sessions.open(params.session_id, services.registry.default_name())
    session.database = params.database
    await services.sessions.save(session)
    return {"session_id": session.session_id, "database": session.database}


async def _session_get(
    services: Services, params: protocol.SessionParams, rid: Id, notify: Notify
) -> Any:
    session = await services.sessions.open(params.session_id, services.registry.default_name())
    return session.to_dict()


async def _schema_tables(
    services: Services, params: protocol.DatabaseParams, rid: Id, notify: Notify
) -> Any:
    return await tools.discover_tables(services, params.database)


async def _schema_describe(
    services: Services, params: protocol.TableParams, rid: Id, notify: Notify
) -> Any:
    return await tools.get_table_schema(services, params.database, params.table)


async def _schema_provenance(
    services: Services, params: protocol.SqlParams, rid: Id, notify: Notify
) -> Any:
    return await tools.provenance(services, params.database, params.sql)


async def _tools_list(
    services: Services, params: protocol.NoParams, rid: Id, notify: Notify
) -> Any:
    return await mcp_server.door(services).list_tools()


async def _tools_call(
    services: Services, params: protocol.ToolsCallParams, rid: Id, notify: Notify
) -> Any:
    return await mcp_server.door(services).call_tool(params.name, params.arguments)


async def _sql_run(
    services: Services, params: protocol.SqlRunParams, rid: Id, notify: Notify
) -> Any:
    return await tools.run_sql(
        services, params.database, params.sql, params.limit, params.arrow, params.confirm
    )


async def _ask(services: Services, params: protocol.AskParams, rid: Id, notify: Notify) -> Any:
    async def progress(stage: str, message: str, elapsed_ms: float) -> None:
        event = protocol.AskProgress.model_validate(
            {"request_id": rid, "stage": stage, "message": message, "elapsed_ms": elapsed_ms}
        )
        await notify(protocol.notification(protocol.ASK_PROGRESS, event.model_dump()))

    database, execute = params.database, params.execute
    if params.frames is not None:
        if database is not None:
            raise InvalidParams("Give `frames` or `database`, not both.", param="frames")
        described = [frame.model_dump() for frame in params.frames]
        database = await workers.run_cheap(services.registry.frames.add, described)
        execute = False  # the rows are the client's: the SQL runs there
    return await pipeline.ask(
        services,
        params.question,
        database=database,
        session_id=params.session_id,
        engine=params.engine,
        limit=params.limit,
        execute=execute,
        chart=params.chart,
        progress=progress,
        arrow=params.arrow,
        choice=params.choice.term if params.choice is not None else None,
        confirm=params.confirm,
    )


async def _glossary_list(
    services: Services, params: protocol.DatabaseParams, rid: Id, notify: Notify
) -> Any:
    return await workers.run_cheap(remembering.listing, services.registry, params.database)


async def _glossary_add(
    services: Services, params: protocol.GlossaryAddParams, rid: Id, notify: Notify
) -> Any:
    return await workers.run_cheap(remembering.add, services.registry, params.database, params.term)


async def _glossary_remove(
    services: Services, params: protocol.GlossaryRemoveParams, rid: Id, notify: Notify
) -> Any:
    return await workers.run_cheap(
        remembering.remove, services.registry, params.database, params.name
    )


async def _stats(services: Services, params: protocol.NoParams, rid: Id, notify: Notify) -> Any:
    return {
        "version": __version__,
        "uptime_s": round(time.time() - services.started_at, 1),
        "databases": services.registry.names(),
        "sessions": services.sessions.stats(),
        "workers": workers.stats(),
    }


#: The code behind each method of `protocol.METHODS` (a test checks both name the same ones).
HANDLERS: dict[str, Handler] = {
    protocol.PING: _ping,
    protocol.DATABASES_LIST: _databases_list,
    protocol.SESSION_OPEN: _session_open,
    protocol.SESSION_USE: _session_use,
    protocol.SESSION_GET: _session_get,
    protocol.SCHEMA_TABLES: _schema_tables,
    protocol.SCHEMA_DESCRIBE: _schema_describe,
    protocol.SCHEMA_PROVENANCE: _schema_provenance,
    protocol.SQL_RUN: _sql_run,
    protocol.ASK: _ask,
    protocol.TOOLS_LIST: _tools_list,
    protocol.TOOLS_CALL: _tools_call,
    protocol.STATS: _stats,
    protocol.GLOSSARY_LIST: _glossary_list,
    protocol.GLOSSARY_ADD: _glossary_add,
    protocol.GLOSSARY_REMOVE: _glossary_remove,
}


#: Each method's result type, checked on every response: a handler's bug is an internal error
#: (logged), never a reply that breaks the contract.
RESULTS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(method.result) for name, method in protocol.METHODS.items()
}


async def respond(
    services: Services, message: Any, notify: Notify | None, *, arrow: bool = False
) -> protocol.Reply | None:
    """The reply to one decoded message (a request, a notification or a batch); None: send
    nothing. `notify` sends an `ask`'s progress as it happens (/ws); without it the progress
    comes back in the result (/rpc). `arrow`: the transport can send a request's rows as Arrow
    (a batch's replies are always JSON); a result's `arrow` is then an `ArrowRows` for it."""
    if isinstance(message, list):  # `framing.decode` refused an empty or oversized one
        replies = [await dispatch(services, member, notify) for member in message]
        return [reply for reply in replies if reply is not None] or None
    return await dispatch(services, message, notify, arrow=arrow)


async def dispatch(
    services: Services, message: Any, notify: Notify | None, *, arrow: bool = False
) -> dict[str, Any] | None:
    """The response to one request; None for a notification, which never gets one."""
    try:
        request = protocol.Request.model_validate(message)
    except ValidationError as exc:
        return _invalid_request(message, exc.errors(include_input=False)[0])
    collected: list[dict[str, Any]] = []

    async def collect(event: dict[str, Any]) -> None:
        collected.append(event["params"])

    # a notification's progress has no id to go with it: it is dropped with the response
    live = notify if notify is not None and not request.is_notification else None
    response = await _call(services, request, live or collect, arrow)
    if request.is_notification:
        return None
    if notify is None and collected and "result" in response:
        response["result"]["progress"] = collected
    return response


async def _call(
    services: Services, request: protocol.Request, notify: Notify, arrow: bool
) -> dict[str, Any]:
    rid, name = request.id, request.method
    method = protocol.METHODS.get(name)
    if method is None:
        return protocol.error(
            rid,
            protocol.METHOD_NOT_FOUND,
            f"Unknown method {reprlib.repr(name)}.",
            {"code": ErrorCode.METHOD_NOT_FOUND, "methods": sorted(protocol.METHODS)},
        )
    try:
        params = _params(method.params, name, request.params)
        if not arrow and getattr(params, "arrow", False):
            params = params.model_copy(update={"arrow": False})  # asked where it cannot go
        value = await HANDLERS[name](services, params, rid, notify)
        RESULTS[name].validate_python(_checkable(value))
    except InvalidParams as exc:
        return protocol.error(rid, protocol.INVALID_PARAMS, exc.message, exc.to_dict())
    except NlsqlError as exc:
        return protocol.error(rid, protocol.APPLICATION_ERROR, exc.message, exc.to_dict())
    except Exception:  # the connection must survive a bug in one request
        log.exception("internal error in %s", name)
        return protocol.error(
            rid,
            protocol.INTERNAL_ERROR,
            "Internal server error.",
            {"code": ErrorCode.INTERNAL_ERROR},
        )
    return protocol.result(rid, value)


def _checkable(value: Any) -> Any:
    """`value` as its model sees it: rows attached as Arrow stand for their `ArrowInfo`."""
    if isinstance(value, dict) and isinstance(value.get("arrow"), ArrowRows):
        return value | {"arrow": {"rows": value["arrow"].num_rows}}
    return value


def _params(model: type[protocol.Params], method: str, params: Any) -> protocol.Params:
    """`params` checked against the method's model; a mistake is `InvalidParams` naming it."""
    if isinstance(params, list):
        raise InvalidParams(
            f"`params` must be an object of named params ({method} takes "
            f"{_names(model) or 'none'}), not an array.",
            param="params",
        )
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        problem = exc.errors()[0]
    name = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "missing":
        text = f"`{name}` is required."
    elif problem["type"] == "extra_forbidden":
        text = f"{method} takes no param `{name}` (it takes {_names(model) or 'none'})."
    elif problem["type"] == "string_too_short":
        text = f"`{name}` must not be empty."
    else:
        text = f"`{name}`: {problem['msg']}{_not(problem)}."
    raise InvalidParams(text, param=name)


def _names(model: type[protocol.Params]) -> str:
    return ", ".join(f"`{field}`" for field in model.model_fields)


def _not(problem: ErrorDetails) -> str:
    """`, not 'false'` for a short scalar input; nothing for a long or nested one."""
    value = problem.get("input")
    if isinstance(value, bool):
        return f", not {json.dumps(value)}"
    if isinstance(value, int | float) or (isinstance(value, str) and len(value) <= 40):
        return f", not {value!r}"
    return ""


def _invalid_request(message: Any, problem: ErrorDetails) -> dict[str, Any]:
    """The error for a message that is no JSON-RPC 2.0 request: it names the member at fault,
    and carries the request's id when that id was valid (else null, as JSON-RPC says)."""
    member = str(problem["loc"][0]) if problem["loc"] else None
    text = "A JSON-RPC request is an object." if member is None else _ENVELOPE[member]
    data: dict[str, Any] = {"code": ErrorCode.INVALID_REQUEST}
    if member is not None:
        data["member"] = member
    rid = message.get("id") if isinstance(message, dict) and member != "id" else None
    if isinstance(rid, bool) or not isinstance(rid, str | int | float | None):
        rid = None
    return protocol.error(rid, protocol.INVALID_REQUEST, text, data)


_ENVELOPE = {
    "jsonrpc": 'A JSON-RPC 2.0 request needs `"jsonrpc": "2.0"`.',
    "method": "`method` must be a string: the method's name.",
    "params": "`params` must be an object (or left out).",
    "id": "`id` must be a string, a number or null.",
}
