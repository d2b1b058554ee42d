"""Glossaries are read once per file version: an edit reaches the next question, an unchanged
file is not parsed again for every question."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nlsql_server import pipeline
from nlsql_server.glossary import Glossary
from nlsql_server.samples import glossary_path
from nlsql_server.services import Services
from nlsql_server.settings import Settings

REVENUE = """
dialect = "mysql"

[[term]]
names = ["revenue"]
kind = "measure"
value = "orders.total_amount"
aggregate = "sum"
filter = "orders.status = '{status}'"
tables = ["orders"]
"""


@pytest.fixture
def shop(data_dir: Path, tmp_path: Path) -> Iterator[tuple[Services, Path]]:
    """The retail sample copied to `shop.sqlite`, beside its own `shop.glossary.toml`."""
    shutil.copy(data_dir / "retail.sqlite", tmp_path / "shop.sqlite")
    glossary = tmp_path / "shop.glossary.toml"
    glossary.write_text(REVENUE.format(status="delivered"), encoding="utf-8")
    services = Services.from_settings(Settings(data_dir=data_dir))
    services.registry.add_sqlite("shop", tmp_path / "shop.sqlite")
    yield services, glossary
    services.close()


def ask(services: Services, question: str) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, database="shop", engine="offline"))


def test_an_edited_glossary_reaches_the_next_question(shop):
    services, glossary = shop
    assert "'delivered'" in ask(services, "total revenue")["sql"]
    glossary.write_text(REVENUE.format(status="shipped"), encoding="utf-8")
    answer = ask(services, "total revenue")
    assert "'shipped'" in answer["sql"] and "'delivered'" not in answer["sql"]


def test_an_unchanged_glossary_is_not_parsed_again(tmp_path: Path):
    path = tmp_path / "g.toml"
    shutil.copy(glossary_path("retail"), path)
    first = Glossary.load(path)
    assert Glossary.load(path) is first  # the same parsed object: the file was not read again
    # Same size and modification time, other bytes: still the cached reading (the fingerprint
    # is what decides, so no question pays for reading and parsing the file).
    stat = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("revenue", "REVENUE", 1), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert Glossary.load(path) is first
    path.write_text(text + "\n", encoding="utf-8")  # a real edit changes the fingerprint
    assert Glossary.load(path) is not first and Glossary.load(path).terms == first.terms


def test_a_missing_glossary_is_empty(tmp_path: Path):
    assert Glossary.load(tmp_path / "none.toml") == Glossary()
