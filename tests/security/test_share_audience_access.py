"""Probes of shares addressed to people and groups (issue 14): a real hub, the real
share service, alice, bob and carol (group physics: alice and bob).

- A restricted share reached by someone else by its token or id, straight at the
  share service's API with their own hub token (not through their server): 403.
- Audience injection: names that are patterns, lists, other spellings or carry
  a second query parameter never widen or drop the audience.
- The inbox is the caller's own: not another user's through a parameter, their
  server or the service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from conftest import Portal
from hubclient import SHARE_PREFIX, HubClient, save_notebook
from share_people import inbox, logged_in, share_with, start_people_portal
from test_share_hub import open_link

pytestmark = [pytest.mark.hub, pytest.mark.slow]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = start_people_portal(tmp_path_factory.mktemp("audience-probes"))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def alice(portal: Portal) -> HubClient:
    return logged_in(portal, "alice")


@pytest.fixture(scope="module")
def bob(portal: Portal) -> HubClient:
    return logged_in(portal, "bob")


@pytest.fixture(scope="module")
def carol(portal: Portal) -> HubClient:
    return logged_in(portal, "carol")


@pytest.fixture(scope="module")
def for_bob(alice: HubClient) -> dict[str, str]:
    save_notebook(alice, "probe-for-bob.ipynb", "only bob")
    r = share_with(alice, "probe-for-bob.ipynb", {"users": ["bob"], "groups": []})
    assert r.status_code == 201, r.text
    return dict(r.json())


def api_token(client: HubClient) -> str:
    """A hub API token of the user's own (as a script of theirs would hold)."""
    r = client.hub_api("POST", f"users/{client.username}/tokens", json={"note": "probe"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def service(
    portal: Portal, client: HubClient, method: str, path: str, **kw: object
) -> requests.Response:
    return requests.request(
        method,
        portal.url.rstrip("/") + SHARE_PREFIX + path,
        headers={"Authorization": f"token {api_token(client)}"},
        timeout=30,
        **kw,  # type: ignore[arg-type]
    )


def test_a_restricted_share_by_token_straight_at_the_service(
    portal: Portal, carol: HubClient, for_bob: dict[str, str]
) -> None:
    for path in ("api/peek", "api/fetch"):
        r = service(portal, carol, "POST", path, json={"token": for_bob["token"]})
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
        assert "alice" in r.json()["message"] and "only bob" not in r.text
    r = service(portal, carol, "GET", f"api/shares/{for_bob['id']}/access")
    assert r.status_code == 403, r.text


def test_a_refused_visitor_gets_no_way_on(carol: HubClient, for_bob: dict[str, str]) -> None:
    r = open_link(carol, for_bob["url"])
    assert r.status_code == 403, r.text
    assert "sdcc-share=" not in r.text and "user-redirect" not in r.text
    assert for_bob["id"] not in inbox(carol)


@pytest.mark.parametrize("name", ["*", "bob,carol", "Bob", "b\u043eb", "../bob", "bob ", "physics"])
def test_audience_names_are_exact_names(alice: HubClient, name: str) -> None:
    """Patterns, lists, other spellings (case, a Cyrillic o), paths: the hub has no such user."""
    save_notebook(alice, "probe-names.ipynb", "x")
    r = share_with(alice, "probe-names.ipynb", {"users": [name], "groups": []})
    assert r.status_code == 400, r.text
    assert repr(name) in r.json()["message"]


def test_a_path_cannot_drop_the_audience(
    alice: HubClient, bob: HubClient, carol: HubClient
) -> None:
    """A file name that reads as a second query argument to the service stays a name."""
    name = "a&audience=null&x=.ipynb"
    save_notebook(alice, name, "still only bob")
    r = share_with(alice, name, {"users": ["bob"], "groups": []})
    assert r.status_code == 201, r.text
    assert r.json()["audience"] == {"users": ["bob"], "groups": []} and r.json()["path"] == name
    imported = carol.server_api("POST", "sdcc-lab/api/imports", json={"link": r.json()["url"]})
    assert imported.status_code == 403, imported.text


def test_the_inbox_is_the_callers_own(
    portal: Portal, bob: HubClient, carol: HubClient, for_bob: dict[str, str]
) -> None:
    assert for_bob["id"] in inbox(bob)
    # Not through a parameter of her own server,
    r = carol.server_api("GET", "sdcc-lab/api/shares/inbox", params={"user": "bob"})
    assert r.status_code == 200 and for_bob["id"] not in r.text
    # nor through bob's server (the hub lets her in nowhere there),
    r = carol.server_api("GET", "sdcc-lab/api/shares/inbox", owner="bob")
    assert r.status_code in (302, 403, 404) and for_bob["id"] not in r.text
    # nor straight at the service, with her token or her browser's cookie.
    r = service(portal, carol, "GET", "api/inbox", params={"user": "bob"})
    assert r.status_code == 200 and for_bob["id"] not in r.text
    r = carol.session.get(portal.url.rstrip("/") + SHARE_PREFIX + "api/inbox")
    assert r.status_code == 403 and for_bob["id"] not in r.text
