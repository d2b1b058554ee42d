"""The server's layers import downwards only: services know nothing of the pipeline, the tools or
the MCP server built from them at the edge, and the MCP SDK loads only when MCP is used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nlsql_server
import pytest

PACKAGE = Path(nlsql_server.__file__).resolve().parent


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports anywhere (inside functions too), leaving out
    `if TYPE_CHECKING:` blocks, which never run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in GRAPH[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


@pytest.mark.parametrize(
    "lower,upper",
    [
        ("nlsql_server.services", "nlsql_server.tools"),
        ("nlsql_server.services", "nlsql_server.pipeline"),
        ("nlsql_server.services", "nlsql_server.mcp_server"),
        ("nlsql_server.tools", "nlsql_server.pipeline"),
        ("nlsql_server.tools", "nlsql_server.mcp_server"),
        ("nlsql_server.pipeline", "nlsql_server.tools"),
        ("nlsql_server.pipeline", "nlsql_server.services"),
        ("nlsql_server.pipeline", "nlsql_server.mcp_server"),
        ("nlsql_server.agents.nlp", "nlsql_server.agents.data"),
    ],
)
def test_a_layer_does_not_reach_up(lower, upper):
    assert upper not in _reachable(lower), f"{lower} imports {upper} (directly or not)"


def test_no_module_of_the_door_sits_in_an_import_cycle():
    door = {
        "nlsql_server.services",
        "nlsql_server.tools",
        "nlsql_server.pipeline",
        "nlsql_server.mcp_server",
        "nlsql_server.agents.data",
        "nlsql_server.agents.nlp",
        "nlsql_server.rpc",
        "nlsql_server.app",
        "nlsql_server.cli",
    }
    for name in door:
        assert name not in _reachable(name), f"{name} imports itself through others"


@pytest.mark.parametrize(
    "module",
    ["services", "tools", "pipeline", "mcp_server", "rpc", "app", "agents.data", "agents.nlp"],
)
def test_each_module_imports_alone_without_the_mcp_sdk(module):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, nlsql_server.{module}; print('mcp' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
