"""Write the method tables of docs/protocol.md from the models in `nlsql_server.protocol`.

Run after changing a model: `python scripts/protocol_doc.py`. With `--check` it changes
nothing and fails when the document is out of date (a test runs that).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Gt
from nlsql_server import protocol
from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
BEGIN = "<!-- methods: written by scripts/protocol_doc.py from protocol.py; do not edit -->"
END = "<!-- end of methods -->"


def render() -> str:
    """The method table, then a table of fields per model it names, in order of first use."""
    meanings = _field_docstrings(Path(protocol.__file__))
    lines = ["| method | params | result | what it does |", "| --- | --- | --- | --- |"]
    queue: list[type[BaseModel]] = []
    for name, method in protocol.METHODS.items():
        params = _type(method.params, queue) if method.params.model_fields else "—"
        result = _type(method.result, queue)
        lines.append(f"| `{name}` | {params} | {result} | {method.summary} |")
    progress = _type(protocol.AskProgress, queue)
    lines.append(
        f"| `{protocol.ASK_PROGRESS}` | {progress} | — | Sent by the server during `ask` |"
    )
    done: set[type[BaseModel]] = set()
    while queue:
        model = queue.pop(0)
        if model in done:
            continue
        done.add(model)
        lines += ["", f"#### {model.__name__}", ""]
        if model.__doc__ and model.__doc__ != BaseModel.__doc__:
            lines += [model.__doc__.strip().splitlines()[0], ""]
        lines += ["| field | type | meaning |", "| --- | --- | --- |"]
        for field_name, field in model.model_fields.items():
            meaning = next(
                (
                    meanings[c.__name__][field_name]
                    for c in model.__mro__
                    if field_name in meanings.get(c.__name__, {})
                ),
                "",
            )
            lines.append(_row(field.alias or field_name, field, meaning, queue))
        if model.model_config.get("extra") == "allow":
            lines += ["", "Other fields may follow."]
    return "\n".join(lines)


def _field_docstrings(source: Path) -> dict[str, dict[str, str]]:
    """Class name → field name → the docstring under that field (Python's convention for
    attribute docs; pydantic is not asked to read them, which would cost every import)."""
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ClassDef):
            continue
        fields = found.setdefault(node.name, {})
        for field, doc in zip(node.body, node.body[1:]):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                fields[field.target.id] = " ".join(doc.value.value.split())
    return found


def _row(name: str, field: FieldInfo, meaning: str, queue: list[type[BaseModel]]) -> str:
    kind = _type(field.annotation, queue) + _constraints(field.metadata)
    if not field.is_required():
        name += "?"
        if field.default not in (None, {}) and not field.default_factory:
            meaning = f"{meaning} Default `{json.dumps(field.default)}`.".strip()
    return f"| `{name}` | {kind} | {meaning} |"


def _type(tp: Any, queue: list[type[BaseModel]]) -> str:
    """A type as a reader of JSON knows it; models become links to their own table."""
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        queue.append(tp)
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    if origin is Annotated:
        return _type(args[0], queue) + _constraints(tp.__metadata__)
    if origin is Literal:
        return " or ".join(f"`{json.dumps(arg)}`" for arg in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type(arg, queue) for arg in args)
    if origin is list:
        return f"array of {_type(args[0], queue)}"
    if origin is dict:
        return "object" if args[1] is Any else f"object of {_type(args[1], queue)}"
    return _SCALARS.get(tp, "any")


_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _constraints(metadata: list[Any]) -> str:
    said = []
    for item in metadata:
        if isinstance(item, StringConstraints) and item.min_length:
            said.append("not blank")
        elif isinstance(item, Gt):
            said.append(f"> {item.gt}")
    return f" ({', '.join(said)})" if said else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    fresh = f"{text[:start]}\n{render()}\n{text[stop:]}"
    if args.check:
        if fresh != text:
            print(f"{DOC.name} is out of date: run python scripts/protocol_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
