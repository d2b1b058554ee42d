"""Sessions in Redis, shared by every replica, with a memory fallback while Redis is away.

One key per session (`nlsql:session:<id>`) holding its JSON (database, turns); every use
refreshes a one-hour TTL (`GETEX`/`SET EX`). Redis is the truth while it answers, so a session
pointed at a database on one replica continues on another.

If Redis stops answering, the store turns *degraded*: it serves from its local copies (every
session this process touched), remembers which ones changed, and a background probe pings
Redis until it answers, then writes those sessions back and leaves degraded mode. While
degraded no request waits on Redis: only the probe touches it. Replicas may diverge during an
outage; at write-back the last writer wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from .model import Session, new_session_id

log = logging.getLogger(__name__)

KEY_PREFIX = "nlsql:session:"


class RedisSessionStore:
    """`open`/`save` against Redis; local copies answer while it is away (see the module doc)."""

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
        self._ttl = ttl
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

    def _key(self, session_id: str) -> str:
        return KEY_PREFIX + session_id

    async def open(self, session_id: str | None, default_database: str | None) -> Session:
        sid = new_session_id(session_id)
        if not self.degraded:
            try:
                raw = await self._redis.getex(self._key(sid), ex=int(self._ttl))
            except RedisError as exc:
                self._degrade(exc)
            else:
                if raw is not None:
                    session = Session.from_json(raw)
                    self._remember(session)
                    return session
        known = self._local.get(sid)
        # Known here but not in Redis (Redis restarted empty, or it is away): our copy stands.
        session = known[0] if known else Session(session_id=sid, database=default_database)
        await self.save(session)
        return session

    async def save(self, session: Session) -> None:
        self._remember(session)
        if self.degraded:
            self._pending.add(session.session_id)
            return
        try:
            await self._redis.set(
                self._key(session.session_id), session.to_json(), ex=int(self._ttl)
            )
        except RedisError as exc:
            self._degrade(exc)
            self._pending.add(session.session_id)

    def _remember(self, session: Session) -> None:
        now = time.monotonic()
        self._local[session.session_id] = (session, now)
        self._local.move_to_end(session.session_id)
        # Forget what Redis would have expired too (oldest first; pending ones stay).
        while self._local:
            sid, (_, used) = next(iter(self._local.items()))
            if now - used <= self._ttl or sid in self._pending:
                break
            self._local.popitem(last=False)

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
                        await self._redis.set(self._key(sid), entry[0].to_json(), ex=int(self._ttl))
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
