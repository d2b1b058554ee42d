"""Sessions in Redis, shared by every replica, with a memory fallback while Redis is away.

Two keys per session: a hash `nlsql:session:<id>` holding its database (JSON), and a list
`nlsql:history:<id>` with one JSON entry per turn. A turn is added with `RPUSH` + `LTRIM` in
one transaction, so concurrent asks on one session, on any replicas, never overwrite each
other's turns (a whole-session read-modify-write did: 20 asks at once kept 1 to 14 turns).
Every use refreshes both keys' TTL (one hour by default). Redis is the truth while it answers,
so a session pointed at a database on one replica continues on another.

If Redis stops answering, the store turns *degraded*: it serves from its local copies (every
session this process touched), remembers which ones changed, and a background probe pings
Redis until it answers, then writes those sessions back and leaves degraded mode. While
degraded no request waits on Redis: only the probe touches it. Replicas may diverge during an
outage; at write-back the last writer wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from .model import MAX_HISTORY, Session, Turn, new_session_id, turn_from_json, turn_to_json

log = logging.getLogger(__name__)

#: The hash of a session's own fields (its database).
KEY_PREFIX = "nlsql:session:"
#: The list of a session's turns (a separate prefix: ids are the client's, any text).
HISTORY_PREFIX = "nlsql:history:"


class RedisSessionStore:
    """`open`/`save`/`append_turn` against Redis; local copies answer while it is away (see
    the module doc)."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 3600.0,
        probe_interval: float = 0.25,
        op_timeout: float = 1.0,
    ) -> None:
        # redis-py retries a failed command itself (once, after a short jittered pause) and
        # checks idle connections before reuse: a blip costs milliseconds, not degraded mode.
        self._redis = Redis.from_url(
            url,
            socket_connect_timeout=op_timeout,
            socket_timeout=op_timeout,
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.05), retries=1),
            health_check_interval=10,
        )
        self._url = url
        self._ttl = int(ttl)
        self._probe_interval = probe_interval
        #: Session id -> (session, last used): every session this process touched lately.
        self._local: OrderedDict[str, tuple[Session, float]] = OrderedDict()
        #: Sessions changed while degraded: written back when Redis returns.
        self._pending: set[str] = set()
        self._probe: asyncio.Task[None] | None = None
        self.degraded_since: float | None = None
        self.last_error: str | None = None
        self.outages = 0
        self.written_back = 0

    @property
    def degraded(self) -> bool:
        return self.degraded_since is not None

    async def open(self, session_id: str | None, default_database: str | None) -> Session:
        sid = new_session_id(session_id)
        known = self._local.get(sid)
        if not self.degraded:
            try:
                return await self._read(sid, known[0] if known else None, default_database)
            except RedisError as exc:
                self._degrade(exc)
        session = known[0] if known else Session(session_id=sid, database=default_database)
        self._pending.add(sid)
        return self._remember(session)

    async def _read(self, sid: str, known: Session | None, default_database: str | None) -> Session:
        """The session as Redis has it, created there if new; TTLs refreshed."""
        meta, history = KEY_PREFIX + sid, HISTORY_PREFIX + sid
        database = known.database if known else default_database
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(meta, "database", json.dumps(database))
            pipe.hget(meta, "database")
            pipe.lrange(history, 0, -1)
            pipe.expire(meta, self._ttl)
            pipe.expire(history, self._ttl)
            created, stored, turns, *_ = await pipe.execute()
        if created and known is not None and known.history:
            # Known here but not in Redis (it restarted empty): our copy stands.
            await self._write(known)
            return self._remember(known)
        return self._remember(Session(sid, json.loads(stored), [turn_from_json(t) for t in turns]))

    async def save(self, session: Session) -> None:
        sid, database = session.session_id, session.database
        known = self._local.get(sid)
        local = known[0].copy() if known else session.copy()
        local.database = database
        self._remember(local)

        def set_database(pipe: Pipeline) -> None:
            pipe.hset(KEY_PREFIX + sid, "database", json.dumps(database))
            pipe.expire(KEY_PREFIX + sid, self._ttl)
            pipe.expire(HISTORY_PREFIX + sid, self._ttl)

        await self._change(sid, set_database)

    async def append_turn(self, session_id: str, turn: Turn) -> None:
        known = self._local.get(session_id)
        local = known[0].copy() if known else Session(session_id, turn.database)
        local.record(turn)
        self._remember(local)
        history = HISTORY_PREFIX + session_id

        def append(pipe: Pipeline) -> None:
            pipe.rpush(history, turn_to_json(turn))
            pipe.ltrim(history, -MAX_HISTORY, -1)
            pipe.expire(history, self._ttl)
            pipe.expire(KEY_PREFIX + session_id, self._ttl)

        await self._change(session_id, append)

    async def _change(self, session_id: str, commands: Callable[[Pipeline], None]) -> None:
        """Run `commands` as one transaction, or keep the change for write-back."""
        if self.degraded:
            self._pending.add(session_id)
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                commands(pipe)
                await pipe.execute()
        except RedisError as exc:
            self._degrade(exc)
            self._pending.add(session_id)

    async def _write(self, session: Session) -> None:
        """Replace the session in Redis by `session` (write-back: the last writer wins)."""
        meta, history = KEY_PREFIX + session.session_id, HISTORY_PREFIX + session.session_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(meta, "database", json.dumps(session.database))
            pipe.delete(history)
            if session.history:
                pipe.rpush(history, *(turn_to_json(turn) for turn in session.history))
            pipe.expire(meta, self._ttl)
            pipe.expire(history, self._ttl)
            await pipe.execute()

    def _remember(self, session: Session) -> Session:
        """Keep `session` as this process's copy; return a copy for the caller."""
        now = time.monotonic()
        self._local[session.session_id] = (session, now)
        self._local.move_to_end(session.session_id)
        # Forget what Redis would have expired too (oldest first; pending ones stay).
        while self._local:
            sid, (_, used) = next(iter(self._local.items()))
            if now - used <= self._ttl or sid in self._pending:
                break
            self._local.popitem(last=False)
        return session.copy()

    def _degrade(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.degraded:
            return
        log.warning("Redis is unavailable (%s): serving sessions from memory", self.last_error)
        self.degraded_since = time.time()
        self.outages += 1
        self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Ping until Redis answers, write the changed sessions back, leave degraded mode."""
        while True:
            await asyncio.sleep(self._probe_interval)
            try:
                await self._redis.ping()
                while self._pending:
                    sid = next(iter(self._pending))
                    entry = self._local.get(sid)
                    if entry is not None:
                        await self._write(entry[0])
                        self.written_back += 1
                    self._pending.discard(sid)
            except RedisError as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                continue
            log.warning("Redis is back: %d sessions written back", self.written_back)
            self.degraded_since = None
            self._probe = None
            return

    def stats(self) -> dict[str, Any]:
        return {
            "backend": "redis",
            "degraded": self.degraded,
            "degraded_since": self.degraded_since,
            "pending_writes": len(self._pending),
            "local_sessions": len(self._local),
            "outages": self.outages,
            "written_back": self.written_back,
            "last_error": self.last_error,
            "ttl_s": self._ttl,
        }

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self._redis.aclose()
