"""The front proxy's login chain cannot hand a user the hub's login credential.

Through the REAL example Apache (examples/apache-header-auth and
examples/two-hubs) in front of REAL hubs with configurable-http-proxy (CHP),
alice — logged in at the front proxy with her own password — sends every path
trick we know (backslashes, encoded dots and backslashes, ``;``, doubled
slashes, mixed case, double encoding, absolute-form targets, websocket
upgrades, keep-alive sequences). A route for alice's server is added to her
hub's CHP (through CHP's REST API, as the hub itself does) pointing at a small
HTTP server here that records every request it receives, as alice's own
JupyterLab would.

What must hold, whatever the path and headers: nothing that reaches alice's
server carries the proxy's secret or a login header (X-Proxy-Secret,
X-Remote-User), no response alice gets carries the secret; and whatever headers her
server did receive, replayed from 127.0.0.1 (where any process on the hub's
node can connect) with ``X-Remote-User: bob``, do not log anyone in — not at
the hub's own port, not at CHP.

Requests go out on raw sockets so that every path is sent exactly as written
(``requests`` and ``urllib`` normalise them).
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Portal
from test_header_auth import PASSWORDS, fronted_running
from test_two_hubs import two_hubs_running

pytestmark = [pytest.mark.hub, pytest.mark.apache, pytest.mark.slow]

USER = "alice"
TARGET = f"user/{USER}/x"

# Each path is sent verbatim. ``{T}`` is alice's server path (user/alice/x).
TRICKS = [
    "/hub/..\\{T}",
    "/hub/%2E%2E\\{T}",
    "/hub/%2e%2e\\{T}",
    "/hub/.%2e\\{T}",
    "/hub/%2e.\\{T}",
    "/./hub/..\\{T}",
    "/hub/./..\\{T}",
    "//hub/..\\{T}",
    "/hub//..\\{T}",
    "/hub/x/..\\..\\{T}",
    "/hub/x/../..\\{T}",
    "/hub/..%5c{T}",
    "/hub/..%5C{T}",
    "/hub/%2e%2e%5c{T}",
    "/hub/%2E%2E%5C{T}",
    "/hub/..%5c%5c{T}",
    "/hub/..;/{T}",
    "/hub/..;\\{T}",
    "/hub;/../{T}",
    "/hub;/..\\{T}",
    "/hub/;/..\\{T}",
    "/hub/%252e%252e\\{T}",
    "/hub/%252e%252e%255c{T}",
    "/hub/..%255c{T}",
    "/hub/%c0%ae%c0%ae\\{T}",
    "/HUB/..\\{T}",
    "/Hub/..\\{T}",
    "/hUb/%2E%2E\\{T}",
    "/hub\\..\\{T}",
    "/hub/\\..\\{T}",
    "/hub/..\\\\{T}",
    "/hub/..\\user\\alice\\x",
    "/hub/../{T}",
    "/hub/%2e%2e/{T}",
    "/hub/%2e%2e%2f{T}",
    "/hub/..\\{T}?next=/hub/",
    "/hub/..\\{T}#frag",
    "/hub/..%00\\{T}",
    "/hub/..%09\\{T}",
    "/hub/user/alice/x",
    "/hub/home",
    "/user/alice/x",  # the plain path: it must reach the recorder (the probe works)
]


# Headers a client might hope would steer the front proxy's routing or name a user.
FORGED_HEADERS = {
    "X-Proxy-Secret": "forged",
    "X-Remote-User": "bob",
    "SDCC_TO_HUB": "1",
    "Sdcc-To-Hub": "1",
    "X-Original-URL": "/hub/home",
    "X-Rewrite-URL": "/hub/home",
    "X-Forwarded-Prefix": "/hub/",
    "X-Forwarded-For": "127.0.0.1",
    "X-Real-Ip": "127.0.0.1",
}


@dataclass
class Recorder:
    """An HTTP server standing in for alice's JupyterLab: it keeps what it receives."""

    server: ThreadingHTTPServer
    seen: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def recorder_running() -> Iterator[Recorder]:
    seen: list[tuple[str, str, list[tuple[str, str]]]] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append((self.command, self.path, list(self.headers.items())))
            body = b"recorded\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _record
        do_TRACE = _record

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Recorder(server, seen)
    finally:
        server.shutdown()
        server.server_close()


def chp_token(portal: Portal) -> str:
    """CHP's REST API token: the hub hands it to CHP in its environment."""
    pid = int((portal.data_dir / "hub" / "proxy.pid").read_text().strip())
    for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if item.startswith(b"CONFIGPROXY_AUTH_TOKEN="):
            return item.split(b"=", 1)[1].decode()
    raise AssertionError("configurable-http-proxy has no CONFIGPROXY_AUTH_TOKEN")


def ports(portal: Portal) -> dict[str, int]:
    return {
        k: int(v)
        for k, v in json.loads((portal.data_dir / "hub" / "ports.json").read_text()).items()
    }


def add_route(portal: Portal, path: str, target: str) -> None:
    """Route ``path`` of the portal's CHP to ``target``, as the hub does for a started server."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{ports(portal)['proxy_api']}/api/routes{path}",
        data=json.dumps({"target": target, "user": USER, "server_name": ""}).encode(),
        method="POST",
        headers={"Authorization": f"token {chp_token(portal)}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 201


@dataclass
class Front:
    name: str
    url: str  # Apache's
    secret: str
    portal: Portal  # alice's hub


@pytest.fixture(scope="module", params=["apache-header-auth", "two-hubs"])
def front(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Front]:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "apache-header-auth":
        with fronted_running(folder) as fronted:
            yield Front(request.param, fronted.url, fronted.secret, fronted.portal)
    else:
        with two_hubs_running(folder) as two:
            yield Front(request.param, two.url, two.secret, two.hub_of(USER))


def raw_exchange(port: int, requests: list[bytes]) -> bytes:
    """Send requests verbatim on one connection; what comes back until the server
    closes it or stays silent (an upgraded websocket stays open)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"".join(requests))
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
            s.settimeout(0.5)
    return b"".join(chunks)


def raw_request(
    method: str,
    target: str,
    port: int,
    extra: dict[str, str],
    body: bytes = b"",
    close: bool = True,
) -> bytes:
    auth = base64.b64encode(f"{USER}:{PASSWORDS[USER]}".encode()).decode()
    headers = {"Host": f"127.0.0.1:{port}", "Authorization": f"Basic {auth}", **extra}
    if body or method in ("POST", "PUT"):
        headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close" if close else "keep-alive"
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


def every_trick(port: int) -> list[tuple[str, list[bytes]]]:
    """Each entry: what it tries, and the requests of one connection."""
    websocket = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
    }
    sent: list[tuple[str, list[bytes]]] = []
    for trick in TRICKS:
        path = trick.replace("{T}", TARGET)
        for method in ("GET", "POST", "TRACE"):
            body = b"x=1" if method == "POST" else b""
            sent.append((f"{method} {path}", [raw_request(method, path, port, {}, body)]))
        absolute = f"http://127.0.0.1:{port}{path}"
        sent.append((f"GET {absolute}", [raw_request("GET", absolute, port, {})]))
        ws = raw_request("GET", path, port, {}).replace(
            b"Connection: close\r\n",
            b"".join(f"{k}: {v}\r\n".encode() for k, v in websocket.items()),
        )
        sent.append((f"websocket {path}", [ws]))
        sent.append(
            (
                f"GET {path} with made-up routing headers",
                [raw_request("GET", path, port, FORGED_HEADERS)],
            )
        )
        # A hub request first, then the trick, on one kept-alive connection.
        sent.append(
            (
                f"/hub/home then {path}",
                [
                    raw_request("GET", "/hub/home", port, {}, close=False),
                    raw_request("GET", path, port, {}),
                ],
            )
        )
    return sent


def forged_login(port: int, headers: list[tuple[str, str]]) -> int:
    """GET /hub/login from 127.0.0.1 with ``headers`` and X-Remote-User: bob."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", "/hub/login", skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{port}")
        for name, value in headers:
            if name.lower() not in (
                "host",
                "content-length",
                "connection",
                "upgrade",
                "x-remote-user",
                "transfer-encoding",
            ):
                conn.putheader(name, value)
        conn.putheader("X-Remote-User", "bob")
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_no_path_trick_gets_the_secret_to_a_users_server(front: Front) -> None:
    apache_port = int(front.url.rstrip("/").rsplit(":", 1)[1])
    with recorder_running() as recorder:
        add_route(front.portal, f"/user/{USER}", recorder.url)
        replies, leaked = [], []
        for what, connection in every_trick(apache_port):
            before = len(recorder.seen)
            replies.append(raw_exchange(apache_port, connection))
            # The secret, or any header the hub reads as a login (names a user).
            if any(
                front.secret in path
                or any(
                    front.secret in f"{k}: {v}" or k.lower() in ("x-proxy-secret", "x-remote-user")
                    for k, v in headers
                )
                for _, path, headers in recorder.seen[before:]
            ):
                leaked.append(what)
    assert recorder.seen, "nothing reached alice's server: the probe tests nothing"
    assert any(path == f"/{TARGET}" for _, path, _ in recorder.seen)
    assert not leaked, f"the proxy secret reached alice's server through {leaked}"
    assert not [r for r in replies if front.secret.encode() in r], (
        "a reply to alice carried the proxy secret"
    )

    # Whatever alice's server received, replayed by anyone on the hub's node as bob.
    received = {(k, v) for _, _, headers in recorder.seen for k, v in headers}
    hub_port = ports(front.portal)["hub"]
    chp_port = int(front.portal.url.rstrip("/").rsplit(":", 1)[1])
    for port in (hub_port, chp_port):
        assert forged_login(port, sorted(received)) == 403, port


def test_the_secret_from_the_recorded_headers_would_log_in(front: Front) -> None:
    """The replay above is a real test: with the secret, the same request logs in as bob."""
    hub_port = ports(front.portal)["hub"]
    assert forged_login(hub_port, [("X-Proxy-Secret", front.secret)]) == 302
