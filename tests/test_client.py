"""`HybridClient` against a real uvicorn server: WebSocket first, HTTP fallback, backoff, stats."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from nlsql_server import protocol

from nlsql_jupyter.client import Backoff, ClientConfig, HybridClient
from nlsql_jupyter.embedded import EmbeddedServer
from nlsql_jupyter.exceptions import (
    EmptyQuestion,
    MethodNotFound,
    RequestTimeout,
    ServerUnavailable,
    UnknownDatabase,
)

SEED_TOP = "Show me the top 5 customers by total purchase amount"


class FakeClock:
    """A monotonic clock the test moves by hand, so backoff needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
    config = ClientConfig(dead_url, backoff=Backoff(initial=1.0, jitter=False))
    first = EmbeddedServer(Settings(data_dir=data_dir), port=port)
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

    second = EmbeddedServer(Settings(data_dir=data_dir), port=port)
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
