"""The named databases a server answers from, and how a name or a path becomes a `Database`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from .. import samples
from ..exceptions import UnknownDatabase
from ..glossary import Glossary
from ..settings import Settings
from .base import Database
from .sqlite import SqliteDatabase, check_sqlite_file


class Registry:
    """Name → database. Samples are generated on first use, so start-up stays instant."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._factories: dict[str, Callable[[], Database]] = {}
        self._glossaries: dict[str, Callable[[], Glossary]] = {}
        self._open: dict[str, Database] = {}
        self._lock = threading.Lock()
        if settings.samples:
            for name in samples.SAMPLE_NAMES:
                self._factories[name] = self._sample_factory(name)
                self._glossaries[name] = self._sample_glossary(name)

    def _sample_factory(self, name: str) -> Callable[[], Database]:
        def open_sample() -> Database:
            path = samples.ensure_sample(name, self.settings.data_dir)
            return SqliteDatabase(
                name, path, samples.sample_description(name), timeout=self.settings.query_timeout
            )

        return open_sample

    @staticmethod
    def _sample_glossary(name: str) -> Callable[[], Glossary]:
        return lambda: Glossary.load(samples.glossary_path(name))

    def add_sqlite(self, name: str, path: Path, description: str = "") -> None:
        """Register a SQLite file under `name` (checked now, opened on first use)."""
        check_sqlite_file(path)
        self._factories[name] = lambda: SqliteDatabase(
            name, path, description, timeout=self.settings.query_timeout
        )
        self._glossaries[name] = lambda: Glossary.load(path.with_suffix(".glossary.toml"))

    def names(self) -> list[str]:
        return list(self._factories)

    def get(self, name: str) -> Database:
        """The database called `name`; unknown names raise an error listing the known ones."""
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
        factory = self._glossaries.get(name)
        return factory() if factory else Glossary()

    def default_name(self) -> str | None:
        """The database a new session starts on: the first one registered."""
        return next(iter(self._factories), None)

    def close(self) -> None:
        with self._lock:
            for database in self._open.values():
                database.close()
            self._open.clear()
