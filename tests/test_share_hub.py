"""Share links end to end: a real JupyterHub, the real share service, alice and bob.

The hub of ``sdcc-lab demo`` starts the share service as a managed service;
alice's and bob's servers talk to it with their own API tokens, and the
browsers (``HubClient``) reach its pages through the hub's OAuth.
"""

from __future__ import annotations

import html
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import psutil
import pytest
import requests
from conftest import Portal
from hubclient import SHARE_PREFIX, HubClient, cell_sources, save_notebook

from sdcc_lab.share.store import ShareRecord, ShareStore

pytestmark = [pytest.mark.hub, pytest.mark.slow]


def user(portal: Portal, name: str) -> HubClient:
    client = HubClient(portal.url, name)
    client.login()
    client.start_server(local=True)
    assert client.open_lab().status_code == 200
    return client


@pytest.fixture(scope="module")
def alice(demo_portal: Portal) -> HubClient:
    return user(demo_portal, "alice")


@pytest.fixture(scope="module")
def bob(demo_portal: Portal) -> HubClient:
    return user(demo_portal, "bob")


def share(client: HubClient, path: str, **extra: Any) -> dict[str, Any]:
    r = client.server_api("POST", "sdcc-lab/api/shares", json={"path": path, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def open_link(client: HubClient, link: str, next_url: str | None = None) -> requests.Response:
    """What the link page's script does: GET the page (browsers never send the
    fragment), then POST the fragment's token with the service's ``_xsrf``."""
    parts = urllib.parse.urlsplit(link)
    page = client.session.get(
        parts._replace(fragment="").geturl(), params={"next": next_url} if next_url else None
    )
    assert page.status_code == 200, page.text
    login = re.search(r'data-login="([^"]+)"', page.text)
    if login:  # not yet logged in to the service: the script goes through the hub's OAuth
        page = client.session.get(urllib.parse.urljoin(page.url, html.unescape(login.group(1))))
        assert page.status_code == 200 and 'data-login=""' in page.text, page.text
    api = re.search(r'data-api="([^"]+)"', page.text)
    xsrf = re.search(r'data-xsrf="([^"]+)"', page.text)
    assert api and xsrf, page.text
    token = parts.fragment or parts.path.rsplit("/open/", 1)[-1]
    body: dict[str, str] = {"token": token}
    if next_url:
        body["next"] = next_url
    return client.session.post(
        urllib.parse.urljoin(page.url, html.unescape(api.group(1))),
        json=body,
        headers={"X-XSRFToken": html.unescape(xsrf.group(1))},
    )


def import_link(client: HubClient, link: str) -> requests.Response:
    return client.server_api("POST", "sdcc-lab/api/imports", json={"link": link})


def import_until(client: HubClient, link: str, action: str, timeout: float = 15) -> dict[str, Any]:
    """Import until the answer is ``action`` (the sender's push after a save is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        r = import_link(client, link)
        assert r.status_code in (200, 201), r.text
        if r.json()["action"] == action or time.monotonic() > deadline:
            assert r.json()["action"] == action, r.json()
            return dict(r.json())
        time.sleep(0.5)


def link_version(client: HubClient, link: str) -> int:
    """The version a link leads to now, as the recipient's preview shows it."""
    r = client.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": link})
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def has_server(client: HubClient) -> bool:
    """Whether the hub lists the user's default server (running or starting)."""
    return bool(client.hub_api("GET", f"users/{client.username}").json().get("servers", {}).get(""))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.2)


def test_the_whole_story(alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "analysis.ipynb", "x = 1", "print(x)")
    created = share(alice, "analysis.ipynb", expires_in=3600)
    # the token is in the fragment: never sent to a server, never in an access log
    assert created["url"] == alice.url.rstrip("/") + SHARE_PREFIX + "open#" + created["token"]
    assert created["environment"]["kernelspec"]["name"] == "python3"
    assert created["environment"]["scheduler"] == "local"

    # bob opens the link: a page on the hub says what it is, and leads to his own server
    details = open_link(bob, created["url"])
    assert details.status_code == 200, details.text
    assert details.json()["owner"] == "alice" and details.json()["name"] == "analysis.ipynb"
    assert ["Where", "Local session on the hub node"] in details.json()["environment"]
    assert details.json()["continue_url"] == "/hub/user-redirect/lab#sdcc-share=" + created["token"]

    first = import_link(bob, created["url"])
    assert first.status_code == 201, first.text
    assert first.json()["action"] == "created"
    assert first.json()["path"] == "shared/alice/analysis.ipynb"
    assert first.json()["mismatches"] == []
    # "Start a matching session": the hub's spawn page with the link's options
    spawn = urllib.parse.urlsplit(first.json()["spawn_url"])
    assert spawn.path == "/hub/spawn/bob"
    assert urllib.parse.parse_qs(spawn.query) == {
        "opt-local": ["true"],
        "opt-environment": ["default"],
    }
    assert cell_sources(bob, "shared/alice/analysis.ipynb") == ["x = 1", "print(x)"]
    meta = bob.server_api("GET", "api/contents/shared/alice/analysis.ipynb").json()["content"][
        "metadata"
    ]
    assert meta["sdcc_lab_share"]["owner"] == "alice"
    assert meta["sdcc_lab_share"]["path"] == "analysis.ipynb"
    assert meta["sdcc_lab_share"]["id"] == created["id"]

    # alice saves: bob's unchanged copy is refreshed
    save_notebook(alice, "analysis.ipynb", "x = 2", "print(x)")
    import_until(bob, created["url"], "refreshed")
    assert cell_sources(bob, "shared/alice/analysis.ipynb") == ["x = 2", "print(x)"]

    # bob edits his copy; alice saves again: the new version lands beside it
    save_notebook(bob, "shared/alice/analysis.ipynb", "bob's own work")
    before = link_version(bob, created["url"])
    save_notebook(alice, "analysis.ipynb", "x = 3", "print(x)")
    # bob's edit makes any import a copy: wait for alice's push, not for a "copied" answer
    wait_for(
        lambda: link_version(bob, created["url"]) > before,
        "alice's new version to reach the service",
    )
    copied = import_link(bob, created["url"]).json()
    assert copied["action"] == "copied", copied
    assert copied["path"] == "shared/alice/analysis-1.ipynb"
    assert cell_sources(bob, "shared/alice/analysis.ipynb") == ["bob's own work"]
    assert cell_sources(bob, "shared/alice/analysis-1.ipynb") == ["x = 3", "print(x)"]

    # alice sees one open per import in her list
    listing = alice.server_api("GET", "sdcc-lab/api/shares").json()["shares"]
    mine = next(s for s in listing if s["id"] == created["id"])
    assert mine["opens"] >= 3

    # alice revokes: the link stops at once
    r = alice.server_api("DELETE", f"sdcc-lab/api/shares/{created['id']}")
    assert r.status_code == 204, r.text
    r = import_link(bob, created["url"])
    assert r.status_code == 410, r.text
    details = open_link(bob, created["url"])
    assert details.status_code == 410
    assert "revoked" in details.json()["message"] and "continue_url" not in details.json()


def test_a_renamed_notebook_keeps_its_link(alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "before.ipynb", "v1")
    created = share(alice, "before.ipynb")
    r = alice.server_api("PATCH", "api/contents/before.ipynb", json={"path": "after.ipynb"})
    assert r.status_code == 200, r.text
    save_notebook(alice, "after.ipynb", "v2 after the rename")
    imported = import_until(bob, created["url"], "created")
    deadline = time.monotonic() + 15
    while (
        cell_sources(bob, imported["path"]) != ["v2 after the rename"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.5)
        import_link(bob, created["url"])
    assert cell_sources(bob, imported["path"]) == ["v2 after the rename"]
    paths = [s["path"] for s in alice.server_api("GET", "sdcc-lab/api/shares").json()["shares"]]
    assert "after.ipynb" in paths and "before.ipynb" not in paths


def end_link_now(portal: Portal, share_id: str) -> None:
    """Move a link's end to this moment in the service's own store.

    The service runs in the hub's process tree with the real clock, so instead of
    waiting for a link to expire the test brings its end forward (the in-process
    tests move an injected clock instead: ``test_share_api.py``).
    """
    hub_dir = portal.data_dir / "hub"
    store = ShareStore(
        f"sqlite:///{hub_dir / 'sdcc_lab_shares.sqlite'}", hub_dir / "share-snapshots"
    )
    with store.session() as s:
        record = s.get(ShareRecord, share_id)
        assert record is not None, share_id
        record.expires = store.clock()
    store.engine.dispose()


def test_an_expired_link_answers_410(alice: HubClient, bob: HubClient, demo_portal: Portal) -> None:
    save_notebook(alice, "brief.ipynb", "short-lived")
    created = share(alice, "brief.ipynb", expires_in=3600)
    assert import_link(bob, created["url"]).status_code == 201
    end_link_now(demo_portal, created["id"])
    r = import_link(bob, created["url"])
    assert r.status_code == 410 and "expired" in r.json()["message"]
    details = open_link(bob, created["url"])
    assert details.status_code == 410 and "expired" in details.json()["message"]


def test_a_tampered_token_answers_403_and_starts_nothing(alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "genuine.ipynb", "genuine")
    created = share(alice, "genuine.ipynb")
    token = created["token"]
    head, _, sig = token.rpartition(".")
    forged = head + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    r = import_link(bob, forged)
    assert r.status_code == 403, r.text
    r = bob.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": forged})
    assert r.status_code == 403, r.text
    for link in (
        alice.url.rstrip("/") + SHARE_PREFIX + "open#" + forged,
        alice.url.rstrip("/") + SHARE_PREFIX + "open/" + forged,
    ):
        details = open_link(bob, link)
        assert details.status_code == 403
        assert "not valid" in details.json()["message"]
        assert "user-redirect" not in details.text  # no way onward


def test_bob_cannot_list_or_revoke_alices_shares(
    alice: HubClient, bob: HubClient, demo_portal: Portal
) -> None:
    save_notebook(alice, "private.ipynb", "mine")
    created = share(alice, "private.ipynb")
    listing = bob.server_api("GET", "sdcc-lab/api/shares").json()["shares"]
    assert created["id"] not in [s["id"] for s in listing]
    r = bob.server_api("DELETE", f"sdcc-lab/api/shares/{created['id']}")
    assert r.status_code == 403, r.text
    # Not through his browser either: the service's pages list only his links,
    # and its API takes no cookie.
    page = bob.session.get(demo_portal.url.rstrip("/") + SHARE_PREFIX)
    assert page.status_code == 200 and "private.ipynb" not in page.text
    api = bob.session.get(demo_portal.url.rstrip("/") + SHARE_PREFIX + "api/shares?all=1")
    assert api.status_code == 403
    # A token that is not valid does not fall back to his login cookie either.
    url = demo_portal.url.rstrip("/") + SHARE_PREFIX + "api/shares"
    for api in (
        bob.session.get(url, params={"token": "not-a-token"}),
        bob.session.get(url, headers={"Authorization": "token not-a-token"}),
    ):
        assert api.status_code == 403, api.text
        assert api.json() == {"message": "the share service's API takes a hub API token"}


def test_html_in_a_file_name_is_text_on_the_service_page(alice: HubClient, bob: HubClient) -> None:
    name = "<img src=x onerror=alert(1)> x.ipynb"
    save_notebook(alice, urllib.parse.quote(name), "xss?")
    created = share(alice, name)
    page = bob.session.get(created["url"])
    assert page.status_code == 200
    assert "<img src=x" not in page.text  # the page is static: the name is never in its HTML
    details = open_link(bob, created["url"])
    assert details.json()["name"] == name  # data, which the page's script puts as text
    assert details.headers["Content-Type"].startswith("application/json")
    r = bob.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": created["url"]})
    assert r.json()["name"] == name  # JSON carries it as data; the dialog puts it as text


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/hub/login",
        "/hub/user-redirect/../../evil",
        "javascript:alert(1)",
        "/hub/user-redirect/lab\\@evil.example",
        "/hub/user-redirect/lab/%2e%2e/%2e%2e/user/mallory/lab",
        "/hub/user-redirect/%2e%2e/mallory/",
    ],
)
def test_next_must_stay_on_the_hub(alice: HubClient, bob: HubClient, next_url: str) -> None:
    save_notebook(alice, "nexttest.ipynb", "n")
    created = share(alice, "nexttest.ipynb")
    page_url = urllib.parse.urlsplit(created["url"])._replace(fragment="").geturl()
    page = bob.session.get(page_url, params={"next": next_url}, allow_redirects=True)
    assert page.status_code == 400, page.text
    landed = urllib.parse.urlsplit(page.url)
    assert landed.netloc == urllib.parse.urlsplit(alice.url).netloc
    assert landed.path == SHARE_PREFIX + "open"
    assert not page.history or all(
        r.status_code != 302 or "evil" not in r.headers.get("Location", "") for r in page.history
    )
    assert "sdcc-share" not in page.text
    # nor through the page's POST
    xsrf = re.search(r'data-xsrf="([^"]+)"', bob.session.get(page_url).text)
    assert xsrf
    r = bob.session.post(
        page_url,
        json={"token": created["token"], "next": next_url},
        headers={"X-XSRFToken": html.unescape(xsrf.group(1))},
    )
    assert r.status_code == 400 and "continue_url" not in r.json()


def test_a_next_on_the_hub_is_kept(alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "nextok.ipynb", "n")
    created = share(alice, "nextok.ipynb")
    details = open_link(bob, created["url"], "/hub/user-redirect/lab/tree/shared")
    assert details.status_code == 200
    assert (
        details.json()["continue_url"]
        == "/hub/user-redirect/lab/tree/shared#sdcc-share=" + created["token"]
    )


def test_the_link_page_is_static_and_needs_the_services_xsrf(
    alice: HubClient, bob: HubClient, demo_portal: Portal
) -> None:
    save_notebook(alice, "static.ipynb", "s")
    created = share(alice, "static.ipynb")
    page_url = urllib.parse.urlsplit(created["url"])._replace(fragment="").geturl()
    page = bob.session.get(page_url)
    assert page.status_code == 200
    assert created["token"] not in page.text and "static.ipynb" not in page.text
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "needs JavaScript" in page.text  # what shows where no script runs
    # without the service's _xsrf, bob's cookie is not enough
    r = bob.session.post(page_url, json={"token": created["token"]}, allow_redirects=False)
    assert r.status_code == 403 and "continue_url" not in r.text
    # bad bodies: clear 400s in JSON
    xsrf = html.unescape(re.search(r'data-xsrf="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    for body in (b"not json", b"[]", b'{"token": 1}'):
        r = bob.session.post(page_url, data=body, headers={"X-XSRFToken": xsrf})
        assert r.status_code == 400 and r.json()["message"], r.text
    # someone not logged in gets the page too, with the hub's login for the script
    anonymous = requests.get(page_url)
    assert anonymous.status_code == 200
    login = html.unescape(re.search(r'data-login="([^"]*)"', anonymous.text).group(1))  # type: ignore[union-attr]
    assert urllib.parse.urlsplit(login).path == "/hub/api/oauth2/authorize"
    r = requests.post(page_url, json={"token": created["token"]})
    assert r.status_code == 403 and "continue_url" not in r.text


def test_links_of_old_still_open_and_import(
    alice: HubClient, bob: HubClient, demo_portal: Portal
) -> None:
    """Links made before the fragment form: the page still opens them, and JupyterLab's
    "Import from a share link…" takes every form (the portal makes only the new one)."""
    save_notebook(alice, "oldlink.ipynb", "old")
    created = share(alice, "oldlink.ipynb")
    base = demo_portal.url.rstrip("/")
    old_path = base + SHARE_PREFIX + "open/" + created["token"]
    details = open_link(bob, old_path)
    assert details.status_code == 200 and details.json()["name"] == "oldlink.ipynb"
    assert details.json()["continue_url"].endswith("#sdcc-share=" + created["token"])
    forms = [
        old_path,
        base + "/hub/user-redirect/lab?sdcc-share=" + created["token"],
        base + "/hub/user-redirect/lab#sdcc-share=" + created["token"],
        created["url"],
        created["token"],
    ]
    first = import_link(bob, forms[0])
    assert first.status_code == 201, first.text
    for link in forms[1:]:
        r = import_link(bob, link)
        assert r.status_code == 200 and r.json()["action"] == "unchanged", (link, r.text)


def test_state_changes_need_xsrf_from_a_browser(
    alice: HubClient, bob: HubClient, demo_portal: Portal
) -> None:
    save_notebook(alice, "xsrf.ipynb", "x")
    created = share(alice, "xsrf.ipynb")
    server = demo_portal.url.rstrip("/") + "/user/bob/sdcc-lab/api/"
    # bob's browser session (cookies) without the X-XSRFToken header
    r = bob.session.post(server + "imports", json={"link": created["url"]}, allow_redirects=False)
    assert r.status_code == 403
    r = bob.session.post(
        demo_portal.url.rstrip("/") + "/user/alice/sdcc-lab/api/shares",
        json={"path": "xsrf.ipynb"},
        allow_redirects=False,
    )
    assert r.status_code == 403, r.text  # bob's cookies are not for alice's server
    a = alice.session.delete(
        demo_portal.url.rstrip("/") + f"/user/alice/sdcc-lab/api/shares/{created['id']}",
        allow_redirects=False,
    )
    assert a.status_code == 403
    # The service's revoke form needs its _xsrf too.
    home = alice.session.get(demo_portal.url.rstrip("/") + SHARE_PREFIX)
    assert home.status_code == 200 and "xsrf.ipynb" in home.text
    revoke = demo_portal.url.rstrip("/") + SHARE_PREFIX + f"shares/{created['id']}/revoke"
    r = alice.session.post(revoke, data={"next": SHARE_PREFIX}, allow_redirects=False)
    assert r.status_code == 403
    assert import_link(bob, created["url"]).status_code == 201  # still live
    r = alice.session.post(
        revoke,
        data={"next": "https://evil.example/", "_xsrf": alice.xsrf(SHARE_PREFIX)},
        allow_redirects=False,
    )
    assert r.status_code == 400
    r = alice.session.post(
        revoke,
        data={"next": SHARE_PREFIX, "_xsrf": alice.xsrf(SHARE_PREFIX)},
        allow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["Location"] == SHARE_PREFIX
    assert import_link(bob, created["url"]).status_code == 410


def test_servers_never_see_the_signing_keys(alice: HubClient, demo_portal: Portal) -> None:
    keys = [k for k in (demo_portal.data_dir / "hub" / "share-keys").read_text().split() if k]
    assert keys
    checked = 0
    for proc in psutil.Process(demo_portal.process.pid).children(recursive=True):
        try:
            cmd = " ".join(proc.cmdline())
            if "jupyterhub-singleuser" not in cmd:
                continue
            env = proc.environ()
        except psutil.Error:
            continue
        checked += 1
        assert "SDCC_LAB_SHARE_URL" in env
        assert not any(key in value for key in keys for value in env.values())
    assert checked >= 1


def test_the_link_works_when_alices_server_is_gone(alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "lasting.ipynb", "saved before the job ended")
    created = share(alice, "lasting.ipynb")
    alice.stop_server()
    wait_for(lambda: not has_server(alice), "alice's server to stop", timeout=60)
    r = import_link(bob, created["url"])
    assert r.status_code == 201, r.text
    assert cell_sources(bob, r.json()["path"]) == ["saved before the job ended"]


def test_a_matching_session_is_offered_never_started(alice: HubClient, bob: HubClient) -> None:
    """The link's spawn URL fills in the hub's form; only the recipient's Start starts."""
    alice.start_server(local=True)
    alice.open_lab()
    save_notebook(alice, "matching.ipynb", "m")
    created = share(alice, "matching.ipynb")
    preview = bob.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": created["url"]})
    spawn_url = preview.json()["spawn_url"]
    bob.stop_server()
    wait_for(lambda: not has_server(bob), "bob's server to stop", timeout=60)
    page = bob.session.get(bob.url.rstrip("/") + spawn_url)
    assert page.status_code == 200, page.text
    assert "<form" in page.text  # the hub's form, for bob to check and submit
    # The hub registers a spawn (pending) before it answers the request that
    # starts one, so the state right after the answer is final: nothing started.
    assert not has_server(bob)
    assert bob.hub_api("GET", "users/bob").json().get("pending") is None
