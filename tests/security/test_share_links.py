"""Security probes of share links (issue point 6).

- ``safe_next``: a ``next`` that a browser or a proxy would resolve to another
  user's server (``%2e%2e``, double encodings, ``;`` parameters, backslashes,
  control characters, empty segments) is refused.
- Imported names: no bidi or zero-width characters, at most 255 bytes (with
  room for the ``-N`` numbering), never hidden, never a 500.
- Tokens: after a full open-and-import flow on a real portal, neither the
  hub's, the proxy's nor the service's log lines contain the link's token.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
from conftest import Portal
from hubclient import SHARE_PREFIX, HubClient, save_notebook
from share_fakes import RunningService, server_config, start_service
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from sdcc_lab.server.imports import free_name, notebook_name
from sdcc_lab.share.web import safe_next

REDIRECT = "/hub/user-redirect/"


# --- (a) safe_next ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        # dot segments a browser resolves after the check (the examples)
        "/hub/user-redirect/lab/%2e%2e/%2e%2e/user/mallory/lab",
        "/hub/user-redirect/%2e%2e/%2e%2e/user/mallory/",
        "/hub/user-redirect/%2E%2E/%2E%2E/user/mallory/",
        "/hub/user-redirect/.%2e/.%2e/user/mallory/",
        "/hub/user-redirect/%2e./%2e./user/mallory/",
        "/hub/user-redirect/lab/%2e/%2e%2e/%2e%2e/user/mallory/",
        # encoded twice (a proxy or a second decode makes them dots)
        "/hub/user-redirect/%252e%252e/%252e%252e/user/mallory/",
        "/hub/user-redirect/%25252e%25252e/user/mallory/",
        # encoded slashes and backslashes
        "/hub/user-redirect/..%2f..%2fuser/mallory/",
        "/hub/user-redirect/%2e%2e%2f%2e%2e%2fuser/mallory/",
        "/hub/user-redirect/%5c..%5c..%5cuser/mallory/",
        "/hub/user-redirect/..\\..\\user/mallory/",
        # ; path parameters (Tomcat-style proxies drop them, leaving "..")
        "/hub/user-redirect/..;/..;/user/mallory/",
        "/hub/user-redirect/lab;x=1/../../user/mallory/",
        # control characters, raw or encoded (browsers drop tabs and newlines in URLs)
        "/hub/user-redirect/.\t./.\t./user/mallory/",
        "/hub/user-redirect/.\n./user/mallory/",
        "/hub/user-redirect/.%09./.%09./user/mallory/",
        "/hub/user-redirect/lab%00/x",
        "/hub/user-redirect/lab%0d%0aSet-Cookie:x",
        # empty segments (some proxies merge slashes) and scheme-relative forms
        "/hub/user-redirect//evil.example/x",
        "/hub/user-redirect/%2fevil.example",
        "/\\evil.example/hub/user-redirect/",
        # not below the prefix after decoding
        "/hub/user-redirect%2f..%2f..%2fuser/mallory/",
        "/hub/%75ser-redirect/../login",
        # a fragment of its own (the token travels in the Continue link's fragment)
        "/hub/user-redirect/lab#x",
        # raw non-ASCII that normalises to dots or slashes elsewhere
        "/hub/user-redirect/\uff0e\uff0e/\uff0e\uff0e/user/mallory/",
        "/hub/user-redirect/lab\u2215..\u2215user",
        # the classics
        "https://evil.example/",
        "//evil.example/x",
        "/hub/login",
        "javascript:alert(1)",
        "/hub/user-redirect/../../evil",
    ],
)
def test_safe_next_refuses_paths_that_leave_the_prefix(value: str) -> None:
    assert safe_next(value, REDIRECT) is None


@pytest.mark.parametrize(
    "value",
    [
        "/hub/user-redirect/lab",
        "/hub/user-redirect/lab/tree/shared",
        "/hub/user-redirect/lab/tree/shared/alice?reset",
        "/hub/user-redirect/lab/tree/R%C3%A9sum%C3%A9%20notes",
        "/hub/user-redirect/lab/tree/a.b/c..d",
    ],
)
def test_safe_next_keeps_paths_below_the_prefix(value: str) -> None:
    assert safe_next(value, REDIRECT) == value


def test_safe_next_for_the_service_prefix() -> None:
    assert safe_next(SHARE_PREFIX, SHARE_PREFIX) == SHARE_PREFIX
    assert safe_next(SHARE_PREFIX + "%2e%2e/%2e%2e/hub/admin", SHARE_PREFIX) is None


# --- (b) imported names -------------------------------------------------------------------------
def _visible(name: str) -> bool:
    return not any(
        unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for ch in name
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("report\u202egnp.ipynb", "reportgnp.ipynb"),  # right-to-left override
        ("\u2066a\u2069b\u202ac\u202c.ipynb", "abc.ipynb"),  # isolates, embeddings
        (
            "a\u200bb\u200cc\u200dd\u200ee\u200ff\ufeff.ipynb",
            "abcdef.ipynb",
        ),  # zero-width, marks, BOM
        ("a\u00adb\u2060c\u061cd.ipynb", "abcd.ipynb"),  # soft hyphen, word joiner, ALM (Cf)
        ("a\x85b\x9bc.ipynb", "abc.ipynb"),  # C1 controls
        ("a\u2028b\u2029c.ipynb", "abc.ipynb"),  # line and paragraph separators
        ("Cafe\u0301.ipynb", "Caf\u00e9.ipynb"),  # NFC
    ],
)
def test_imported_names_lose_invisible_characters(source: str, expected: str) -> None:
    name = notebook_name(source)
    assert name == expected
    assert _visible(name)


@pytest.mark.parametrize(
    "source", [".hidden.ipynb", "..x.ipynb", "...ipynb", ". .ipynb", "\u202e.x.ipynb"]
)
def test_imported_names_are_never_hidden(source: str) -> None:
    name = notebook_name(source)
    assert not name.startswith("."), name
    assert name.endswith(".ipynb") and len(name) > len(".ipynb")


@pytest.mark.parametrize(
    "source",
    [
        "a" * 300 + ".ipynb",
        "\u00e9" * 200 + ".ipynb",
        "\U0001f600" * 100 + ".ipynb",
        "x" * 252,
        "\u65e5" * 90 + ".ipynb",
    ],
)
def test_imported_names_fit_in_255_bytes_with_room_for_numbering(
    source: str, tmp_path: Path
) -> None:
    name = notebook_name(source)
    assert name.endswith(".ipynb")
    assert len(name.encode()) <= 255
    (tmp_path / name).write_text("x")  # the file system takes it
    for _ in range(1, 12):
        numbered = free_name(tmp_path, name)
        assert numbered.endswith(".ipynb") and len(numbered.encode()) <= 255, numbered
        (tmp_path / numbered).write_text("x")
    # cut on a character boundary: the stem is a prefix of the source's characters
    assert source.removesuffix(".ipynb").startswith(name.removesuffix(".ipynb"))


# The import through the real server extension and the real service app (in process).
Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_notebook_size=200_000)
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(share_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(share_service, tmp_path, token="bob-token", max_notebook_size=200_000)


async def _service_share(service: RunningService, path: str) -> str:
    """mallory-style: alice's token straight to the service, with a path no file system has."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('long')")]
    r = await AsyncHTTPClient().fetch(
        service.api("shares?" + urllib.parse.urlencode({"path": path})),
        method="POST",
        headers={"Authorization": "token alice-token"},
        body=nbformat.writes(nb).encode(),
    )
    return str(json.loads(r.body)["token"])


async def _import(jp_fetch: Fetch, token: str) -> tuple[int, dict[str, Any]]:
    try:
        r = await jp_fetch(
            "sdcc-lab", "api", "imports", method="POST", body=json.dumps({"link": token})
        )
        return r.code, json.loads(r.body)
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)


@pytest.mark.parametrize(
    "path",
    [
        "\u00e9" * 200 + ".ipynb",
        "x" * 252,
        "dir/" + "\U0001f600" * 70 + ".ipynb",
        "\u202e" * 300 + "a.ipynb",
    ],
)
async def test_importing_a_share_with_a_long_name_is_never_a_500(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService, path: str
) -> None:
    token = await _service_share(share_service, path)
    first = await _import(jp_fetch, token)
    assert first[0] == 201, first
    landed = Path(first[1]["path"])
    assert landed.parent == Path("shared/alice")
    assert len(landed.name.encode()) <= 255 and landed.name.endswith(".ipynb")
    assert _visible(landed.name) and not landed.name.startswith(".")
    assert (jp_root_dir / landed).is_file()
    # the recipient changes their copy: the next version lands beside it, numbered, still short
    (jp_root_dir / landed).write_text((jp_root_dir / landed).read_text().replace("long", "mine"))
    await _service_snapshot(share_service, path)
    second = await _import(jp_fetch, token)
    assert second[0] == 201 and second[1]["action"] == "copied", second
    assert len(Path(second[1]["path"]).name.encode()) <= 255


async def test_a_name_the_file_system_refuses_is_a_clear_400(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    share_service: RunningService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should a name still not fit (another file system's limits), the answer is a 400
    that says so, and nothing is left behind."""
    monkeypatch.setattr("sdcc_lab.server.shares.notebook_name", lambda path: "x" * 300 + ".ipynb")
    token = await _service_share(share_service, "fine.ipynb")
    code, body = await _import(jp_fetch, token)
    assert code == 400 and "cannot be named" in body["message"], body
    assert [p.name for p in (jp_root_dir / "shared").rglob("*") if p.is_file()] == []


async def _service_snapshot(service: RunningService, path: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('version 2')")]
    await AsyncHTTPClient().fetch(
        service.api("snapshots?" + urllib.parse.urlencode({"path": path})),
        method="PUT",
        headers={"Authorization": "token alice-token"},
        body=nbformat.writes(nb).encode(),
    )


# --- (c) tokens never reach a log ---------------------------------------------------------------
def _browser_get(client: HubClient, url: str) -> requests.Response:
    """What a browser sends for ``url``: never its fragment (requests drops it too)."""
    sent = urllib.parse.urlsplit(url)._replace(fragment="").geturl()
    return client.session.get(sent)


def _open_like_a_browser(client: HubClient, link: str) -> str:
    """Open a link as the portal hands it out; the Continue URL the page leads to."""
    page = _browser_get(client, link)
    assert page.status_code == 200, page.text
    login = re.search(r'data-login="([^"]+)"', page.text)
    if login:  # what the page's script does for someone not logged in to the service yet
        page = client.session.get(urllib.parse.urljoin(page.url, html.unescape(login.group(1))))
        assert page.status_code == 200, page.text
    api = re.search(r'data-api="([^"]+)"', page.text)
    if api is None:  # the link page of old: the Continue link is in the HTML
        href = re.search(r"href='([^']*sdcc-share[^']*)'", page.text)
        assert href is not None, page.text
        return urllib.parse.urljoin(page.url, href.group(1).replace("&amp;", "&"))
    xsrf = re.search(r'data-xsrf="([^"]+)"', page.text)
    assert xsrf is not None
    token = urllib.parse.urlsplit(link).fragment  # what the page's script reads
    r = client.session.post(
        urllib.parse.urljoin(page.url, html.unescape(api.group(1))),
        json={"token": token},
        headers={"X-XSRFToken": html.unescape(xsrf.group(1))},
    )
    assert r.status_code == 200, r.text
    return urllib.parse.urljoin(page.url, r.json()["continue_url"])


@pytest.mark.hub
@pytest.mark.slow
def test_share_tokens_never_reach_the_logs(start_demo: Callable[..., Portal]) -> None:
    portal = start_demo()
    alice, bob = HubClient(portal.url, "alice"), HubClient(portal.url, "bob")
    for client in (alice, bob):
        client.login()
        client.start_server(local=True)
        assert client.open_lab().status_code == 200
    save_notebook(alice, "logged.ipynb", "secret = 1")
    r = alice.server_api("POST", "sdcc-lab/api/shares", json={"path": "logged.ipynb"})
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert token not in urllib.parse.urlsplit(created["url"])._replace(fragment="").geturl()

    before = portal.log_path.stat().st_size
    continue_url = _open_like_a_browser(bob, created["url"])
    lab = _browser_get(bob, continue_url)
    assert lab.status_code == 200 and "/user/bob/lab" in lab.url
    r = bob.server_api("POST", "sdcc-lab/api/imports", json={"link": created["url"]})
    assert r.status_code == 201, r.text
    # the same with the link form the JupyterLab page carries
    r = bob.server_api("POST", "sdcc-lab/api/imports", json={"link": continue_url})
    assert r.status_code == 200, r.text
    portal.stop()
    log = portal.log_path.read_bytes()[before:].decode(errors="replace")
    assert "GET /services/share/" in log or "/hub/user-redirect" in log or "302" in log, (
        "the log has no request lines: this probe would prove nothing"
    )
    signature = token.rsplit(".", 1)[-1]
    leaked = [line for line in log.splitlines() if token in line or signature in line]
    assert not leaked, "\n".join(leaked)
