"""Real MariaDB, PostgreSQL and Redis servers for the tests, on free loopback ports, in their own directories.

Nothing runs as a system service here (see ../shared/PITFALLS.md): each helper starts the
daemon as a child process with its own data directory, waits until it answers, and stops it
with the server's own shutdown command (killing it only as a fallback).

MariaDB gets two users besides root: `nlsql_admin` (all privileges: loads the samples) and
`nlsql_reader` (`SELECT` only: what the nlsql server connects as, the last wall of read-only).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "`make test` installs them (scripts/install-system-deps.sh runs apt-get)."
ADMIN = ("nlsql_admin", "admin-secret")
READER = ("nlsql_reader", "reader-secret")
# Test-only settings: small redo log, no durability on commit, no doublewrite: faster start and load.
_MARIADB_FLAGS = (
    "--skip-name-resolve",
    "--skip-log-bin",
    "--innodb-log-file-size=128M",
    "--innodb-buffer-pool-size=128M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--performance-schema=OFF",
)


class ServiceError(RuntimeError):
    """A test service could not be started."""


def binary(name: str, *also: str) -> str:
    """The absolute path of the first of `name`, `also` found on PATH or in /usr/sbin."""
    search = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    for candidate in (name, *also):
        found = shutil.which(candidate, path=search)
        if found:
            return found
    raise ServiceError(f"{name} is not installed; {INSTALL_HINT}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes], command: list[str], timeout: float = 20) -> None:
    """Ask politely with `command`, then terminate, then kill: only our own child process."""
    if process.poll() is not None:
        return
    subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    for signal_it in (None, process.terminate, process.kill):
        if signal_it is not None:
            signal_it()
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class MariaDB:
    """A running `mariadbd`; `admin_url` and `reader_url` name the server, not a database."""

    port: int
    datadir: Path
    socket: Path
    process: subprocess.Popen[bytes]
    started_in: float = 0.0
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.datadir.parent / "mariadb.log"

    def url(self, database: str = "", *, admin: bool = False) -> str:
        user, password = ADMIN if admin else READER
        return f"mysql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url(admin=True)

    @property
    def reader_url(self) -> str:
        return self.url()

    def stop(self) -> None:
        admin = binary("mariadb-admin", "mysqladmin")
        user, password = ADMIN
        _stop(
            self.process,
            [admin, "--no-defaults", "--protocol=tcp", "-h127.0.0.1", f"-P{self.port}",
             f"-u{user}", f"-p{password}", "shutdown"],
        )  # fmt: skip


def _init_sql() -> str:
    (admin, admin_pw), (reader, reader_pw) = ADMIN, READER
    return f"""
CREATE USER IF NOT EXISTS '{admin}'@'127.0.0.1' IDENTIFIED BY '{admin_pw}';
GRANT ALL PRIVILEGES ON *.* TO '{admin}'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '{reader}'@'127.0.0.1' IDENTIFIED BY '{reader_pw}';
GRANT SELECT ON *.* TO '{reader}'@'127.0.0.1';
"""


def start_mariadb(base: Path, timeout: float = 60) -> MariaDB:
    """Initialise a data directory under `base` and start `mariadbd` on a free port."""
    import pymysql

    started = time.perf_counter()
    mariadbd = binary("mariadbd", "mysqld")
    install_db = binary("mariadb-install-db", "mysql_install_db")
    base = base.resolve()  # a relative --datadir would resolve against /usr
    datadir = base / "data"
    log = base / "mariadb.log"
    if not (datadir / "mysql").is_dir():
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        done = subprocess.run(
            [install_db, "--no-defaults", f"--datadir={datadir}", f"--user={user}",
             "--skip-test-db", "--innodb-log-file-size=128M"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise ServiceError(f"mariadb-install-db failed:\n{done.stdout}\n{done.stderr}")
    init_file = base / "init.sql"
    init_file.write_text(_init_sql())
    sock = datadir / "mysql.sock"
    if len(str(sock)) > 100:  # the limit of a Unix socket path
        sock = Path(tempfile.mkdtemp(prefix="mdb")) / "mysql.sock"
    port = free_port()
    command = [
        mariadbd, "--no-defaults", f"--datadir={datadir}", "--bind-address=127.0.0.1",
        f"--port={port}", f"--socket={sock}", f"--pid-file={base / 'mariadb.pid'}",
        f"--log-error={log}", f"--init-file={init_file}", *_MARIADB_FLAGS,
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--user=root")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = MariaDB(port=port, datadir=datadir, socket=sock, process=process)
    user, password = READER
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceError(f"mariadbd exited with {process.returncode}:\n{_tail(log)}")
        try:
            pymysql.connect(
                host="127.0.0.1", port=port, user=user, password=password, connect_timeout=2
            ).close()
            break
        except pymysql.MySQLError as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise ServiceError(
                    f"mariadbd did not answer in {timeout:g} s: {exc}\n{_tail(log)}"
                ) from exc
            time.sleep(0.02)
    server.started_in = time.perf_counter() - started
    return server


@dataclass
class Redis:
    """A running `redis-server`, without persistence."""

    port: int
    process: subprocess.Popen[bytes]
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        cli = binary("redis-cli")
        _stop(self.process, [cli, "-h", "127.0.0.1", "-p", str(self.port), "shutdown", "nosave"])


def start_redis(base: Path, timeout: float = 20, port: int | None = None) -> Redis:
    """Start `redis-server` on `port` (default: a free one) with `base` as its working directory.

    A given port restarts a stopped server where its clients expect it.
    """
    import redis

    started = time.perf_counter()
    server_bin = binary("redis-server")
    base = base.resolve()
    base.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = base / "redis.log"
    process = subprocess.Popen(
        [server_bin, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(base), "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = Redis(port=port, process=process)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceError(f"redis-server exited with {process.returncode}:\n{_tail(log)}")
        try:
            client.ping()
            break
        except redis.RedisError as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise ServiceError(f"redis-server did not answer in {timeout:g} s: {exc}") from exc
            time.sleep(0.02)
    client.close()
    server.started_in = time.perf_counter() - started
    return server


@dataclass
class PostgreSQL:
    """A running `postgres`; `url(database)` connects as the SELECT-only reader, or the admin."""

    port: int
    datadir: Path
    process: subprocess.Popen[bytes]
    started_in: float = 0.0

    def url(self, database: str = "postgres", *, admin: bool = False) -> str:
        user, password = ADMIN if admin else READER
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url(admin=True)

    def stop(self, timeout: float = 20) -> None:
        """A fast shutdown (SIGINT: roll back sessions, then exit), killing only as a fallback."""
        for signal_it in (lambda: self.process.send_signal(signal.SIGINT), self.process.kill):
            if self.process.poll() is not None:
                break
            signal_it()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def postgres_bindir() -> Path:
    """Where `initdb` and `postgres` live: `pg_config --bindir`, else the newest Debian version."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        if (Path(found.strip()) / "initdb").exists():
            return Path(found.strip())
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not candidates:
        raise ServiceError(f"PostgreSQL is not installed; {INSTALL_HINT}")
    return candidates[-1].parent


def start_postgres(timeout: float = 60) -> PostgreSQL:
    """`initdb` a fresh cluster in a temporary directory and start `postgres` on a free port.

    PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (the
    package creates it), in a directory of its own under /tmp (pytest's are root-only).
    """
    import psycopg

    started = time.perf_counter()
    bindir = postgres_bindir()
    base = Path(tempfile.mkdtemp(prefix="nlsql-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user is not None:
        shutil.chown(base, user)
    datadir, log = base / "data", base / "postgres.log"
    pwfile = base / "pw"
    pwfile.write_text(ADMIN[1] + "\n")
    if user is not None:
        shutil.chown(pwfile, user)
    done = subprocess.run(
        [bindir / "initdb", "-D", datadir, "-U", ADMIN[0], f"--pwfile={pwfile}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C",
         "--no-sync"],
        capture_output=True, text=True, check=False, user=user,
    )  # fmt: skip
    if done.returncode != 0:
        raise ServiceError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [bindir / "postgres", "-D", datadir, "-p", str(port), "-c", "listen_addresses=127.0.0.1",
             "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off"],
            stdout=out, stderr=subprocess.STDOUT, user=user,
        )  # fmt: skip
    server = PostgreSQL(port=port, datadir=datadir, process=process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceError(f"postgres exited with {process.returncode}:\n{_tail(log)}")
        try:
            with psycopg.connect(server.admin_url, connect_timeout=2, autocommit=True) as conn:
                reader, password = READER
                conn.execute(f"CREATE ROLE {reader} LOGIN PASSWORD '{password}'")
                conn.execute(f"GRANT pg_read_all_data TO {reader}")
            break
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise ServiceError(f"postgres did not answer in {timeout:g} s: {exc}") from exc
            time.sleep(0.05)
    server.started_in = time.perf_counter() - started
    return server
