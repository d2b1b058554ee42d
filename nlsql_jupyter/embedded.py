"""The bundled server, started inside the kernel process when no server URL is configured.

So that `%load_ext nlsql_jupyter` then `%%ask` works with nothing else running: uvicorn serves
`nlsql_server.app.create_app(Settings())` from a daemon thread on 127.0.0.1 (one per process,
stopped at interpreter exit), behind a random token that only this kernel knows. It speaks the
same protocol over the same sockets as a server started with `nlsql serve`, so the client cannot
tell the difference. Starting it takes a second or two (mostly imports), so `%load_ext` begins
it in the background (`nlsql_jupyter.preload`) and the first request waits only for what is left.
"""

from __future__ import annotations

import atexit
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlsql_jupyter.exceptions import InvalidParams, ServerUnavailable

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "EmbeddedServer",
    "embedded_server",
    "running_server",
    "stop_embedded_server",
]

_lock = threading.Lock()
_instance: EmbeddedServer | None = None
_atexit_registered = False


class EmbeddedServer:
    """One uvicorn server in a daemon thread, bound to a free loopback port.

    `settings` defaults to `nlsql_server.settings.Settings()` (the `NLSQL_*` environment);
    `port` 0 picks a free one.
    """

    def __init__(self, settings: Any = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._settings = settings
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._services: Any = None
        self._attached: dict[Path, str] = {}
        self.url: str | None = None
        #: The bearer token the server requires (made at start unless the settings give one).
        self.token: str | None = None

    @property
    def running(self) -> bool:
        return (
            self._server is not None
            and self._server.started
            and self._thread is not None
            and self._thread.is_alive()
        )

    def start(self, timeout: float = 120.0) -> str:
        """Start serving and wait until the app's startup finished; return the base URL.

        The timeout is generous because the first start may generate the sample databases.
        """
        if self.running:
            assert self.url is not None
            return self.url
        import uvicorn
        from nlsql_server.app import create_app, uvicorn_options
        from nlsql_server.settings import Settings

        settings = self._settings if self._settings is not None else Settings()
        if not settings.token:
            # Only this kernel learns it: other local users and web pages cannot ask the
            # server anything, though it listens on loopback.
            settings = settings.model_copy(update={"token": secrets.token_urlsafe(32)})
        self.token = settings.token
        # A socket made with IPPROTO_TCP gets TCP_NODELAY from asyncio (a bare socket.socket()
        # does not, and every response then waits ~40 ms for a delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        app = create_app(settings)
        self._services = app.state.services
        config = uvicorn.Config(
            app,
            log_config=None,  # leave the kernel's logging configuration alone
            log_level="warning",
            access_log=False,
            lifespan="on",
            **uvicorn_options(settings),
        )
        server = uvicorn.Server(config)
        self._server, self._error = server, None
        thread = threading.Thread(
            target=self._serve, args=(server, sock), name="nlsql-embedded-server", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                sock.close()
                detail = f": {self._error}" if self._error else " (see the log above)"
                raise ServerUnavailable(f"the bundled nlsql server failed to start{detail}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerUnavailable(f"the bundled nlsql server did not start in {timeout:g} s")
            time.sleep(0.01)
        self.url = f"http://{self._host}:{port}"
        return self.url

    def attach_sqlite(self, path: Path) -> str:
        """Serve the SQLite file at `path` too (`%nlsql use ./file.sqlite`); return its name.

        The file's stem names it, unless a different database has that name already. Only the
        kernel that started this server can attach files: it is not a protocol method.
        """
        from nlsql_server.exceptions import NlsqlError as ServerError

        if self._services is None:
            raise ServerUnavailable("the bundled nlsql server is not running")
        path = path.resolve()
        if path in self._attached:
            return self._attached[path]
        registry = self._services.registry
        name, n = path.stem, 1
        while name in registry.names():
            n += 1
            name = f"{path.stem}_{n}"
        try:
            registry.add_sqlite(name, path)
        except ServerError as exc:
            raise InvalidParams(exc.message, path=str(path)) from None
        self._attached[path] = name
        return name

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # SystemExit included: uvicorn exits on startup failure
            self._error = exc

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and wait for its thread (daemon: never blocks interpreter exit)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._server = self._thread = None
        self.url = None


def embedded_server() -> EmbeddedServer:
    """This process's bundled server, started on first use; a start already under way in the
    background is waited for, not repeated."""
    global _instance, _atexit_registered
    with _lock:
        if _instance is None or not _instance.running:
            server = EmbeddedServer()
            server.start()
            if not _atexit_registered:
                atexit.register(stop_embedded_server)
                _atexit_registered = True
            _instance = server
        return _instance


def running_server() -> EmbeddedServer | None:
    """This process's bundled server if it is up; starts nothing and waits for nothing."""
    instance = _instance
    return instance if instance is not None and instance.running else None


def stop_embedded_server() -> None:
    """Stop this process's bundled server if it runs (registered with `atexit`)."""
    global _instance
    with _lock:
        if _instance is not None:
            _instance.stop()
            _instance = None
