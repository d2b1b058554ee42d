"""`glossary.list|add|remove`: a database's overlay of remembered meanings, read and written.

Shared by JSON-RPC (the kernel's "Remember" button) and `nlsql glossary`; blocking file work,
so the server runs it through `workers.run_cheap`.
"""

from __future__ import annotations

from typing import Any

from .databases.registry import Registry


def listing(registry: Registry, database: str) -> dict[str, Any]:
    """The database's own glossary terms and its overlay's (`protocol.GlossaryState`)."""
    registry.get(database)  # an unknown name fails here, listing the names there are
    return {
        "database": database,
        "overlay": [t.to_dict() for t in registry.overlay(database).glossary().terms],
        "glossary": [t.to_dict() for t in registry.own_glossary(database).terms],
    }


def add(registry: Registry, database: str, term: dict[str, Any]) -> dict[str, Any]:
    """Remember `term` in the database's overlay; both engines read it from the next question."""
    registry.get(database)
    registry.overlay(database).add(term, registry.own_glossary(database).dialect)
    return listing(registry, database)


def remove(registry: Registry, database: str, name: str) -> dict[str, Any]:
    """Forget the overlay's terms called `name`; `removed` says how many (0 is no error: a
    request repeated after a reconnect finds nothing left to forget)."""
    registry.get(database)
    removed = registry.overlay(database).remove(name)
    return listing(registry, database) | {"removed": removed}
