"""The clients tests/test_fuzz.py drives a live server with, and how their exchanges are judged.

`Live` holds an HTTP client, a WebSocket kept across examples (`FuzzSocket`) and a second client
on its own connection (`Observer`) that must be served while each example runs; `over_http` and
`over_ws` send one message and check the reply against `fuzz_messages.judge`'s verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from fuzz_messages import (
    Verdict,
    assert_answers,
    assert_refused,
    assert_response,
    is_notification_from_server,
    is_request,
    judge,
    strict_loads,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

T = TypeVar("T")

#: Seconds a reply may take before the server counts as hung (an `ask` takes well under one).
REPLY_TIMEOUT = 30.0
JSON = {"content-type": "application/json"}
NO_ID = object()


class Observer:
    """A second client on a WebSocket of its own: it must be served while the fuzzing runs."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.ws = connect(
            ws_url(url), proxy=None, ping_interval=None, additional_headers=headers, legacy=True
        )
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        rid = f"observer-{self.pings}"
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": "ping"}))
        reply = strict_loads(self.ws.recv(timeout=REPLY_TIMEOUT))
        assert reply["id"] == rid and reply["result"]["pong"] is True, reply


@dataclass
class Exchange:
    """What came back on the fuzzed socket: the decoded frames before our probe `ping` was
    answered (server notifications included), whether the server closed it, and the close code
    when its close frame arrived (it can be lost when the server resets the connection while
    our probe is still in flight)."""

    frames: list[Any] = field(default_factory=list)
    closed: bool = False
    close_code: int | None = None

    @property
    def replies(self) -> list[Any]:
        return [f for f in self.frames if not is_notification_from_server(f)]


class FuzzSocket:
    """One WebSocket kept across examples, as a client keeps its own; reopened after a close."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = ws_url(url)
        self.headers = headers
        self.ws: ClientConnection | None = None
        self.probes = 0

    def exchange(self, frame: str | bytes, wait_for: Any = NO_ID) -> Exchange:
        """Send `frame`, then a probe `ping`; read until the probe (and the reply whose id is
        `wait_for`, if given) is answered, or the server closes the socket."""
        if self.ws is None:
            self.ws = connect(
                self.url,
                proxy=None,
                ping_interval=None,  # keepalive pings draw from `random` under hypothesis
                max_size=None,
                additional_headers=self.headers,
                legacy=True,
            )
        self.probes += 1
        probe = f"fuzz-probe-{self.probes}"
        waiting = [probe] if wait_for is NO_ID else [probe, wait_for]
        done = Exchange()
        try:
            self.ws.send(frame)
            self.ws.send(json.dumps({"jsonrpc": "2.0", "id": probe, "method": "ping"}))
            while waiting:
                reply = strict_loads(self.ws.recv(timeout=REPLY_TIMEOUT))
                if isinstance(reply, dict) and reply.get("id") == probe:
                    assert reply["result"]["pong"] is True, reply
                else:
                    done.frames.append(reply)
                matched = reply.get("id", NO_ID) if isinstance(reply, dict) else NO_ID
                waiting = [w for w in waiting if w != matched or matched is NO_ID]
        except ConnectionClosed as closed:
            self.ws = None
            done.closed = True
            done.close_code = closed.rcvd.code if closed.rcvd else None
        return done

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


class Live:
    """A server under fuzzing, its HTTP and WebSocket clients, and the observer beside them."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        auth = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=auth, timeout=REPLY_TIMEOUT, trust_env=False)
        self.socket = FuzzSocket(url, auth)
        self.observer = Observer(url, auth)
        self._pool = ThreadPoolExecutor(max_workers=1)

    def alongside(self, work: Callable[[], T]) -> T:
        """Run `work` while the observer pings on its own connection; it must end in time."""
        running = self._pool.submit(work)
        self.observer.ping()
        return running.result(timeout=2 * REPLY_TIMEOUT)

    def post(self, body: bytes | Iterator[bytes]) -> httpx.Response:
        return self.alongside(lambda: self.http.post("/rpc", content=body, headers=JSON))

    def send(self, frame: str | bytes, wait_for: Any = NO_ID) -> Exchange:
        return self.alongside(lambda: self.socket.exchange(frame, wait_for))

    def close(self) -> None:
        self._pool.shutdown()
        self.socket.close()
        self.observer.ws.close()
        self.http.close()


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws"


def check_http(response: httpx.Response, verdict: Verdict) -> None:
    """An HTTP reply to one body: JSON-RPC (or nothing, for notifications), never a 500."""
    assert response.status_code in (200, 204, 400, 413), (response.status_code, response.text)
    if response.status_code == 204:
        assert not response.content and not verdict.refusals
        return
    assert response.headers["content-type"].startswith("application/json"), response.headers
    reply = strict_loads(response.content)
    if verdict.refusals:
        assert response.status_code == (413 if "too_large" in verdict.refusals else 400)
        assert_refused(reply, verdict)
    elif isinstance(verdict.message, list):
        check_batch_replies(verdict.message, reply)
    else:
        assert response.status_code == 200
        assert_answers(verdict.message, [reply])


def check_batch_replies(batch: list[Any], replies: Any) -> None:
    """A batch's replies: Response objects, one for each request with an id, carrying it."""
    assert isinstance(replies, list), replies
    for reply in replies:
        assert_response(reply)
    for item in batch:
        if is_request(item) and "id" in item and item["id"] is not None:
            assert [r["id"] for r in replies].count(item["id"]) >= 1, (item, replies)


def check_ws(exchange: Exchange, verdict: Verdict) -> None:
    """A WebSocket exchange: the socket answered the probe, replies as over HTTP; or, for a
    message past the limit on a server that caps frames, the socket closed with 1009."""
    if exchange.close_code is not None:
        assert exchange.close_code == 1009 and "too_large" in verdict.refusals, exchange
        return
    for frame in exchange.frames:
        if not is_notification_from_server(frame):
            assert isinstance(frame, dict | list), frame
    if verdict.refusals:
        assert len(exchange.replies) == 1, exchange
        assert_refused(exchange.replies[0], verdict)
    elif isinstance(verdict.message, list):
        # Batches on /ws: test_a_batch_over_the_websocket_answers_each_request, to the letter.
        for reply in exchange.replies:
            for each in reply if isinstance(reply, list) else [reply]:
                assert_response(each)
    else:
        assert_answers(verdict.message, exchange.replies)


def awaited_id(verdict: Verdict) -> Any:
    """The id whose reply a WebSocket exchange waits for (none for a refusal or notification)."""
    message = verdict.message
    if verdict.refusals or not is_request(message) or "id" not in message:
        return NO_ID
    return message["id"]


def over_http(live: Live, body: bytes) -> None:
    check_http(live.post(body), judge(body))


def over_ws(live: Live, body: bytes) -> None:
    verdict = judge(body)
    check_ws(live.send(body.decode("utf-8"), awaited_id(verdict)), verdict)
