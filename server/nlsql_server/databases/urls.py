"""Database URLs → backends: ``sqlite:///path``, ``duckdb:///path``, ``mysql://…``, ``tidb://…``,
``postgresql://…``.

    sqlite:///relative/shop.db          a path relative to `base` (the config file's folder)
    sqlite:////srv/data/shop.db         an absolute path (four slashes, as in SQLAlchemy)
    duckdb:///warehouse.duckdb          a DuckDB database file, read-only
    duckdb:///exports/                  a folder: each Parquet/CSV/JSON file in it is a table
    duckdb://                           only the `tables` given with it (name → file or glob)
    mysql://user:password@host:3306/shop
    mysql://user@host/shop?ssl_ca=/etc/ca.pem&ssl_verify_cert=true
    tidb://user.root:password@gateway.tidbcloud.com:4000/shop     (TLS on and verified)
    tidb://root@127.0.0.1:4000/shop?ssl=false                    (a local TiDB without TLS)
    postgresql://reader:password@db.internal:5432/shop?sslmode=verify-full&sslrootcert=ca.pem
    postgres://reader@127.0.0.1/shop?options=-csearch_path%3Dsales   (the schema `sales`)

Query options for mysql:// and tidb://: ``ssl`` (true/false), ``ssl_ca`` (a CA file: TLS on and
the certificate checked), ``ssl_verify_cert``, ``ssl_verify_identity`` (check the host name),
``connect_timeout`` (seconds).

Query options for postgresql:// (alias postgres://) are libpq's: ``sslmode`` (disable, allow,
prefer (the default), require, verify-ca, verify-full), ``sslrootcert`` (a CA file),
``connect_timeout`` (seconds), ``options`` (e.g. ``-c search_path=sales``); the MySQL spellings
map onto them: ``ssl=true`` is ``sslmode=require``, ``ssl=false`` is ``disable``, ``ssl_ca``
is ``sslrootcert`` with ``verify-ca``, ``ssl_verify_identity=true`` is ``verify-full``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..exceptions import InvalidParams
from ..settings import Settings
from .base import Database, ResultLimits
from .sqlite import SqliteDatabase, check_sqlite_file

if TYPE_CHECKING:
    # The MySQL backend (pymysql, cryptography) and the PostgreSQL one (psycopg) load with the
    # first URL of theirs: a server with SQLite files only never imports them.
    from .mysql import MysqlParams
    from .postgres import PostgresParams

SCHEMES = ("sqlite", "duckdb", "mysql", "tidb", "postgresql", "postgres")
DEFAULT_PORTS = {"mysql": 3306, "tidb": 4000, "postgresql": 5432}
_TRUE = {"1", "true", "yes", "on", "required"}
_FALSE = {"0", "false", "no", "off", "disabled"}
_OPTIONS = {"ssl", "ssl_ca", "ssl_verify_cert", "ssl_verify_identity", "connect_timeout"}
_PG_OPTIONS = _OPTIONS | {"sslmode", "sslrootcert", "options"}
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _flag(options: dict[str, str], key: str) -> bool | None:
    value = options.get(key)
    if value is None:
        return None
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidParams(f"URL option {key}={value!r}: use true or false.", option=key)


def scheme_of(url: str) -> str:
    """The URL's scheme (`mysql+pymysql` counts as `mysql`, `postgres` as `postgresql`);
    unknown schemes raise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    scheme = scheme.split("+", 1)[0]
    if scheme not in SCHEMES:
        raise InvalidParams(
            f"Unsupported database URL {redact(url)!r}: it should start with sqlite:///, "
            "duckdb://, mysql://, tidb:// or postgresql://.",
            url=redact(url),
        )
    return "postgresql" if scheme == "postgres" else scheme


def redact(url: str) -> str:
    """The URL with any password replaced by `***`."""
    if "://" not in url or "@" not in url:
        return url
    head, rest = url.split("://", 1)
    credentials, _, tail = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{head}://{user}{':***' if ':' in credentials else ''}@{tail}"


def without_directories(url: str) -> str:
    """A SQLite or DuckDB URL with only its file name (`sqlite:///retail.sqlite`): what a client
    that is not on this machine may see. Other URLs come back as they are (no local path)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("sqlite", "duckdb") or not url[len(scheme) + 3 :].strip("/"):
        return url
    return f"{scheme}:///" + url.rstrip("/").rsplit("/", 1)[-1]


def parse_mysql_url(url: str) -> MysqlParams:
    """`MysqlParams` from a ``mysql://`` or ``tidb://`` URL (the database part may be empty)."""
    from .mysql import MysqlParams

    scheme = scheme_of(url)
    if scheme not in ("mysql", "tidb"):
        raise InvalidParams(f"Not a MySQL URL: {redact(url)!r}", url=redact(url))
    parts, options, port = _split(url, scheme, _OPTIONS)
    ssl_ca = options.get("ssl_ca") or None
    tls = _flag(options, "ssl")
    verify_cert = _flag(options, "ssl_verify_cert")
    verify_identity = _flag(options, "ssl_verify_identity")
    if tls is None:
        tls = scheme == "tidb" or bool(ssl_ca) or bool(verify_cert) or bool(verify_identity)
    if verify_cert is None:
        verify_cert = tls and (scheme == "tidb" or bool(ssl_ca) or bool(verify_identity))
    if verify_identity is None:
        verify_identity = verify_cert and scheme == "tidb"
    return MysqlParams(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        scheme=scheme,
        tls=tls,
        ssl_ca=str(Path(ssl_ca).expanduser()) if ssl_ca else None,
        verify_cert=verify_cert,
        verify_identity=verify_identity,
        connect_timeout=_timeout(options),
    )


def _split(url: str, scheme: str, known: set[str]) -> tuple[Any, dict[str, str], int]:
    """The URL's parts, its query options (all known) and its port."""
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidParams(
            f"Unknown URL option {unknown[0]!r} in {redact(url)!r}; known: "
            f"{', '.join(sorted(known))}.",
            option=unknown[0],
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise InvalidParams(f"Bad port in {redact(url)!r}.", url=redact(url)) from exc
    return parts, options, port


def _timeout(options: dict[str, str]) -> float:
    try:
        return float(options.get("connect_timeout", 10))
    except ValueError as exc:
        raise InvalidParams("URL option connect_timeout must be a number of seconds.") from exc


def parse_postgres_url(url: str) -> PostgresParams:
    """`PostgresParams` from a ``postgresql://`` URL (the database part may be empty)."""
    from .postgres import PostgresParams

    if scheme_of(url) != "postgresql":
        raise InvalidParams(f"Not a PostgreSQL URL: {redact(url)!r}", url=redact(url))
    parts, options, port = _split(url, "postgresql", _PG_OPTIONS)
    ssl_ca = options.get("sslrootcert") or options.get("ssl_ca") or None
    sslmode = options.get("sslmode")
    if sslmode is None:
        tls = _flag(options, "ssl")
        if _flag(options, "ssl_verify_identity"):
            sslmode = "verify-full"
        elif ssl_ca or _flag(options, "ssl_verify_cert"):
            sslmode = "verify-ca"
        elif tls is not None:
            sslmode = "require" if tls else "disable"
        else:
            sslmode = "prefer"
    if sslmode not in _SSLMODES:
        raise InvalidParams(
            f"URL option sslmode={sslmode!r}: use one of {', '.join(_SSLMODES)}.",
            option="sslmode",
        )
    return PostgresParams(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        sslmode=sslmode,
        sslrootcert=str(Path(ssl_ca).expanduser()) if ssl_ca else None,
        connect_timeout=_timeout(options),
        options=options.get("options") or None,
    )


def sqlite_path(url: str, base: Path | None = None) -> Path:
    """The file of a ``sqlite:///`` URL; relative paths are taken from `base` (or the cwd)."""
    if not url.lower().startswith("sqlite:///"):
        raise InvalidParams(f"A SQLite URL starts with sqlite:/// (got {url!r}).", url=url)
    return _local_path(url[len("sqlite:///") :], base)


def duckdb_path(url: str, base: Path | None = None) -> Path | None:
    """The file or folder of a ``duckdb:///`` URL (as `sqlite_path`); None for ``duckdb://``."""
    rest = url[len("duckdb://") :]
    if not rest.strip("/"):
        return None
    if not rest.startswith("/"):
        raise InvalidParams(f"A DuckDB URL starts with duckdb:/// (got {url!r}).", url=url)
    return _local_path(rest[1:], base)


def _local_path(text: str, base: Path | None) -> Path:
    path = Path(unquote(text.split("?", 1)[0])).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path


def check_url(url: str, base: Path | None = None, tables: Mapping[str, str] | None = None) -> None:
    """Raise now what opening `url` would raise later, short of connecting: an unknown scheme,
    a bad option or port, a SQLite or DuckDB file or folder that is missing, `tables` where
    they do not belong."""
    scheme = scheme_of(url)
    if tables and scheme != "duckdb":
        raise InvalidParams("`tables` (files as tables) need a duckdb:// URL.")
    if scheme == "sqlite":
        check_sqlite_file(sqlite_path(url, base))
    elif scheme == "duckdb":
        path = duckdb_path(url, base)
        if path is None and not tables:
            raise InvalidParams("duckdb:// with no path needs `tables` (name = file or glob).")
        if path is not None and tables:
            raise InvalidParams("Give a duckdb:/// path or `tables`, not both.")
        if path is not None and not path.exists():
            raise InvalidParams(f"No such DuckDB file or folder: {path}", path=str(path))
    elif scheme == "postgresql":
        parse_postgres_url(url)
    else:
        parse_mysql_url(url)


def name_from_url(url: str) -> str:
    """A short name for a database given only by URL: its database or file name."""
    scheme = scheme_of(url)
    if scheme == "sqlite":
        return sqlite_path(url).stem
    if scheme == "duckdb":
        path = duckdb_path(url)
        return path.stem if path else "duckdb"
    if scheme == "postgresql":
        return parse_postgres_url(url).database or "postgres"
    return parse_mysql_url(url).database or "mysql"


def open_database(
    name: str,
    url: str,
    description: str = "",
    settings: Settings | None = None,
    *,
    base: Path | None = None,
    tables: Mapping[str, str] | None = None,
) -> Database:
    """The backend for `url`. SQLite files are checked now; servers are connected on first use."""
    settings = settings or Settings()
    scheme = scheme_of(url)
    if scheme == "sqlite":
        return SqliteDatabase.from_settings(name, sqlite_path(url, base), description, settings)
    if scheme == "duckdb":
        from .duck import DuckdbDatabase  # DuckDB loads only for databases that use it

        check_url(url, base, tables)
        return DuckdbDatabase.from_url(
            name, duckdb_path(url, base), description, settings, tables=tables, base=base
        )
    if scheme == "postgresql":
        from .postgres import PostgresDatabase

        return PostgresDatabase(
            name,
            parse_postgres_url(url),
            description,
            timeout=settings.query_timeout,
            pool_size=settings.pool_size,
            limits=ResultLimits(settings.max_result_bytes, settings.max_cell_bytes),
        )
    from .mysql import MysqlDatabase

    return MysqlDatabase(
        name,
        parse_mysql_url(url),
        description,
        timeout=settings.query_timeout,
        pool_size=settings.pool_size,
        limits=ResultLimits(settings.max_result_bytes, settings.max_cell_bytes),
    )
