"""Large results that come as an Arrow IPC stream (docs/protocol.md, "Large results").

A request opts in with `arrow: true` (the client does so for `sql.run` and `ask`); the server
then sends the rows of a large result as Arrow: on the WebSocket in binary frames tagged with
the request's id after the JSON response, over HTTP as the whole body with the JSON-RPC
response in the schema's metadata. Either way the result comes back from the transport with
the rows as a `pyarrow.Table` in `result["table"]` (`rows` empty). pyarrow is imported only
when such a result arrives.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from nlsql_server import protocol

from nlsql_jupyter.exceptions import ProtocolError, TransportError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Frames", "announced", "read_http"]

#: The methods whose large results may come as Arrow.
METHODS = frozenset({protocol.SQL_RUN, protocol.ASK})


def announced(response: dict[str, Any]) -> dict[str, Any] | None:
    """The `arrow` member of a WebSocket response whose rows follow as binary frames."""
    result = response.get("result")
    info = result.get("arrow") if isinstance(result, dict) else None
    return info if isinstance(info, dict) and isinstance(info.get("frames"), int) else None


class Frames:
    """The binary frames of one announced Arrow result, put together as they come."""

    def __init__(self, request_id: Any, info: dict[str, Any]) -> None:
        self.request_id = request_id
        self.count = int(info["frames"])
        self.received = 0
        self._buffer = bytearray(int(info.get("bytes") or 0))
        self._size = 0

    @property
    def done(self) -> bool:
        return self.received >= self.count

    def add(self, frame: bytes) -> bool:
        """Take one binary frame; False when it belongs to another request (a late one)."""
        try:
            request_id, index, payload = protocol.read_arrow_frame(frame)
        except ValueError as exc:
            raise ProtocolError(f"the server sent a malformed binary frame: {exc}") from exc
        if request_id != self.request_id:
            return False
        if index != self.received:
            raise ProtocolError(f"Arrow frame {index} arrived where frame {self.received} was due")
        end = self._size + len(payload)
        self._buffer[self._size : end] = payload
        self._size = end
        self.received += 1
        return True

    def lost(self, reason: object) -> TransportError:
        """The error for a connection that ended before every frame came."""
        return TransportError(
            f"the WebSocket closed in the middle of an Arrow result ({self.received} of "
            f"{self.count} frames received): {reason}"
        )

    def table(self) -> pa.Table:
        return _read(memoryview(self._buffer)[: self._size])[0]


def read_http(body: bytes) -> dict[str, Any]:
    """The JSON-RPC response an HTTP Arrow body carries, with its rows in `result["table"]`."""
    table, metadata = _read(body)
    envelope = metadata.get(protocol.ARROW_RESPONSE_KEY.encode())
    if envelope is None:
        raise ProtocolError("the server's Arrow reply carries no JSON-RPC response")
    response = json.loads(envelope)
    if isinstance(response.get("result"), dict):
        response["result"]["table"] = table.replace_schema_metadata(None)
    return dict(response)


def _read(data: Any) -> tuple[pa.Table, dict[bytes, bytes]]:
    import pyarrow as pa

    try:
        reader = pa.ipc.open_stream(pa.py_buffer(data))
        return reader.read_all(), dict(reader.schema.metadata or {})
    except (pa.ArrowInvalid, OSError) as exc:
        raise ProtocolError(f"the server's Arrow stream cannot be read: {exc}") from exc
