"""`HybridClient` against a real uvicorn server: WebSocket first, HTTP fallback, backoff,
breaker, token, stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock, ServerThread
from nlsql_server import protocol
from nlsql_server.breaker import CircuitBreaker

from nlsql_jupyter.client import Backoff, ClientConfig, HybridClient
from nlsql_jupyter.embedded import EmbeddedServer
from nlsql_jupyter.exceptions import (
    CircuitOpen,
    EmptyQuestion,
    MethodNotFound,
    RequestTimeout,
    ServerUnavailable,
    Unauthorized,
    UnknownDatabase,
)
from nlsql_jupyter.runtime import Runtime

SEED_TOP = "Show me the top 5 customers by total purchase amount"


def test_websocket_is_the_first_choice(server):
    with HybridClient(server.url) as client:
        assert client.ping()["pong"] is True
        assert "retail" in {db["name"] for db in client.databases()}
        stats = client.stats()
    ws, http = stats["websocket"], stats["http"]
    assert (ws["attempts"], ws["successes"], ws["failures"], ws["fallbacks"]) == (2, 2, 0, 0)
    assert ws["state"] == "connected"
    assert ws["latency_ms"]["samples"] == 2
    assert ws["latency_ms"]["p50"] <= ws["latency_ms"]["p95"]
    assert http["attempts"] == 0


def test_progress_arrives_in_order_before_the_result(server):
    events: list[dict[str, Any]] = []
    with HybridClient(server.url) as client:
        result = client.ask(SEED_TOP, database="retail", on_progress=events.append)
        assert client.stats()["http"]["attempts"] == 0  # streamed live, not replayed from HTTP
    stages = [event["stage"] for event in events]
    assert stages == list(protocol.STAGES)
    assert len({event["request_id"] for event in events}) == 1
    elapsed = [event["elapsed_ms"] for event in events]
    assert elapsed == sorted(elapsed)
    assert "progress" not in result  # on /ws progress comes as notifications only
    assert result["row_count"] == 5


def test_falls_back_to_http_when_the_websocket_path_fails(server):
    clock = FakeClock()
    config = ClientConfig(server.url, ws_path="/no-such-socket", backoff=Backoff(jitter=False))
    with HybridClient(config, clock=clock) as client:
        assert client.ping()["pong"] is True
        stats = client.stats()
        assert stats["websocket"]["failures"] == 1
        assert stats["websocket"]["fallbacks"] == 1
        assert stats["websocket"]["state"] == "backing off"
        assert "no-such-socket" in stats["websocket"]["last_error"]
        assert stats["http"]["successes"] == 1

        # While backing off, requests go straight to HTTP without trying the WebSocket.
        client.ping()
        stats = client.stats()
        assert stats["websocket"]["attempts"] == 1
        assert stats["websocket"]["fallbacks"] == 2
        assert stats["http"]["successes"] == 2

        # After the delay the WebSocket is tried again (and fails again: a longer delay).
        clock.now += 1.01
        client.ping()
        stats = client.stats()
        assert stats["websocket"]["attempts"] == 2
        assert stats["websocket"]["consecutive_failures"] == 2
        assert stats["websocket"]["retry_in_s"] == pytest.approx(2.0)
        # One gate: the backoff is the WebSocket's breaker, not a second layer in front of it.
        assert stats["websocket"]["breaker"]["state"] == "open"
        assert stats["websocket"]["breaker"]["retry_in_s"] == pytest.approx(2.0)
        assert stats["websocket"]["breaker"]["cooldown_s"] == pytest.approx(2.0)


def test_http_only_replays_progress_from_the_result(server_without_websocket):
    events: list[dict[str, Any]] = []
    config = ClientConfig(server_without_websocket.url, websocket=False)
    with HybridClient(config) as client:
        result = client.ask(SEED_TOP, database="retail", on_progress=events.append)
        stats = client.stats()
    assert [event["stage"] for event in events] == list(protocol.STAGES)
    assert result["row_count"] == 5
    assert stats["websocket"]["state"] == "disabled"
    assert stats["websocket"]["attempts"] == 0
    assert (stats["http"]["successes"], stats["http"]["fallbacks"]) == (1, 0)


def test_server_without_websocket_is_reached_over_http(server_without_websocket):
    with HybridClient(server_without_websocket.url) as client:
        assert client.ping()["pong"] is True
        stats = client.stats()
    assert stats["websocket"]["failures"] == 1
    assert stats["http"]["successes"] == 1


def test_reconnects_the_websocket_after_the_server_comes_back(data_dir: Path, dead_url: str):
    from nlsql_server.settings import Settings

    port = int(dead_url.rsplit(":", 1)[1])
    clock = FakeClock()
    # The same token for both servers (the bundled server otherwise makes a new one each start).
    config = ClientConfig(dead_url, token="t", backoff=Backoff(initial=1.0, jitter=False))
    first = EmbeddedServer(Settings(data_dir=data_dir, token="t"), port=port)
    first.start()
    try:
        client = HybridClient(config, clock=clock)
        assert client.ping()["pong"] is True
        assert client.stats()["websocket"]["state"] == "connected"
    finally:
        first.stop()

    # The server is gone: the WebSocket drops, HTTP cannot connect either.
    with pytest.raises(ServerUnavailable, match="cannot reach the nlsql server"):
        client.ping()
    assert client.stats()["websocket"]["state"] == "backing off"

    second = EmbeddedServer(Settings(data_dir=data_dir, token="t"), port=port)
    second.start()
    try:
        client.ping()  # still backing off: served over HTTP
        stats = client.stats()
        assert stats["http"]["successes"] == 1
        assert stats["websocket"]["fallbacks"] == 2

        clock.now += 1.0
        client.ping()  # the delay is over: a new WebSocket
        stats = client.stats()
        assert stats["websocket"]["state"] == "connected"
        assert stats["websocket"]["successes"] == 2
        assert stats["websocket"]["consecutive_failures"] == 0
        client.close()
    finally:
        second.stop()


def test_unreachable_server(dead_url):
    with HybridClient(dead_url) as client:
        with pytest.raises(ServerUnavailable, match="cannot reach the nlsql server") as caught:
            client.ping()
        stats = client.stats()
    assert "connection refused" in str(caught.value)
    assert stats["websocket"]["failures"] == 1
    assert stats["http"]["failures"] == 1


def test_server_errors_become_our_exceptions(server):
    with HybridClient(server.url) as client:
        with pytest.raises(UnknownDatabase) as caught:
            client.ask(SEED_TOP, database="nope")
        assert {"retail", "finance"} <= set(caught.value.databases)
        with pytest.raises(EmptyQuestion):
            client.ask("   ", database="retail")
        with pytest.raises(MethodNotFound):
            client.call("no.such.method")
        # The connection survives errors.
        assert client.stats()["websocket"]["successes"] == 3


def test_a_late_answer_is_not_taken_for_the_next_request(server):
    with HybridClient(server.url) as client:
        client.ping()
        with pytest.raises(RequestTimeout):
            client.ask(SEED_TOP, database="retail", timeout=1e-6)
        time.sleep(0.3)  # the ask's progress and answer arrive on the socket meanwhile
        assert client.ping()["pong"] is True
        assert client.ask(SEED_TOP, database="retail")["row_count"] == 5
        stats = client.stats()
    assert stats["websocket"]["failures"] == 1
    assert stats["http"]["attempts"] == 0


def test_breaker_state_machine():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=3.0, clock=clock)
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "closed"  # one failure is not a pattern
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"  # the count is of consecutive failures
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_in() == pytest.approx(3.0)
    clock.now += 3.0
    assert breaker.allow() and breaker.state == "half-open"
    assert not breaker.allow()  # one probe only
    breaker.record_failure()  # the probe failed: open for another cool-down
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 3.0
    assert breaker.allow()
    breaker.release()  # interrupted probe: the slot is free again at once
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert breaker.times_opened == 2


@pytest.fixture(scope="module")
def server_with_token(data_dir: Path) -> Iterator[ServerThread]:
    from nlsql_server.app import create_app
    from nlsql_server.settings import Settings

    settings = Settings(data_dir=data_dir, token="s3cret-token")
    with ServerThread(create_app(settings)) as running:
        yield running


def test_token_is_required_on_rpc_ws_and_mcp_but_not_health(server_with_token):
    url = server_with_token.url
    with HybridClient(url) as client:
        with pytest.raises(Unauthorized, match="needs a token"):
            client.ping()
        stats = client.stats()
    assert "403" in stats["websocket"]["last_error"]  # the handshake was refused
    assert stats["http"]["successes"] == 1  # HTTP delivered the server's refusal

    with (
        HybridClient(ClientConfig(url, token="wrong")) as client,
        pytest.raises(Unauthorized, match="not the one"),
    ):
        client.ping()

    with HybridClient(ClientConfig(url, token="s3cret-token")) as client:
        assert client.ping()["pong"] is True
        stats = client.stats()
    assert stats["websocket"]["successes"] == 1 and stats["http"]["attempts"] == 0

    with httpx.Client(trust_env=False) as http:
        assert http.get(url + "/health").status_code == 200
        assert http.post(url + "/mcp", json={}).status_code == 401
        assert http.post(url + "/rpc", json={}).status_code == 401


def test_runtime_connect_sends_the_token(server_with_token):
    runtime = Runtime()
    try:
        runtime.connect(server_with_token.url, token="s3cret-token")
        assert runtime.ping()["pong"] is True
        assert runtime.use("finance") == "finance"
        assert runtime.status()["transports"]["websocket"]["state"] == "connected"
    finally:
        runtime.close()


def test_stats_carry_breaker_state_per_transport(dead_url):
    config = ClientConfig(dead_url, breaker_threshold=1, breaker_cooldown=30.0)
    with HybridClient(config) as client:
        with pytest.raises(ServerUnavailable):
            client.ping()
        with pytest.raises(CircuitOpen):
            client.ping()
        stats = client.stats()
    for name in ("websocket", "http"):
        assert stats[name]["breaker"]["state"] == "open"
        assert stats[name]["breaker"]["threshold"] == 1
        assert stats[name]["attempts"] == 1
        assert "connection refused" in stats[name]["last_error"]
    assert stats["http"]["rejected"] == 1


def test_magic_connect_with_token(server_with_token, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from nlsql_jupyter.magics import AskMagics

    runtime = Runtime()
    magics = AskMagics(shell=InteractiveShell.instance(), runtime=runtime)
    try:
        magics.nlsql(f"connect {server_with_token.url} --token s3cret-token")
        assert f"Connected to {server_with_token.url}" in capsys.readouterr().out
        assert runtime.use("retail") == "retail"

        magics.nlsql(f"connect {server_with_token.url}")  # no token: refused, said plainly
        assert "refused the connection: This server needs a token" in capsys.readouterr().err
    finally:
        runtime.close()


def test_runtime_takes_the_token_from_the_environment(server_with_token, monkeypatch):
    monkeypatch.setenv("NLSQL_TOKEN", "s3cret-token")
    runtime = Runtime(server_with_token.url)
    try:
        assert runtime.ping()["pong"] is True
    finally:
        runtime.close()
