"""`nlsql serve` as a real child process on a loopback port, for fault and replica tests.

A thread-hosted server (conftest's `ServerThread`) cannot be killed mid-request or restarted on
the same port the way a crashed or redeployed server is; a process can. Each helper starts
`python -m nlsql_server serve`, waits for `/health`, and stops only its own child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from services import free_port

REPO = Path(__file__).resolve().parent.parent


class ServerProcess:
    """One `nlsql serve` child; `kill()` and `start()` again keep the same port."""

    def __init__(
        self,
        *,
        port: int | None = None,
        websocket: bool = True,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.websocket = websocket
        self.args = args
        self.env = {
            **os.environ,
            "NLSQL_ENGINE": "offline",  # deterministic answers: no model behind these tests
            **(env or {}),
        }
        self.log = (log_dir or Path(os.environ["NLSQL_DATA_DIR"])) / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the server and wait until `/health` answers."""
        command = [sys.executable, "-m", "nlsql_server", "serve", "--port", str(self.port)]
        command += ["--log-level", "warning", *self.args]
        if not self.websocket:
            command.append("--no-websocket")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nlsql serve exited with {self.process.returncode}:\n{self.tail()}"
                )
            try:
                if httpx.get(self.url + "/health", timeout=1.0, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nlsql serve did not answer in {timeout:g} s:\n{self.tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, open connections just drop."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then kill if it does not go."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> ServerProcess:
        """Start it, unless `with server.start():` did already (a second start would leave the
        first process running after the block)."""
        if self.process is not None and self.process.poll() is None:
            return self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
