"""The named databases a server answers from, and how a name, a path or a URL becomes a `Database`.

Databases come from a config file named by `NLSQL_DATABASES` (TOML, or YAML when PyYAML is
installed), then from the bundled samples unless `NLSQL_SAMPLES=false`::

    [databases.shop]
    url = "mysql://reader:${SHOP_PASSWORD}@db.internal:3306/shop"   # ${VAR} reads the environment
    description = "Orders and customers of the web shop"
    glossary = "shop_glossary.toml"        # relative to this file

    [databases.retail_mysql]
    url = "mysql://reader@127.0.0.1:3306/retail"
    sample = "retail"                      # holds a sample (`nlsql samples load`): its glossary

Every database is opened on first use, so start-up stays instant and a server that is down only
fails the questions asked of it.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import samples
from ..exceptions import InvalidParams, NlsqlError, UnknownDatabase
from ..glossary import Glossary
from ..overlay import Overlay
from ..settings import Settings
from .base import Database

if TYPE_CHECKING:
    from .frames import FrameDatabases
from .sqlite import SqliteDatabase, check_sqlite_file
from .urls import check_url, open_database, scheme_of, sqlite_path

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENTRY_KEYS = {"url", "description", "glossary", "sample", "tables"}


def read_config(path: Path) -> dict[str, dict[str, Any]]:
    """The `databases` table of a TOML or YAML file: name → {url, description, glossary, sample}."""
    if not path.is_file():
        raise InvalidParams(f"No databases file at {path} (NLSQL_DATABASES).", path=str(path))
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError as exc:
            raise InvalidParams(
                f"{path} is YAML, but PyYAML is not installed: `pip install pyyaml`, or write "
                "the file as TOML.",
                path=str(path),
            ) from exc
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InvalidParams(f"{path} is not valid YAML: {exc}", path=str(path)) from exc
    else:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidParams(f"{path} is not valid TOML: {exc}", path=str(path)) from exc
    if not isinstance(raw, Mapping):
        raise InvalidParams(f"{path}: expected a `databases` table of named entries.")
    unknown_sections = sorted(set(raw) - {"databases"})
    if unknown_sections:
        # `[[database]]` or `[database.shop]` would otherwise be read as no database at all.
        raise InvalidParams(
            f"{path}: unknown section {unknown_sections[0]!r}: each database is a table of its "
            f'own, [databases.NAME], with a url (as in [databases.shop] url = "sqlite:///shop.db").',
            path=str(path),
        )
    databases = raw.get("databases")
    if not isinstance(databases, Mapping) or not databases:
        raise InvalidParams(
            f"{path} names no database: add a [databases.NAME] table with a url for each.",
            path=str(path),
        )
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in databases.items():
        where = f"{path}: databases.{name}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            raise InvalidParams(f'{where} needs a url, as in url = "mysql://user@host/db".')
        unknown = sorted(set(entry) - _ENTRY_KEYS)
        if unknown:
            raise InvalidParams(
                f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(_ENTRY_KEYS))})."
            )
        tables = entry.get("tables", {})
        if not isinstance(tables, Mapping) or not all(isinstance(v, str) for v in tables.values()):
            raise InvalidParams(
                f"{where}: tables maps names to files or globs, as in "
                'tables = { orders = "orders/*.parquet" }.'
            )
        entries[str(name)] = dict(entry) | {"url": _expand_env(entry["url"], where)}
    return entries


def _expand_env(url: str, where: str) -> str:
    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            raise InvalidParams(f"{where}: the url needs ${{{match.group(1)}}}, which is not set.")
        return found

    return _ENV_REFERENCE.sub(value, url)


class Registry:
    """Name → database. Samples are generated on first use, so start-up stays instant."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._factories: dict[str, Callable[[], Database]] = {}
        self._glossaries: dict[str, Callable[[], Glossary]] = {}
        self._open: dict[str, Database] = {}
        self._lock = threading.Lock()
        if settings.databases_file is not None:
            self.load_config(settings.databases_file)
        if settings.samples:
            for name in samples.SAMPLE_NAMES:
                if name not in self._factories:  # a configured database of that name wins
                    self._factories[name] = self._sample_factory(name)
                    self._glossaries[name] = self._sample_glossary(name)

    def _sample_factory(self, name: str) -> Callable[[], Database]:
        def open_sample() -> Database:
            path = samples.ensure_sample(name, self.settings.data_dir)
            return SqliteDatabase.from_settings(
                name, path, samples.sample_description(name), self.settings
            )

        return open_sample

    @staticmethod
    def _sample_glossary(name: str) -> Callable[[], Glossary]:
        return lambda: Glossary.load(samples.glossary_path(name))

    def load_config(self, path: Path) -> None:
        """Register every entry of a databases file (see the module docstring)."""
        path = path.expanduser().resolve()
        for name, entry in read_config(path).items():
            sample = entry.get("sample")
            if sample is not None and sample not in samples.SAMPLE_NAMES:
                raise InvalidParams(
                    f"{path}: databases.{name}: sample must be one of "
                    f"{', '.join(samples.SAMPLE_NAMES)}."
                )
            description = entry.get("description") or (
                samples.sample_description(sample) if sample else ""
            )
            glossary = entry.get("glossary")
            tables = entry.get("tables")
            try:
                check_url(entry["url"], path.parent, tables)
                self.add_url(
                    name,
                    entry["url"],
                    description,
                    glossary=(path.parent / glossary) if glossary else None,
                    base=path.parent,
                    tables=tables,
                )
            except NlsqlError as exc:
                raise InvalidParams(
                    f"{path}: databases.{name}: {exc.message}", path=str(path), database=name
                ) from exc
            if sample and not glossary:
                self._glossaries[name] = self._sample_glossary(sample)

    def add_url(
        self,
        name: str,
        url: str,
        description: str = "",
        *,
        glossary: Path | None = None,
        base: Path | None = None,
        tables: Mapping[str, str] | None = None,
    ) -> None:
        """Register a database URL (`urls.SCHEMES`) under `name`, opened on first use; `tables`
        (name → file or glob) go with `duckdb://`.

        Without a glossary, a SQLite file's `<stem>.glossary.toml` is used when it exists.
        """
        scheme = scheme_of(url)
        if scheme == "sqlite" and glossary is None:
            glossary = sqlite_path(url, base).with_suffix(".glossary.toml")
        self._factories[name] = lambda: open_database(
            name, url, description, self.settings, base=base, tables=tables
        )
        self._glossaries[name] = (lambda: Glossary.load(glossary)) if glossary else Glossary

    def add_sqlite(self, name: str, path: Path, description: str = "") -> None:
        """Register a SQLite file under `name` (checked now, opened on first use)."""
        check_sqlite_file(path)
        self._factories[name] = lambda: SqliteDatabase.from_settings(
            name, path, description, self.settings
        )
        self._glossaries[name] = lambda: Glossary.load(path.with_suffix(".glossary.toml"))

    def names(self) -> list[str]:
        return list(self._factories)

    def get(self, name: str) -> Database:
        """The database called `name`; unknown names raise an error listing the known ones."""
        described = self.frames.get(name) if "frames" in self.__dict__ else None
        if described is not None:
            return described
        with self._lock:
            if name not in self._open:
                factory = self._factories.get(name)
                if factory is None:
                    known = self.names()
                    raise UnknownDatabase(
                        f"Unknown database {name!r}. Databases: {', '.join(known) or 'none'}.",
                        database=name,
                        databases=known,
                    )
                self._open[name] = factory()
            return self._open[name]

    def glossary(self, name: str) -> Glossary:
        """The database's glossary with its overlay (the meanings its users chose) laid over."""
        return self.own_glossary(name).merged(self.overlay(name).glossary())

    def own_glossary(self, name: str) -> Glossary:
        """The database's glossary alone, as its file says."""
        factory = self._glossaries.get(name)
        return factory() if factory else Glossary()

    def overlay(self, name: str) -> Overlay:
        """The overlay file of the database called `name`."""
        return Overlay(self.settings.overlay_dir, name)

    def default_name(self) -> str | None:
        """The database a new session starts on: the first one registered."""
        return next(iter(self._factories), None)

    @functools.cached_property
    def frames(self) -> FrameDatabases:
        """Databases a client described (`ask` with `frames`): never listed, kept a while."""
        from .frames import FrameDatabases  # DuckDB loads only when a client describes frames

        return FrameDatabases(self.settings)

    def close(self) -> None:
        if "frames" in self.__dict__:
            self.frames.close()
        with self._lock:
            for database in self._open.values():
                database.close()
            self._open.clear()
