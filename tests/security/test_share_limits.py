"""Share service limits: one upload must not stall or fill sharing for everyone.

- A 5 MB nesting bomb (``[`` × 5 000 000, and a valid notebook nested as
  deep) posted to the real service of a real hub (``sdcc-lab demo``) is
  refused with a 4xx; the service's memory stays flat and another user's
  request is answered while the bomb is still being received. So is it
  while a valid, shallow 5 MB notebook that is slow to check streams in.
- The per-user snapshot quota, the cap on concurrent uploads and the
  live-link count refuse before the body is read, with a message, and leave
  nothing half-written (no file in the snapshot folder, no row).
- Links of one file share one stored snapshot.
- The recipient's server refuses to import a notebook nested too deep, and
  writes nothing.

The quota, concurrency and snapshot probes use the real service application
in-process (``share_fakes.start_service``: only the hub's token lookup is a
table), the import probes a real jupyter_server with the sdcc_lab extension.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
import requests
from conftest import Portal
from hubclient import HubClient
from share_fakes import MovableClock, RunningService, server_config, start_service
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from sdcc_lab.nbstream import human_size

Fetch = Callable[..., Awaitable[Any]]
MiB = 1024 * 1024
BOMB_SIZE = 5_000_000
# How long another user's request may take while the bomb is being received:
# generous against a loaded test machine, far below the stall of a blocked loop
# (the measured figures are in benchmarks/share_benchmark.py).
ANSWER_WITHIN = 1.0


# --- bodies ------------------------------------------------------------------------------
def notebook_bytes(source: str = "print(1)") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    return nbformat.writes(nb).encode()


# A notebook with one output, its JSON data between HEAD and TAIL.
HEAD = (
    b'{"cells": [{"cell_type": "code", "execution_count": 1, "id": "deep", "metadata": {}, '
    b'"source": "x", "outputs": [{"output_type": "execute_result", "execution_count": 1, '
    b'"metadata": {}, "data": {"application/json": '
)
TAIL = b'}}]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def deep_notebook(size: int) -> bytes:
    """A valid notebook of about ``size`` bytes whose one output nests as deep as it can."""
    depth = (size - len(HEAD) - len(TAIL)) // 2
    return HEAD + b"[" * depth + b"]" * depth + TAIL


def dense_notebook(size: int) -> bytes:
    """A valid, shallow notebook of about ``size`` bytes that is slow to check per byte:
    one tiny array after another (it is accepted; the check must not hold the loop)."""
    return HEAD + b"[" + b",".join([b"[0]"] * ((size - len(HEAD) - len(TAIL)) // 4)) + b"]" + TAIL


BOMBS = {  # body, refused (4xx) or stored (201)
    "brackets": (b"[" * BOMB_SIZE, True),
    "valid-deep-notebook": (deep_notebook(BOMB_SIZE), True),
    "valid-dense-notebook": (dense_notebook(BOMB_SIZE), False),
}


# --- the in-process service ------------------------------------------------------------------
@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path, clock: MovableClock) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_notebook_size=1_000_000, clock=clock)
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(share_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(share_service, tmp_path)


def snapshot_files(svc: RunningService) -> list[str]:
    return sorted(p.name for p in svc.store.snapshot_dir.iterdir())


def parts_in_flight(svc: RunningService) -> int:
    """Uploads the service holds open: each has its part file (made once its slot is taken)."""
    return len([f for f in snapshot_files(svc) if f.endswith(".part")])


async def until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        await asyncio.sleep(0.05)


def rows(svc: RunningService) -> int:
    return len(svc.store.list(None, live_only=False))


async def post_share(
    svc: RunningService, token: str, path: str, body: bytes, **query: Any
) -> tuple[int, Any]:
    q = urllib.parse.urlencode({"path": path, **query})
    try:
        r = await AsyncHTTPClient().fetch(
            svc.api("shares?" + q),
            method="POST",
            body=body,
            headers={"Authorization": f"token {token}"},
        )
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)
    return r.code, json.loads(r.body)


async def put_snapshot(svc: RunningService, token: str, path: str, body: bytes) -> tuple[int, Any]:
    q = urllib.parse.urlencode({"path": path})
    try:
        r = await AsyncHTTPClient().fetch(
            svc.api("snapshots?" + q),
            method="PUT",
            body=body,
            headers={"Authorization": f"token {token}"},
        )
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)
    return r.code, json.loads(r.body)


class RawUpload:
    """An upload on a raw connection: headers now, the body when the test says."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def start(
        cls,
        svc: RunningService,
        token: str,
        path: str,
        length: int,
        first: bytes = b"",
        method: str = "POST",
        endpoint: str = "shares",
    ) -> RawUpload:
        url = urllib.parse.urlsplit(
            svc.api(endpoint + "?" + urllib.parse.urlencode({"path": path}))
        )
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(
            f"{method} {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: token {token}\r\nContent-Type: application/x-ipynb+json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
            + first
        )
        await writer.drain()
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, timeout: float = 10) -> tuple[int, Any]:
        try:
            return await asyncio.wait_for(self._response(), timeout)
        except asyncio.TimeoutError:
            pytest.fail(
                f"no answer within {timeout} s: the service waits for the body before refusing"
            )

    async def _response(self) -> tuple[int, Any]:
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, json.loads(body) if body else None

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def uploads() -> Iterator[list[RawUpload]]:
    opened: list[RawUpload] = []
    yield opened
    for upload in opened:
        upload.close()


# --- limits checked before the body ------------------------------------------------------------
async def test_the_live_link_count_refuses_before_the_body(
    share_service: RunningService, uploads: list[RawUpload]
) -> None:
    share_service.service.max_live_shares = 1
    code, _ = await post_share(share_service, "alice-token", "one.ipynb", notebook_bytes())
    assert code == 201
    files, count = snapshot_files(share_service), rows(share_service)
    uploads.append(await RawUpload.start(share_service, "alice-token", "two.ipynb", 900_000))
    code, data = await uploads[-1].response()
    assert code == 403 and "1 live share links" in data["message"]
    assert snapshot_files(share_service) == files and rows(share_service) == count


async def test_the_quota_refuses_before_the_body_naming_quota_and_use(
    share_service: RunningService, uploads: list[RawUpload]
) -> None:
    body = notebook_bytes("x = '" + "y" * 20_000 + "'")
    share_service.service.max_snapshot_bytes_per_user = 2 * len(body) + 1000
    for name in ("a.ipynb", "b.ipynb"):
        code, _ = await post_share(share_service, "alice-token", name, body)
        assert code == 201
    files, count = snapshot_files(share_service), rows(share_service)
    uploads.append(await RawUpload.start(share_service, "alice-token", "c.ipynb", len(body)))
    code, data = await uploads[-1].response()
    assert code == 413, data
    assert human_size(2 * len(body) + 1000) in data["message"]
    assert human_size(2 * len(body)) in data["message"]  # what alice's snapshots use
    assert snapshot_files(share_service) == files and rows(share_service) == count
    # bob has a quota of his own
    code, _ = await post_share(share_service, "bob-token", "c.ipynb", body)
    assert code == 201


async def test_the_quota_holds_for_bodies_without_a_length_and_for_new_versions(
    share_service: RunningService,
) -> None:
    body = notebook_bytes("x = '" + "y" * 20_000 + "'")
    share_service.service.max_snapshot_bytes_per_user = 2 * len(body) + 1000
    for name in ("a.ipynb", "b.ipynb"):
        code, _ = await post_share(share_service, "alice-token", name, body)
        assert code == 201
    files, count = snapshot_files(share_service), rows(share_service)
    stored = {n: (share_service.store.snapshot_dir / n).read_bytes() for n in files}

    async def chunked(write: Callable[[bytes], Awaitable[None]]) -> None:
        for i in range(0, len(body), 4096):
            await write(body[i : i + 4096])

    q = urllib.parse.urlencode({"path": "c.ipynb"})
    with pytest.raises(HTTPClientError) as e:
        await AsyncHTTPClient().fetch(
            share_service.api("shares?" + q),
            method="POST",
            body_producer=chunked,
            headers={"Authorization": "token alice-token"},
        )
    assert e.value.code == 413 and e.value.response is not None
    assert "quota" in json.loads(e.value.response.body)["message"]
    # A new version of a.ipynb twice as big would not fit either; the old one stays.
    code, data = await put_snapshot(
        share_service, "alice-token", "a.ipynb", notebook_bytes("x = '" + "y" * 40_000 + "'")
    )
    assert code == 413 and "quota" in data["message"]
    assert snapshot_files(share_service) == files and rows(share_service) == count
    assert {n: (share_service.store.snapshot_dir / n).read_bytes() for n in files} == stored


async def test_concurrent_uploads_are_capped_per_user(
    share_service: RunningService, uploads: list[RawUpload]
) -> None:
    share_service.service.max_concurrent_uploads = 2
    body = notebook_bytes()
    count = rows(share_service)
    for name in ("h1.ipynb", "h2.ipynb"):  # two uploads in flight, half sent
        uploads.append(
            await RawUpload.start(
                share_service, "alice-token", name, len(body), body[: len(body) // 2]
            )
        )
    await until(lambda: parts_in_flight(share_service) == 2, "both uploads to be in flight")
    in_flight = snapshot_files(share_service)
    third = await RawUpload.start(share_service, "alice-token", "h3.ipynb", len(body))
    uploads.append(third)
    code, data = await third.response()
    assert code == 429 and "2 uploads" in data["message"], data
    assert snapshot_files(share_service) == in_flight and rows(share_service) == count
    # bob is not alice
    code, _ = await post_share(share_service, "bob-token", "b.ipynb", body)
    assert code == 201
    for upload in uploads[:2]:
        await upload.send(body[len(body) // 2 :])
        code, _ = await upload.response()
        assert code == 201
    code, _ = await post_share(share_service, "alice-token", "h3.ipynb", body)
    assert code == 201  # the slots are free again
    # A client that goes away frees its slot too.
    for name in ("g1.ipynb", "g2.ipynb"):
        uploads.append(
            await RawUpload.start(share_service, "alice-token", name, len(body), body[:100])
        )
    await until(lambda: parts_in_flight(share_service) == 2, "g1 and g2 to be in flight")
    uploads[-1].close()
    deadline = time.monotonic() + 10
    while True:
        code, data = await post_share(share_service, "alice-token", "g3.ipynb", body)
        if code == 201 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert code == 201, data
    assert (
        len([f for f in snapshot_files(share_service) if f.endswith(".part")]) == 1
    )  # g1's, in flight


async def test_a_server_sharing_past_the_quota_gets_the_quota_message(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    """Refused before its body is read, a large upload still gets the service's answer
    (not a broken connection reported as an unreachable service)."""
    share_service.service.max_notebook_size = 50 * MiB
    share_service.service.max_snapshot_bytes_per_user = MiB
    (jp_root_dir / "large.ipynb").write_bytes(notebook_bytes("x = '" + "y" * 12 * MiB + "'"))
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "sdcc-lab", "api", "shares", method="POST", body=json.dumps({"path": "large.ipynb"})
        )
    assert e.value.code == 413 and e.value.response is not None
    message = json.loads(e.value.response.body)["message"]
    assert "quota of 1 MB" in message and "use 0 bytes" in message, message
    assert [f for f in snapshot_files(share_service)] == []


# --- one snapshot per file -----------------------------------------------------------------
async def test_links_of_one_file_share_one_snapshot(share_service: RunningService) -> None:
    svc = share_service
    links = []
    for _ in range(3):
        code, data = await post_share(svc, "alice-token", "same.ipynb", notebook_bytes("v1"))
        assert code == 201
        links.append(data)
    stored = [f for f in snapshot_files(svc) if f.endswith(".ipynb")]
    assert len(stored) == 1, stored
    code, data = await put_snapshot(svc, "alice-token", "same.ipynb", notebook_bytes("v2"))
    assert code == 200 and sorted(data["versions"]) == sorted(link["id"] for link in links)
    assert len([f for f in snapshot_files(svc) if f.endswith(".ipynb")]) == 1

    async def fetch(link: dict[str, Any]) -> tuple[int, bytes]:
        try:
            r = await AsyncHTTPClient().fetch(
                svc.api("fetch"),
                method="POST",
                body=json.dumps({"token": link["token"]}),
                headers={"Authorization": "token bob-token"},
            )
        except HTTPClientError as e:
            return e.code, b""
        return r.code, r.body

    for link in links:
        code, body = await fetch(link)
        assert code == 200 and b'"v2"' in body
    # Revoking one link keeps the snapshot for the others; the last one takes it.
    for i, link in enumerate(links):
        r = await AsyncHTTPClient().fetch(
            svc.api("shares/" + link["id"]),
            method="DELETE",
            headers={"Authorization": "token alice-token"},
        )
        assert r.code == 204
        left = [f for f in snapshot_files(svc) if f.endswith(".ipynb")]
        if i < len(links) - 1:
            assert len(left) == 1
            code, body = await fetch(links[-1])
            assert code == 200 and b'"v2"' in body
        else:
            assert left == []


async def test_the_purge_drops_a_shared_snapshot_with_its_last_link(
    share_service: RunningService, clock: MovableClock
) -> None:
    svc = share_service
    for lifetime in (60, 180):
        code, _ = await post_share(
            svc, "alice-token", "brief.ipynb", notebook_bytes(), expires_in=lifetime
        )
        assert code == 201
    assert len([f for f in snapshot_files(svc) if f.endswith(".ipynb")]) == 1
    clock.advance(60)
    svc.store.purge_dead()
    assert (
        len([f for f in snapshot_files(svc) if f.endswith(".ipynb")]) == 1
    )  # one link still lives
    clock.advance(120)
    svc.store.purge_dead()
    assert [f for f in snapshot_files(svc) if f.endswith(".ipynb")] == []


# --- nesting depth: sender, service, recipient ----------------------------------------------------
async def test_the_service_refuses_a_notebook_nested_too_deep(
    share_service: RunningService,
) -> None:
    files, count = snapshot_files(share_service), rows(share_service)
    code, data = await post_share(share_service, "alice-token", "deep.ipynb", deep_notebook(20_000))
    assert code == 400 and "deep" in data["message"], data
    assert snapshot_files(share_service) == files and rows(share_service) == count


async def test_sharing_a_notebook_nested_too_deep_is_refused(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    (jp_root_dir / "deep.ipynb").write_bytes(deep_notebook(20_000))
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "sdcc-lab", "api", "shares", method="POST", body=json.dumps({"path": "deep.ipynb"})
        )
    assert e.value.code == 400 and e.value.response is not None
    assert "deep" in json.loads(e.value.response.body)["message"]


async def test_importing_a_notebook_nested_too_deep_is_refused_and_writes_nothing(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    """The service of this site lets deeper notebooks through (its own setting, or a
    snapshot stored before the limit existed); the recipient's server still refuses."""
    share_service.service.max_notebook_depth = 100_000
    code, bob = await post_share(share_service, "bob-token", "deep.ipynb", deep_notebook(20_000))
    assert code == 201, bob
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "sdcc-lab", "api", "imports", method="POST", body=json.dumps({"link": bob["url"]})
        )
    assert e.value.code == 422 and e.value.response is not None
    assert "deep" in json.loads(e.value.response.body)["message"]
    assert [p for p in jp_root_dir.rglob("*") if p.is_file()] == []  # noqa: ASYNC240


# --- the nesting bomb against the real service of a real hub ----------------------------------------
def service_process(portal: Portal) -> psutil.Process:
    for proc in psutil.Process(portal.process.pid).children(recursive=True):
        try:
            if "sdcc_lab.share" in " ".join(proc.cmdline()):
                return proc
        except psutil.Error:
            continue
    raise AssertionError("the demo portal runs no share service")


class PeakRSS(threading.Thread):
    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc, self.peak, self.stop = proc, proc.memory_info().rss, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)


def user_token(portal: Portal, name: str) -> str:
    client = HubClient(portal.url, name)
    client.login()
    r = client.hub_api("POST", f"users/{name}/tokens", json={"note": "share limits probe"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


@pytest.mark.hub
@pytest.mark.slow
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_a_nesting_bomb_is_refused_without_stalling_or_growing_the_service(
    demo_portal: Portal, bomb: str
) -> None:
    proc = service_process(demo_portal)
    service = urllib.parse.urlsplit(proc.environ()["JUPYTERHUB_SERVICE_URL"])
    prefix = proc.environ().get("JUPYTERHUB_SERVICE_PREFIX", "/services/share/")
    alice, bob = user_token(demo_portal, "alice"), user_token(demo_portal, "bob")
    bob_url = f"http://{service.netloc}{prefix}api/shares"
    for token in (alice, bob):  # the service has asked the hub about both tokens
        assert (
            requests.get(
                bob_url, headers={"Authorization": f"token {token}"}, timeout=30
            ).status_code
            == 200
        )

    body, refused = BOMBS[bomb]
    sent_some, bob_answered = threading.Event(), threading.Event()
    result: dict[str, Any] = {}

    def post_bomb() -> None:
        # The last byte waits until bob is answered, so bob's request is served
        # while the bomb is still being received.
        sock = socket.create_connection((service.hostname, service.port))
        sock.sendall(
            f"POST {prefix}api/shares?path=bomb.ipynb HTTP/1.1\r\nHost: {service.netloc}\r\n"
            f"Authorization: token {alice}\r\nContent-Type: application/x-ipynb+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for i in range(0, len(body) - 1, 65536):
            sock.sendall(body[i : min(i + 65536, len(body) - 1)])
            if i >= MiB:
                sent_some.set()
        bob_answered.wait(60)
        sock.sendall(body[-1:])
        response = http.client.HTTPResponse(sock)
        response.begin()
        result["bomb"] = (response.status, response.read(), time.monotonic())
        sock.close()

    peak = PeakRSS(proc)
    before = peak.peak
    peak.start()
    sender = threading.Thread(target=post_bomb, daemon=True)
    sender.start()
    try:
        assert sent_some.wait(30)
        time.sleep(0.2)  # the service is busy with the bomb's first megabytes
        t0 = time.monotonic()
        r = requests.get(bob_url, headers={"Authorization": f"token {bob}"}, timeout=120)
        bob_took = time.monotonic() - t0
        result["bob"] = (r.status_code, time.monotonic())
    finally:
        bob_answered.set()
        sender.join(120)
        peak.stop.set()
        peak.join()
    grew = (peak.peak - before) / MiB
    status, text, bomb_done = result["bomb"]
    print(f"{bomb}: the service grew by {grew:.0f} MiB; bob waited {bob_took:.2f} s")
    assert grew < 100, f"the service grew by {grew:.0f} MiB (bob waited {bob_took:.1f} s)"
    assert r.status_code == 200, r.text
    assert result["bob"][1] < bomb_done  # answered while the bomb was still open
    assert bob_took < ANSWER_WITHIN, f"bob waited {bob_took:.1f} s while the bomb was posted"
    if refused:
        assert 400 <= status < 500 and "deep" in json.loads(text)["message"], text
    else:
        assert status == 201, text
        r = requests.delete(
            f"http://{service.netloc}{prefix}api/shares/{json.loads(text)['id']}",
            headers={"Authorization": f"token {alice}"},
            timeout=30,
        )
        assert r.status_code == 204


async def test_an_early_refusal_says_the_connection_closes(share_service: RunningService) -> None:
    """A refusal before an upload's body is read ends the connection (tornado cannot read on
    without reading the body). The answer must say so (``Connection: close``): a proxy that
    keeps connections alive would otherwise send its next request into the closed one and
    answer that one 503 (seen with JupyterHub's proxy)."""
    url = urllib.parse.urlsplit(share_service.url)

    def two_requests() -> tuple[int, str | None, int]:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
        try:
            conn.request("GET", url.path + "api/shares")  # no token: 403 in prepare
            first = conn.getresponse()
            first.read()
            said = first.getheader("Connection")
            if said == "close":
                return first.status, said, 0
            conn.request(
                "GET", url.path + "api/shares", headers={"Authorization": "token alice-token"}
            )
            try:
                second = conn.getresponse()  # the connection was kept: it must still answer
                second.read()
            except (ConnectionError, http.client.RemoteDisconnected):
                return first.status, said, -1  # dropped without a word
            return first.status, said, second.status
        finally:
            conn.close()

    status, said, then = await asyncio.get_running_loop().run_in_executor(None, two_requests)
    assert status == 403
    assert said == "close" or then == 200, (said, then)
