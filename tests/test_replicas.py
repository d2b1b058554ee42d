"""Two `nlsql serve` processes sharing one real Redis: a session moves freely between them,
50 sessions asked at once across both never see each other's context, and 20 questions asked
at once on one session through both keep all 20 turns (as they do on one server keeping
sessions in memory)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_process import ServerProcess

from nlsql_jupyter.client import ClientConfig, HybridClient

SESSIONS = 50
FINANCE_Q = "How many accounts are there?"


@pytest.fixture(scope="module")
def databases_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """50 small SQLite databases, `tenant_<i>` with i + 1 items labelled `t<i>-<n>`."""
    base = tmp_path_factory.mktemp("tenants")
    lines = []
    for i in range(SESSIONS):
        path = base / f"tenant_{i}.sqlite"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)")
            db.executemany(
                "INSERT INTO items VALUES (?, ?)", [(n, f"t{i}-{n}") for n in range(1, i + 2)]
            )
        lines.append(f'[databases.tenant_{i}]\nurl = "sqlite:///{path}"\n')
    config = base / "databases.toml"
    config.write_text("\n".join(lines))
    return config


@pytest.fixture(scope="module")
def replicas(data_dir: Path, redis_url: str, databases_file: Path) -> Iterator[list[str]]:
    env = {"NLSQL_REDIS_URL": redis_url, "NLSQL_DATABASES": str(databases_file)}
    first, second = ServerProcess(env=env), ServerProcess(env=env)
    try:
        first.start()
        second.start()
        yield [first.url, second.url]
    finally:
        first.stop()
        second.stop()


def test_a_session_opened_on_one_replica_continues_on_the_other(replicas: list[str]):
    with HybridClient(replicas[0]) as one, HybridClient(replicas[1]) as other:
        sid = one.call("session.open")["session_id"]
        one.call("session.use", {"session_id": sid, "database": "finance"})
        one.ask(FINANCE_Q, session_id=sid)

        seen = other.call("session.get", {"session_id": sid})
        assert seen["database"] == "finance"
        assert [turn["question"] for turn in seen["history"]] == [FINANCE_Q]
        answer = other.ask(FINANCE_Q, session_id=sid)  # no database: the session's
        assert answer["database"] == "finance"

        other.call("session.use", {"session_id": sid, "database": "retail"})
        assert one.call("session.get", {"session_id": sid})["database"] == "retail"
        assert len(one.call("session.get", {"session_id": sid})["history"]) == 2


def test_fifty_concurrent_sessions_across_replicas_stay_isolated(replicas: list[str]):
    barrier = threading.Barrier(SESSIONS)
    results: dict[int, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def tenant(i: int) -> None:
        # Each session is pointed at its database through one replica and asked through the
        # other, over the WebSocket for even tenants and HTTP only for odd ones.
        config = lambda url: ClientConfig(url, websocket=i % 2 == 0)  # noqa: E731
        try:
            with (
                HybridClient(config(replicas[i % 2])) as here,
                HybridClient(config(replicas[(i + 1) % 2])) as there,
            ):
                sid = here.call("session.open")["session_id"]
                barrier.wait()
                here.call("session.use", {"session_id": sid, "database": f"tenant_{i}"})
                count = there.ask("How many items are there?", session_id=sid)
                rows = here.ask("List the items", session_id=sid)
                session = there.call("session.get", {"session_id": sid})
                results[i] = {"count": count, "rows": rows, "session": session}
        except BaseException as exc:  # reported below with the tenant's number
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=tenant, args=(i,)) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not errors, errors[:3]
    assert len(results) == SESSIONS
    for i, result in results.items():
        count, rows, session = result["count"], result["rows"], result["session"]
        assert count["database"] == f"tenant_{i}"
        assert count["rows"] == [[i + 1]]
        label = rows["columns"].index("label")
        labels = {row[label] for row in rows["rows"]}
        assert labels == {f"t{i}-{n}" for n in range(1, i + 2)}
        assert session["database"] == f"tenant_{i}"
        assert [t["database"] for t in session["history"]] == [f"tenant_{i}"] * 2
        assert [t["question"] for t in session["history"]] == [
            "How many items are there?",
            "List the items",
        ]


def concurrent_asks(urls: list[str], session_id: str, question: str, asks: int) -> None:
    """`question` asked `asks` times at once on one session, spread over `urls`, each time from
    its own client."""
    barrier = threading.Barrier(asks)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with HybridClient(urls[i % len(urls)]) as client:
                barrier.wait()
                client.ask(question, session_id=session_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(asks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]


def test_concurrent_asks_on_one_session_across_replicas_keep_every_turn(replicas: list[str]):
    with HybridClient(replicas[0]) as client:
        sid = client.call("session.open")["session_id"]
        client.call("session.use", {"session_id": sid, "database": "tenant_3"})
        concurrent_asks(replicas, sid, "How many items are there?", 20)
        session = client.call("session.get", {"session_id": sid})
    assert len(session["history"]) == 20
    assert session["database"] == "tenant_3"  # the appends did not touch the database choice


def test_concurrent_asks_on_one_session_in_memory_keep_every_turn(server):
    with HybridClient(server.url) as client:
        sid = client.call("session.open")["session_id"]
        client.call("session.use", {"session_id": sid, "database": "retail"})
        concurrent_asks([server.url], sid, "How many customers are there?", 20)
        session = client.call("session.get", {"session_id": sid})
        assert client.call("stats")["sessions"]["backend"] == "memory"
    assert len(session["history"]) == 20
    assert session["database"] == "retail"
