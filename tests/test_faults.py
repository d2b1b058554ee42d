"""The hybrid client against a real `nlsql serve` process that crashes, restarts, hangs or
refuses WebSockets: every fault ends in a clear error or a working answer, never a hang.

Timing is asserted only as "within the timeout, not several of them", with wide margins;
`benchmarks/transport.py` measures it. What is asserted is behaviour: which error, which
transport, how many connection attempts.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock
from server_process import ServerProcess
from websockets.utils import accept_key

from nlsql_jupyter.client import Backoff, ClientConfig, HybridClient
from nlsql_jupyter.exceptions import CircuitOpen, RequestTimeout, ServerUnavailable
from nlsql_jupyter.runtime import Runtime

SEED_TOP = "Show me the top 5 customers by total purchase amount"
FINANCE_Q = "How many accounts are there?"


@pytest.fixture(scope="module")
def slow_databases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A databases file naming `slow`: a SQLite view that takes seconds to count."""
    base = tmp_path_factory.mktemp("slow")
    path = base / "slow.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE VIEW slow_numbers AS WITH RECURSIVE c(n) AS "
            "(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000000) SELECT n FROM c"
        )
    config = base / "databases.toml"
    config.write_text(f'[databases.slow]\nurl = "sqlite:///{path}"\n')
    return config


@pytest.fixture
def server_process(data_dir: Path) -> Iterator[ServerProcess]:
    with ServerProcess() as running:
        yield running


def test_killed_during_an_ask_is_a_clear_error(data_dir: Path, slow_databases: Path):
    server = ServerProcess(env={"NLSQL_DATABASES": str(slow_databases)}).start()
    stages: list[str] = []

    def crash_on_first_progress(event: dict[str, Any]) -> None:
        stages.append(event["stage"])
        server.kill()  # the server is now working on the question: crash it

    try:
        with HybridClient(ClientConfig(server.url)) as client:
            with pytest.raises(ServerUnavailable, match="cannot reach the nlsql server") as err:
                client.ask(
                    "How many slow numbers are there?",
                    database="slow",
                    on_progress=crash_on_first_progress,
                )
            stats = client.stats()
    finally:
        server.stop()
    assert stages == ["linking"]  # it was mid-question when it died
    assert "connection refused" in str(err.value)
    # The WebSocket dropped mid-request; the retry over HTTP found nobody either.
    assert stats["websocket"]["failures"] == 1 and "closed" in stats["websocket"]["last_error"]
    assert stats["http"]["failures"] == 1


def test_restarted_server_answers_the_next_ask_and_keeps_the_database(server_process):
    server = server_process
    runtime = Runtime(server.url)
    try:
        runtime.use("finance")
        first = runtime.ask(FINANCE_Q)
        assert first.database == "finance"
        session_id = runtime.session.session_id

        server.kill()
        with pytest.raises(ServerUnavailable):  # asked while it is down: a clear error
            runtime.ask(FINANCE_Q)
        server.start()  # same port, fresh process: the in-memory session is gone

        again = runtime.ask(FINANCE_Q)  # no reconnect, no `%nlsql use` by the user
        assert again.database == "finance"
        assert again.rows == first.rows
        assert runtime.session.session_id == session_id
        assert runtime.session.resyncs >= 1
        # The server's own session was pointed back at finance, not left on its default.
        assert runtime.session.refresh()["database"] == "finance"
        # The WebSocket came back too (its backoff is reset once HTTP got through).
        runtime.ping()
        assert runtime.client.stats()["websocket"]["state"] == "connected"
    finally:
        runtime.close()


def test_killed_and_restarted_between_asks_needs_no_user_action(server_process):
    server = server_process
    runtime = Runtime(server.url)
    try:
        runtime.use("finance")
        runtime.ask(FINANCE_Q)
        server.kill()
        server.start()
        answer = runtime.ask(FINANCE_Q)  # the dropped WebSocket is noticed before sending
        assert answer.database == "finance"
        assert runtime.session.resyncs == 1
        stats = runtime.client.stats()
        assert stats["http"]["attempts"] == 0  # reconnected over the WebSocket directly
        assert stats["websocket"]["state"] == "connected"
    finally:
        runtime.close()


def test_http_only_kernel_recovers_its_database_after_a_restart(server_process):
    server = server_process
    runtime = Runtime(server.url, config=ClientConfig(server.url, websocket=False))
    try:
        runtime.use("finance")
        runtime.ask(FINANCE_Q)
        server.kill()
        server.start()
        # httpx reconnects silently; the new connection is what tells the session to re-check.
        answer = runtime.ask(FINANCE_Q)
        assert answer.database == "finance"
        assert runtime.session.resyncs == 1
        assert runtime.client.stats()["http"]["failures"] == 0
        assert runtime.session.refresh()["database"] == "finance"
    finally:
        runtime.close()


def test_without_websocket_asks_go_over_http_and_count_fallbacks(data_dir: Path):
    clock = FakeClock()  # the backoff does not run out between asks on a slow machine
    with ServerProcess(websocket=False) as server, HybridClient(server.url, clock=clock) as client:
        events: list[dict[str, Any]] = []
        answers = [
            client.ask(SEED_TOP, database="retail", on_progress=events.append) for _ in range(3)
        ]
        stats = client.stats()
    assert all(answer["row_count"] == 5 for answer in answers)
    assert [e["stage"] for e in events][:5] == ["linking", "generating", "validating",
                                               "executing", "charting"]  # fmt: skip
    assert stats["websocket"]["fallbacks"] == 3
    assert stats["websocket"]["failures"] == 1  # tried once, then left alone while backing off
    assert stats["websocket"]["state"] == "backing off"
    assert stats["http"]["successes"] == 3


def test_breaker_opens_fails_fast_without_network_and_recovers(server_process):
    server = server_process
    clock = FakeClock()
    config = ClientConfig(
        server.url,
        breaker_threshold=3,
        breaker_cooldown=5.0,
        backoff=Backoff(initial=1.0, factor=1.0, jitter=False),
    )
    client = HybridClient(config, clock=clock)
    try:
        assert client.ping()["pong"] is True
        server.kill()

        for _ in range(3):  # N consecutive failures ...
            with pytest.raises(ServerUnavailable) as err:
                client.ping()
            assert not isinstance(err.value, CircuitOpen)
        stats = client.stats()
        assert stats["http"]["breaker"]["state"] == "open"  # ... open the breaker
        attempts = (stats["websocket"]["attempts"], stats["http"]["attempts"])

        for _ in range(20):  # while open: refused at once, no socket touched
            with pytest.raises(CircuitOpen, match="not trying again"):
                client.ping()
        stats = client.stats()
        assert (stats["websocket"]["attempts"], stats["http"]["attempts"]) == attempts
        assert stats["http"]["rejected"] == 20

        clock.now += 5.0  # cool-down over, server still down: one probe, which fails
        with pytest.raises(ServerUnavailable):
            client.ping()
        stats = client.stats()
        assert stats["http"]["attempts"] == attempts[1] + 1
        assert stats["http"]["breaker"]["state"] == "open"
        with pytest.raises(CircuitOpen):
            client.ping()

        server.start()
        clock.now += 5.0  # cool-down over, server back: the probe succeeds, all is closed
        assert client.ping()["pong"] is True
        assert client.ask(SEED_TOP, database="retail")["row_count"] == 5
        stats = client.stats()
        assert stats["websocket"]["breaker"]["state"] == "closed"
        assert stats["websocket"]["state"] == "connected"
    finally:
        client.close()


def test_half_open_lets_exactly_one_probe_through(server_process):
    server = server_process
    clock = FakeClock()
    config = ClientConfig(server.url, websocket=False, breaker_threshold=1, breaker_cooldown=1.0)
    client = HybridClient(config, clock=clock)
    try:
        server.kill()
        with pytest.raises(ServerUnavailable):
            client.ping()
        server.start()
        clock.now += 1.0
        # Many threads at once after the cool-down: one probes, the others are refused.
        barrier = threading.Barrier(8)
        outcomes: list[str] = []

        def call() -> None:
            barrier.wait()
            try:
                client.ping()
                outcomes.append("ok")
            except CircuitOpen:
                outcomes.append("refused")

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert "ok" in outcomes
        assert client.stats()["http"]["attempts"] == 1 + outcomes.count("ok")
        assert outcomes.count("ok") + outcomes.count("refused") == 8
        assert client.stats()["http"]["breaker"]["state"] == "closed"
    finally:
        client.close()


class HungServer:
    """Accepts TCP connections and never sends a byte (a wedged server or proxy).

    With `handshake=True` it first completes WebSocket handshakes (and only those), then goes
    silent too: a server whose process hung after the connection was up.
    """

    def __init__(self, *, handshake: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.handshake = handshake
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never answered (but the handshake)
            if self.handshake:
                threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    @staticmethod
    def _handshake(conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        headers = dict(
            line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line
        )
        key = {name.lower(): value for name, value in headers.items()}.get("sec-websocket-key")
        if key is not None:
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept_key(key).encode()
                + b"\r\n\r\n"
            )

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.mark.parametrize("handshake", [False, True], ids=["silent", "silent-after-handshake"])
def test_hung_server_opens_the_breakers_within_the_timeout(handshake: bool):
    # Before: each call waited the handshake's 5 s and then HTTP's whole timeout, raised
    # RequestTimeout, and only the fifth such call opened the breaker (35 s per call, ~125 s
    # per ask with the defaults). Now a call takes at most `timeout`, both gates open at once,
    # and the next calls fail fast without touching a socket. The margins are wide on purpose.
    hung = HungServer(handshake=handshake)
    clock = FakeClock()  # the gates stay open for the whole test, however slow the machine
    config = ClientConfig(hung.url, timeout=2.0, ask_timeout=60.0)
    try:
        with HybridClient(config, clock=clock) as client:
            started = time.monotonic()
            with pytest.raises(ServerUnavailable, match="answered nothing in 2 s") as caught:
                client.ask(SEED_TOP, database="retail")
            elapsed = time.monotonic() - started
            assert not isinstance(caught.value, CircuitOpen)
            assert elapsed < 2.0 + 3.0  # the call's timeout, not the ask's 60 s
            stats = client.stats()
            assert stats["websocket"]["state"] == "backing off"
            assert stats["http"]["breaker"]["state"] == "open"
            connections = len(hung.accepted)
            assert connections == 2  # one try per transport

            for call in (client.ping, lambda: client.ask(SEED_TOP), client.databases):
                with pytest.raises(CircuitOpen, match="not trying again"):
                    call()
            assert len(hung.accepted) == connections  # failed fast: no socket touched
            assert client.stats()["http"]["rejected"] == 3
    finally:
        hung.close()


def test_hung_server_seen_over_http_only_opens_the_breaker_at_once():
    hung = HungServer()
    clock = FakeClock()
    config = ClientConfig(hung.url, websocket=False, timeout=1.0)
    try:
        with HybridClient(config, clock=clock) as client:
            with pytest.raises(ServerUnavailable, match="answered nothing in 1 s"):
                client.ping()
            with pytest.raises(CircuitOpen):
                client.ping()
            assert len(hung.accepted) == 1
    finally:
        hung.close()


def test_a_slow_answer_is_a_timeout_not_a_dead_server(data_dir: Path, slow_databases: Path):
    # The server answers pings while it works: the ask times out, the breakers stay closed.
    with ServerProcess(env={"NLSQL_DATABASES": str(slow_databases)}) as server:
        config = ClientConfig(server.url, timeout=1.0, ask_timeout=1.5)
        with HybridClient(config) as client:
            with pytest.raises(RequestTimeout, match="no answer from the nlsql server in time"):
                client.ask("How many slow numbers are there?", database="slow")
            stats = client.stats()
            assert client.ping()["pong"] is True
    assert stats["websocket"]["breaker"]["state"] == "closed"
    assert stats["http"]["attempts"] == 0
