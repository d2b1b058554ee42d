"""Sessions in a real Redis: a hash and a list of turns per session with a refreshed TTL, turns
appended without overwriting each other, memory fallback while
Redis is away (`degraded` in `stats` and `%nlsql status`), write-back when it returns, and the
kernel's context surviving a server restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from conftest import ServerThread
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nlsql_server.app import create_app
from nlsql_server.sessions import MAX_HISTORY, MemorySessionStore, RedisSessionStore, Session, Turn
from nlsql_server.sessions.redis_store import HISTORY_PREFIX, KEY_PREFIX
from nlsql_server.settings import Settings
from server_process import ServerProcess
from services import Redis, start_redis

from nlsql_jupyter.magics import AskMagics
from nlsql_jupyter.runtime import Runtime

FINANCE_Q = "How many accounts are there?"


def _key(client: redis.Redis, session_id: str) -> dict:
    """The session as Redis keeps it: `{database, history}`."""
    database = client.hget(KEY_PREFIX + session_id, "database")
    assert database is not None, "the session is not in Redis"
    turns = client.lrange(HISTORY_PREFIX + session_id, 0, -1)
    return {"database": json.loads(database), "history": [json.loads(t) for t in turns]}


def wait_for(predicate, what: str, timeout: float = 20.0) -> None:
    """Poll until `predicate()` holds: waiting for an event, not asserting how fast it comes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


def status_shown(runtime: Runtime) -> str:
    """The text `%nlsql status` displays for this runtime, from the real magic in a shell."""
    magics = AskMagics(shell=InteractiveShell.instance(), runtime=runtime)
    with capture_output() as captured:
        magics.nlsql("status")
    [bundle] = [output.data for output in captured.outputs]
    return str(bundle["text/plain"])


def test_session_keys_with_a_ttl_refreshed_on_use(redis_url: str):
    async def scenario() -> tuple[str, dict, object]:
        first = RedisSessionStore(redis_url)
        session = await first.open(None, "retail")
        session.database = "finance"
        await first.save(session)
        turn = Turn("q1", "SELECT 1", "offline", 1, "finance", understood={"m": "n"})
        await first.append_turn(session.session_id, turn)
        await first.aclose()
        # Another store (another replica) sees the same session.
        second = RedisSessionStore(redis_url)
        again = await second.open(session.session_id, "retail")
        await second.aclose()
        return session.session_id, again.to_dict(), second.stats()

    sid, seen, stats = asyncio.run(scenario())
    assert seen["database"] == "finance"
    assert [(t["question"], t["understood"]) for t in seen["history"]] == [("q1", {"m": "n"})]
    assert stats["backend"] == "redis" and stats["degraded"] is False

    client = redis.Redis.from_url(redis_url)
    stored = _key(client, sid)
    assert stored["database"] == "finance" and len(stored["history"]) == 1
    for key in (KEY_PREFIX + sid, HISTORY_PREFIX + sid):
        assert 3500 < client.ttl(key) <= 3600
        client.expire(key, 100)

    async def use_it() -> None:
        store = RedisSessionStore(redis_url)
        await store.open(sid, None)
        await store.aclose()

    asyncio.run(use_it())
    # Using the session refreshed both TTLs.
    assert client.ttl(KEY_PREFIX + sid) > 3500 and client.ttl(HISTORY_PREFIX + sid) > 3500
    client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of this test's own, since the test stops and restarts it."""
    server = start_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def test_redis_going_away_degrades_to_memory_and_writes_back(
    data_dir: Path, own_redis: Redis, tmp_path: Path
):
    settings = Settings(data_dir=data_dir, redis_url=own_redis.url, engine="offline")
    with ServerThread(create_app(settings)) as server:
        runtime = Runtime(server.url)
        try:
            runtime.use("finance")
            status = runtime.status(server=True)
            assert status["degraded"] is False
            assert status["server_sessions"]["backend"] == "redis"
            sid = runtime.session.session_id
            client = redis.Redis.from_url(own_redis.url)
            assert _key(client, sid)["database"] == "finance"
            client.close()

            own_redis.stop()  # Redis goes away mid-session
            assert runtime.use("retail") == "retail"  # still answering, from memory
            answer = runtime.ask("How many customers are there?")
            assert answer.database == "retail"
            status = runtime.status(server=True)
            assert status["degraded"] is True
            assert status["server_sessions"]["pending_writes"] == 1
            assert "ConnectionError" in status["server_sessions"]["last_error"]
            shown = status_shown(runtime)  # what `%nlsql status` displays
            assert "  degraded: yes" in shown and "pending_writes: 1" in shown
            assert "websocket: connected · breaker closed" in shown and "p95" in shown
            assert runtime.session.refresh()["database"] == "retail"

            # Back on the same port, empty (no persistence): the session is written back.
            restarted = start_redis(tmp_path / "redis2", port=own_redis.port)
            own_redis.process = restarted.process  # so the fixture stops the new one
            wait_for(lambda: runtime.status(server=True)["degraded"] is False, "write-back")
            client = redis.Redis.from_url(own_redis.url)
            stored = _key(client, sid)
            client.close()
            assert stored["database"] == "retail"
            assert [t["question"] for t in stored["history"]] == ["How many customers are there?"]
            sessions = runtime.status(server=True)["server_sessions"]
            assert sessions["written_back"] == 1 and sessions["outages"] == 1
        finally:
            runtime.close()


def test_kernel_context_survives_a_server_restart_through_redis(data_dir: Path, redis_url: str):
    server = ServerProcess(env={"NLSQL_REDIS_URL": redis_url}).start()
    runtime = Runtime(server.url)
    try:
        runtime.use("finance")
        runtime.ask(FINANCE_Q)
        server.kill()
        server.start()
        answer = runtime.ask(FINANCE_Q)  # no user action
        assert answer.database == "finance"
        seen = runtime.session.refresh()
        # The server found the session in Redis: both turns are there, not a fresh session.
        assert [turn["question"] for turn in seen["history"]] == [FINANCE_Q, FINANCE_Q]
        assert seen["database"] == "finance"
    finally:
        runtime.close()
        server.stop()


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_history_keeps_the_last_turns_and_callers_get_copies(backend: str, redis_url: str):
    async def scenario() -> tuple[Session, Session]:
        store = RedisSessionStore(redis_url) if backend == "redis" else MemorySessionStore()
        session = await store.open(None, "retail")
        session.history.append(Turn("not saved", "SELECT 0", "offline", 0, "retail"))
        for i in range(MAX_HISTORY + 5):
            await store.append_turn(session.session_id, Turn(f"q{i}", "S", "offline", 1, "retail"))
        again = await store.open(session.session_id, None)
        await store.aclose()
        return session, again

    mine, stored = asyncio.run(scenario())
    assert [t.question for t in stored.history] == [f"q{i}" for i in range(5, MAX_HISTORY + 5)]
    assert stored.database == "retail"
    assert [t.question for t in mine.history] == ["not saved"]  # a copy, not the store's
