"""Nobody uninvited: web pages, rebound DNS names and other local users are refused (issue 12).

Each test plays the attacker against a real server on loopback: a page on another origin
(browsers send `Origin` on cross-site requests and WebSocket handshakes), a DNS name rebound to
127.0.0.1 (the `Host` header names the attacker's domain), a cross-site `text/plain` POST (no
preflight), and another local user who finds the kernel's bundled server by its port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ServerThread
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from nlsql_jupyter.embedded import EmbeddedServer
from nlsql_jupyter.runtime import Runtime

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
SECRET = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "sql.run",
    "params": {"database": "retail", "sql": "SELECT email FROM customers LIMIT 1"},
}
JSON = {"content-type": "application/json"}


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws"


def post(url: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/rpc", content=json.dumps(body), headers={**JSON, **headers})


@pytest.fixture(scope="module")
def open_server(data_dir: Path) -> Iterator[ServerThread]:
    """A token-less server with the default settings, as `nlsql serve` starts one."""
    from nlsql_server.app import create_app
    from nlsql_server.settings import Settings

    with ServerThread(create_app(Settings(data_dir=data_dir))) as running:
        yield running


def test_our_own_clients_get_in(open_server):
    response = post(open_server.url, SECRET)
    assert response.status_code == 200 and "@" in response.json()["result"]["rows"][0][0]
    with connect(ws_url(open_server.url)) as ws:
        ws.send(json.dumps(PING))
        assert json.loads(ws.recv(timeout=5))["result"]["pong"] is True


def test_a_web_page_cannot_open_the_websocket(open_server):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(open_server.url), origin="http://attacker.example").close()
    assert refused.value.response.status_code == 403


def test_a_web_page_cannot_post_to_rpc(open_server):
    response = post(open_server.url, SECRET, origin="http://attacker.example")
    assert response.status_code == 403
    assert response.json()["error"]["data"]["code"] == "forbidden_origin"
    assert "rows" not in response.text


def test_a_cross_site_text_plain_post_is_refused(open_server):
    response = httpx.post(
        f"{open_server.url}/rpc",
        content=json.dumps(SECRET),
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["data"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", ["/rpc", "/health", "/mcp"])
def test_a_rebound_dns_name_is_refused_everywhere(open_server, path):
    response = httpx.post(
        f"{open_server.url}{path}",
        content=json.dumps(SECRET),
        headers={**JSON, "host": "attacker.example:8765"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["data"]["code"] == "forbidden_host"


def handshake_status(url: str, host: str) -> int:
    """The HTTP status a WebSocket handshake for `host` gets (101: the socket is open)."""
    port = int(url.rsplit(":", 1)[1])
    request = (
        f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.encode())
        return int(sock.recv(1024).split(b" ", 2)[1])


def test_a_rebound_dns_name_cannot_open_the_websocket(open_server):
    port = open_server.url.rsplit(":", 1)[1]
    assert handshake_status(open_server.url, f"127.0.0.1:{port}") == 101  # the name it has
    assert handshake_status(open_server.url, f"attacker.example:{port}") == 403


def test_loopback_names_and_allowed_origins_are_let_in(data_dir: Path):
    from nlsql_server.app import create_app
    from nlsql_server.settings import Settings

    lab = "http://localhost:8888"
    settings = Settings(data_dir=data_dir, allowed_origins=[lab])
    with ServerThread(create_app(settings)) as running:
        port = running.url.rsplit(":", 1)[1]
        assert post(running.url, PING, origin=lab).status_code == 200
        assert post(running.url, PING, host=f"localhost:{port}").status_code == 200
        assert post(running.url, PING, origin="http://localhost:9999").status_code == 403


def test_the_bundled_server_answers_only_its_own_kernel(data_dir: Path):
    from nlsql_server.settings import Settings

    bundled = EmbeddedServer(Settings(data_dir=data_dir))
    url = bundled.start()
    try:
        assert bundled.token and len(bundled.token) >= 32
        response = post(url, SECRET)  # another local user who found the port
        assert response.status_code == 401 and "rows" not in response.text
        with pytest.raises(InvalidStatus):
            connect(ws_url(url)).close()
        assert post(url, PING, authorization=f"Bearer {bundled.token}").status_code == 200
    finally:
        bundled.stop()

    runtime = Runtime()  # the kernel: no URL configured, so the bundled server, with its token
    try:
        assert runtime.ask("how many orders are there", database="retail").row_count == 1
        assert runtime.status(server=True)["connected"] is True
        assert runtime.client.config.token not in json.dumps(
            runtime.status(server=True), default=str
        )
    finally:
        runtime.close()


def test_serve_refuses_a_public_address_without_a_token():
    done = subprocess.run(
        [sys.executable, "-m", "nlsql_server", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NLSQL_TOKEN": ""},
    )
    assert done.returncode == 2
    assert "without a token" in done.stderr


def test_a_public_server_does_not_tell_clients_where_its_files_are(data_dir: Path):
    """On a public address the SQLite URLs carry the file name only; on loopback the path."""
    from server_process import ServerProcess

    public = ServerProcess(args=("--host", "0.0.0.0", "--token", "t0ken"))
    local = ServerProcess()
    with public, local:
        seen = {}
        for name, server, headers in (
            ("public", public, {"authorization": "Bearer t0ken"}),
            ("local", local, {}),
        ):
            reply = httpx.post(
                server.url + "/rpc",
                json={"jsonrpc": "2.0", "id": 1, "method": "databases.list"},
                headers=headers,
                trust_env=False,
                timeout=60,
            ).json()
            seen[name] = {db["name"]: db["url"] for db in reply["result"]}
    assert seen["public"]["retail"] == "sqlite:///retail.sqlite"
    assert str(data_dir) not in json.dumps(seen["public"])
    assert seen["local"]["retail"].endswith(f"{data_dir.resolve().name}/retail.sqlite")
