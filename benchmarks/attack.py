"""The attacker's groups of issue 12, tried against a live `nlsql serve` and the bundled server.

    .venv/bin/python -m benchmarks.attack [--target serve|bundled|both]

Prints per group: tries / survived. A try survived when the server refused it or answered with
a clear JSON-RPC error (a result only where the input is legal and the answer bounded), the
server still serves (a `ping` on another connection answers), and the sample databases are
unchanged (their bytes hashed before and after each group; no file a statement names appears).
The bundled server (the kernel's) has a token: the outsider groups (cross-origin, rebinding,
text/plain) go without it, as another user or a web page would; the input groups with it, as
a runaway notebook would. Also printed: the slowest try of each group and the server's peak
memory (VmHWM) after it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from nlsql_server.settings import Settings
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from benchmarks.transport import free_port, spawn, wait_healthy
from nlsql_jupyter.embedded import EmbeddedServer
from tests.hostile_sql import HOSTILE

JSON = "application/json"
SECRET = {"database": "retail", "sql": "SELECT email FROM customers LIMIT 3"}
#: Seconds a try may take before it counts as a hang (the query timeout is 30 s).
PATIENCE = 60.0
#: Files the hostile statements name: none may appear.
NAMED_FILES = [Path("/tmp") / n for n in ("nlsql-stolen.csv", "nlsql-stolen.bin", "nlsql-evil.db")]
NAMED_FILES += [Path("/tmp") / n for n in ("nlsql-copy.db", "nlsql-x", "x")]

Try = tuple[str, Callable[[], bool]]


@dataclass
class Target:
    """A server under attack: its URL, the token its kernel holds, its process id."""

    name: str
    url: str
    token: str | None
    pid: int
    data_dir: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def post(
        self,
        body: bytes | str | Iterator[bytes],
        content_type: str | None = JSON,
        auth: bool = True,
        **headers: str,
    ) -> httpx.Response:
        sent = {**(self.auth() if auth else {}), **headers}
        if content_type:
            sent["content-type"] = content_type
        return httpx.post(
            f"{self.url}/rpc", content=body, headers=sent, timeout=PATIENCE, trust_env=False
        )

    def call(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.post(
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}})
        )

    def alive(self) -> bool:
        """A `ping` on a connection of its own answers."""
        try:
            reply = self.call("ping").json()
        except (httpx.HTTPError, ValueError):
            return False
        return reply.get("result", {}).get("pong") is True

    def peak_mib(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(row for row in status.splitlines() if row.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


# -- what counts as survived ------------------------------------------------------------------


def clear_error(response: httpx.Response, *codes: str) -> bool:
    """A JSON-RPC error (with one of `codes` as `data.code`, when given), never a 500."""
    if response.status_code >= 500 or not response.headers.get("content-type", "").startswith(JSON):
        return False
    try:
        reply = json.loads(response.content, parse_constant=_refuse)
    except ValueError:
        return False
    error = reply.get("error") if isinstance(reply, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return False
    return not codes or (error.get("data") or {}).get("code") in codes


def _refuse(literal: str) -> Any:
    raise ValueError(literal)


def refused(response: httpx.Response) -> bool:
    """Turned away before any method ran: 401/403/415 and no rows."""
    return response.status_code in (400, 401, 403, 415) and "rows" not in response.text


def post_refused(
    target: Target, body: str, content_type: str | None, auth: bool, origin: str | None
) -> bool:
    headers = {"origin": origin} if origin else {}
    return refused(target.post(body, content_type, auth, **headers))


def post_error(target: Target, body: bytes | str, *codes: str) -> bool:
    return clear_error(target.post(body), *codes)


def call_error(target: Target, method: str, params: dict[str, Any], *codes: str) -> bool:
    return clear_error(target.call(method, params), *codes)


def ws_refused(target: Target, auth: bool, **headers: str) -> bool:
    """The WebSocket handshake is refused, or an opened socket will not run the SQL."""
    try:
        with connect(
            target.url.replace("http://", "ws://") + "/ws",
            additional_headers={**(target.auth() if auth else {}), **headers},
            proxy=None,
            open_timeout=10,
        ) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sql.run", "params": SECRET}))
            return "rows" not in str(ws.recv(timeout=PATIENCE))
    except InvalidStatus as exc:
        return exc.response.status_code in (401, 403)
    except (ConnectionClosed, OSError):
        return True


def raw_refused(target: Target, request: bytes) -> bool:
    """A hand-written request (odd Host headers, lying lengths) gets a 4xx; no 101, no 200."""
    return 400 <= raw_status(target, request) < 500


def raw_status(target: Target, request: bytes) -> int:
    """The status of one hand-written HTTP request (odd Host headers httpx would not send)."""
    with socket.create_connection(("127.0.0.1", target.port), timeout=PATIENCE) as sock:
        sock.sendall(request)
        head = sock.recv(4096)
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0


# -- the groups -------------------------------------------------------------------------------

ORIGINS = (
    "http://attacker.example",
    "https://attacker.example",
    "null",
    "http://127.0.0.1.attacker.example",
    "http://localhost.attacker.example",
    "http://localhost:1",
    "HTTP://ATTACKER.EXAMPLE",
    "http://attacker.example/",
    "file://",
    "chrome-extension://abcdef",
)


def cross_origin(target: Target) -> Iterator[Try]:
    secret = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sql.run", "params": SECRET})
    for origin in (*ORIGINS, f"http://127.0.0.1:{target.port}"):
        yield f"/rpc {origin}", partial(post_refused, target, secret, JSON, False, origin)
        yield (
            f"/rpc text/plain {origin}",
            partial(post_refused, target, secret, "text/plain", False, origin),
        )
        yield f"/ws {origin}", partial(ws_refused, target, False, origin=origin)


HOSTS = (
    "attacker.example",
    "attacker.example:{port}",
    "127.0.0.1.nip.io:{port}",
    "localhost.attacker.example",
    "LOCALHOST.ATTACKER.EXAMPLE:{port}",
    "127.0.0.2:{port}",
    "0.0.0.0:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "localhost.:{port}",
    "127.1:{port}",
    "2130706433:{port}",
    "127.0.0.1@attacker.example",
    "attacker.example#127.0.0.1",
    "",
)


def rebinding(target: Target) -> Iterator[Try]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sql.run", "params": SECRET})
    for pattern in HOSTS:
        host = pattern.format(port=target.port)
        for path in ("/rpc", "/mcp", "/health"):
            request = (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {JSON}\r\n"
                f"Accept: {JSON}, text/event-stream\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n" + body
            ).encode()
            yield f"{path} Host: {host}", partial(raw_refused, target, request)
        handshake = (
            f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        yield f"/ws Host: {host}", partial(raw_refused, target, handshake)


CONTENT_TYPES = (
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    None,
    "text/json",
    "application/jsonx",
    "application/csp-report",
)


def plain_bodies(target: Target) -> Iterator[Try]:
    secret = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sql.run", "params": SECRET})
    for kind in CONTENT_TYPES:
        for auth in (False, True):
            yield (
                f"{kind} (token: {auth})",
                partial(post_refused, target, secret, kind, auth, None),
            )


def long_questions(target: Target) -> Iterator[Try]:
    shapes = {
        "words": "revenue by customer ",
        "one word": "x",
        "accents": "é",
        "numbers": "1234 ",
        "bidi": "\u202e",
    }
    for size in (2_001, 16_000, 100_000, 1_000_000, 3_000_000):
        for shape, unit in shapes.items():
            question = (unit * (size // len(unit) + 1))[:size]
            yield (
                f"{size:,} chars of {shape}",
                partial(
                    call_error,
                    target,
                    "ask",
                    {"question": question, "database": "retail"},
                    "invalid_params",
                    "too_large",
                ),
            )


BLOW_UPS = (
    "SELECT printf('%.*c', 900000000, 'x') AS blob",
    "SELECT printf('%.*c', 2147483647, 'x') AS blob",
    "SELECT length(printf('%.*c', 900000000, 'x'))",
    "SELECT replace(printf('%.*c', 10000000, 'x'), 'x', 'xxxxxxxxxx')",
    "SELECT zeroblob(1000000000)",
    "SELECT randomblob(1000000000)",
    "SELECT hex(zeroblob(20000000))",
    "SELECT upper(printf('%.*c', 20000000, 'x'))",
    "WITH RECURSIVE c(x) AS (SELECT 'x' UNION ALL SELECT x || x FROM c LIMIT 40) SELECT length(x) FROM c",
    "SELECT group_concat(a.email || b.email) FROM customers a, customers b",
    "SELECT count(*) FROM customers a, customers b, customers c, customers d",
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r",
)


def run_bounded(target: Target, sql: str) -> bool:
    return bounded(target.call("sql.run", {"database": "retail", "sql": sql}))


def bounded(response: httpx.Response) -> bool:
    """A clear error, or a result whose bytes stay under 64 MiB."""
    if clear_error(response):
        return True
    return response.status_code == 200 and len(response.content) < 64 << 20


def blow_ups(target: Target) -> Iterator[Try]:
    for sql in BLOW_UPS:
        yield sql, partial(run_bounded, target, sql)

    def four_at_once() -> bool:
        sql = {"database": "retail", "sql": BLOW_UPS[0]}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            calls = [pool.submit(target.call, "sql.run", sql) for _ in range(4)]
            return all(bounded(c.result()) for c in calls)

    yield "four printf blow-ups at once", four_at_once


def surrogates(target: Target) -> Iterator[Try]:
    base = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "ask",
        "params": {"question": "how many orders", "database": "retail"},
    }
    for where in ("id", "method", "question", "database", "session_id", "key"):
        for lone in ("\ud800", "\udfff", "\ud83d"):
            message = json.loads(json.dumps(base))
            if where in ("id", "method"):
                message[where] = lone
            elif where == "key":
                message["params"][lone] = 1
            else:
                message["params"][where] = "a" + lone
            text = json.dumps(message)
            yield (
                f"{where} {lone!a} /rpc",
                partial(post_error, target, text, "parse_error"),
            )
            yield f"{where} {lone!a} /ws", partial(ws_error, target, text, "parse_error")
            for encoding in ("utf-16", "utf-32"):
                yield (
                    f"{where} {lone!a} {encoding} body",
                    partial(post_error, target, text.encode(encoding), "parse_error"),
                )
    raw = json.dumps(base).replace("how many orders", "\\ud800").encode()
    yield "CESU bytes", partial(post_error, target, raw.replace(b"\\ud800", b"\xed\xa0\x80"))


def ws_error(target: Target, frame: str | bytes, *codes: str) -> bool:
    """A frame gets a JSON-RPC error (or a 1009 close, if too big) and the socket stays."""
    try:
        with connect(
            target.url.replace("http://", "ws://") + "/ws",
            additional_headers=target.auth(),
            proxy=None,
            max_size=None,
        ) as ws:
            ws.send(frame)
            reply = json.loads(ws.recv(timeout=PATIENCE), parse_constant=_refuse)
            ok = "error" in reply and (not codes or reply["error"]["data"]["code"] in codes)
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
            return ok and json.loads(ws.recv(timeout=PATIENCE))["result"]["pong"] is True
    except ConnectionClosed as closed:
        return closed.rcvd is not None and closed.rcvd.code == 1009


def deep_nesting(target: Target) -> Iterator[Try]:
    for depth in (33, 100, 970, 1_000, 5_000, 100_000):
        for shape in ("[", '{"a":'):
            close = "]" if shape == "[" else "}"
            inner = shape * depth + ("0" if shape != "[" else "") + close * depth
            request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": 0}})
            body = request.replace("0}", inner + "}")
            yield (
                f"{depth} {shape} /rpc",
                partial(post_error, target, body, "too_deep", "parse_error"),
            )
            yield (
                f"{depth} {shape} /ws",
                partial(ws_error, target, body, "too_deep", "parse_error"),
            )


def oversized(target: Target) -> Iterator[Try]:
    ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    for mib in (1, 2, 10, 50):
        body = ping + b" " * ((mib << 20) + 1 - len(ping))
        yield f"{mib} MiB body", partial(too_large, target, body, False)
        yield f"{mib} MiB chunked body", partial(too_large, target, body, True)
    auth = "".join(f"{k}: {v}\r\n" for k, v in target.auth().items())
    for declared, sent in ((2, 2 << 20), (100 << 20, 10)):
        request = (
            (
                f"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON}\r\n{auth}"
                f"Content-Length: {declared}\r\nConnection: close\r\n\r\n"
            ).encode()
            + b"["
            + b" " * (sent - 1)
        )
        yield (
            f"Content-Length {declared:,}, {sent:,} bytes sent",
            partial(raw_refused, target, request),
        )
    for mib in (2, 20):
        frame = (ping + b" " * (mib << 20)).decode()
        yield f"{mib} MiB frame", partial(ws_error, target, frame, "too_large")


def too_large(target: Target, body: bytes, chunked: bool) -> bool:
    """413 `too_large`, or the server closed the connection before the body was all sent."""
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    try:
        response = target.post(content)
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return True
    return response.status_code in (400, 413) and clear_error(response)


def batches(target: Target) -> Iterator[Try]:
    ping = {"jsonrpc": "2.0", "method": "ping"}
    ask = {
        "jsonrpc": "2.0",
        "method": "ask",
        "params": {"question": "how many orders", "database": "retail"},
    }
    cases: dict[str, Any] = {
        "[]": [],
        "[[]]": [[]],
        "[1, 2, 3]": [1, 2, 3],
        "51 pings": [{**ping, "id": n} for n in range(51)],
        "10,000 pings": [{**ping, "id": n} for n in range(10_000)],
        "50 asks": [{**ask, "id": n} for n in range(50)],
        "50 notifications": [ping] * 50,
        "nested batch": [[{**ping, "id": 1}]],
        "50 sql.run of 60,000 rows": [
            {
                "jsonrpc": "2.0",
                "id": n,
                "method": "sql.run",
                "params": {"database": "retail", "sql": "SELECT * FROM orders"},
            }
            for n in range(50)
        ],
    }
    for name, batch in cases.items():
        yield name, partial(answered, target, json.dumps(batch))


def answered(target: Target, body: str) -> bool:
    """JSON-RPC in reply (one error, a list of responses, or nothing for notifications)."""
    response = target.post(body)
    if response.status_code == 204:
        return True
    if response.status_code >= 500:
        return False
    try:
        reply = json.loads(response.content, parse_constant=_refuse)
    except ValueError:
        return False
    return isinstance(reply, list) or clear_error(response)


def session_ids(target: Target) -> Iterator[Try]:
    odd = {
        "50 KB": "x" * 50_000,
        "129 chars": "s" * 129,
        "NUL": "a\x00b",
        "newline": "a\nb",
        "bidi": "\u202eabc",
        "path": "../../etc/passwd",
        "redis key": "nlsql:session:*",
        "glob": "*",
        "empty": "",
        "number": 12345,
        "object": {"$ne": None},
    }
    for name, sid in odd.items():
        for method in ("session.open", "session.get", "session.use"):
            params = {"session_id": sid, "database": "retail"}
            yield (
                f"{method} {name}",
                partial(session_refused_or_named, target, method, params),
            )

    def flood() -> bool:
        before = target.peak_mib()
        with httpx.Client(headers=target.auth(), timeout=PATIENCE, trust_env=False) as client:
            for n in range(2_000):
                body = {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "session.open",
                    "params": {"session_id": f"{n:0128d}"},
                }
                client.post(f"{target.url}/rpc", json=body)
        return target.peak_mib() - before < 64

    yield "2,000 sessions of 128-char ids (< 64 MiB more)", flood


def session_refused_or_named(target: Target, method: str, params: dict[str, Any]) -> bool:
    """An invalid id is `invalid_params`; a legal odd one (a path, a glob) is just a name, and
    the session it opens carries it."""
    response = target.call(method, params)
    if clear_error(response, "invalid_params"):
        return True
    result = response.json().get("result", {})
    return (
        isinstance(params["session_id"], str) and result.get("session_id") == params["session_id"]
    )


def paths_and_files(target: Target) -> Iterator[Try]:
    for database in ("retail", "finance"):
        for sql in HOSTILE:
            yield (
                f"{database}: {sql[:40]}",
                partial(call_error, target, "sql.run", {"database": database, "sql": sql}),
            )
        for sql in HOSTILE[::4]:
            yield (
                f"tool {database}: {sql[:40]}",
                partial(tool_refused, target, database, sql),
            )
    names = (
        "../../etc/passwd",
        "/etc/passwd",
        "file:/etc/passwd",
        "file:retail.sqlite?mode=rwc",
        "retail.sqlite",
        "~/.ssh/id_rsa",
        "sqlite:////etc/passwd",
        "retail/../finance",
        "C:\\Windows\\win.ini",
        "\x00retail",
    )
    for name in names:
        for method, extra in (
            ("schema.tables", {}),
            ("sql.run", {"sql": "SELECT 1"}),
            ("session.use", {"session_id": "attack"}),
            ("ask", {"question": "how many orders"}),
        ):
            yield (
                f"{method} database={name!r}",
                partial(no_path, target, method, {"database": name, **extra}),
            )
    for table in (
        "../../etc/passwd",
        "sqlite_master",
        "customers; DROP TABLE orders",
        "/etc/passwd",
    ):
        yield (
            f"schema.describe table={table!r}",
            partial(no_path, target, "schema.describe", {"database": "retail", "table": table}),
        )


def tool_refused(target: Target, database: str, sql: str) -> bool:
    arguments = {"database": database, "sql": sql}
    response = target.call("tools.call", {"name": "execute_query", "arguments": arguments})
    return clear_error(response) or response.json().get("result", {}).get("isError") is True


def no_path(target: Target, method: str, params: dict[str, Any]) -> bool:
    """Refused, and the error names no file path of the server's."""
    response = target.call(method, params)
    return clear_error(response) and str(target.data_dir) not in response.text


GROUPS: dict[str, Callable[[Target], Iterator[Try]]] = {
    "cross-origin /ws /rpc": cross_origin,
    "DNS rebinding Host": rebinding,
    "text/plain bodies": plain_bodies,
    "long questions": long_questions,
    "printf blow-up": blow_ups,
    "surrogates": surrogates,
    "deep nesting": deep_nesting,
    "oversized bodies/frames": oversized,
    "batch abuse": batches,
    "session-id abuse": session_ids,
    "path/file tricks": paths_and_files,
}


# -- running them ------------------------------------------------------------------------------


def fingerprint(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and not path.name.endswith(("-journal", "-wal", "-shm", ".log")):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def run_group(target: Target, name: str, data_dir: Path) -> tuple[int, int, float, list[str]]:
    """(tries, survived, slowest seconds, labels of the tries that did not survive)."""
    before = fingerprint(data_dir)
    tries = survived = 0
    slowest = 0.0
    fallen: list[str] = []
    for label, attempt in GROUPS[name](target):
        tries += 1
        started = time.perf_counter()
        try:
            ok = attempt()
        except Exception as exc:  # a try that blew up the client counts as fallen, not fatal
            ok, label = False, f"{label} ({type(exc).__name__}: {exc})"
        slowest = max(slowest, time.perf_counter() - started)
        ok = ok and target.alive()
        survived += ok
        if not ok:
            fallen.append(label)
    if fingerprint(data_dir) != before or any(p.exists() for p in NAMED_FILES):
        fallen.append("THE DATA CHANGED or a named file appeared")
        survived = 0
    return tries, survived, slowest, fallen


def attack(target: Target, data_dir: Path) -> None:
    print(f"\n{target.name} ({target.url})")
    print(f"{'group':<26}{'tries':>7}{'survived':>10}{'slowest s':>11}{'peak MiB':>10}")
    total = [0, 0]
    for name in GROUPS:
        tries, survived, slowest, fallen = run_group(target, name, data_dir)
        total[0] += tries
        total[1] += survived
        print(f"{name:<26}{tries:>7}{survived:>10}{slowest:>11.2f}{target.peak_mib():>10.0f}")
        for label in fallen[:5]:
            print(f"    fell: {label[:110]!r}")
    print(f"{'all groups':<26}{total[0]:>7}{total[1]:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["serve", "bundled", "both"], default="both")
    args = parser.parse_args()
    data_dir = Settings().data_dir
    if args.target in ("serve", "both"):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path(tempfile.gettempdir()) / f"nlsql-attack-{port}.log"
        process = spawn(port, log)
        try:
            wait_healthy(url, process)
            attack(Target("nlsql serve", url, None, process.pid, data_dir), data_dir)
        finally:
            process.terminate()
            process.wait(timeout=10)
        tracebacks = log.read_text(errors="replace").count("Traceback")
        print(f"tracebacks in the server's log: {tracebacks} ({log})")
    if args.target in ("bundled", "both"):
        bundled = EmbeddedServer(Settings(data_dir=data_dir))
        url = bundled.start()
        try:
            target = Target("bundled server (kernel)", url, bundled.token, os.getpid(), data_dir)
            attack(target, data_dir)
        finally:
            bundled.stop()


if __name__ == "__main__":
    main()
