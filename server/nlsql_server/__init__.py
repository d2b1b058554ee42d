"""nlsql_server: the bundled agent-and-MCP server of nlsql-jupyter.

It turns plain-English questions into read-only SQL, runs them and picks a chart, and speaks
JSON-RPC 2.0 over WebSocket (`/ws`) and HTTP (`/rpc`).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
