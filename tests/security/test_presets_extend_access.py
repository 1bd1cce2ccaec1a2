"""Security probes of spawn presets and session extensions (issue 12, "Presets and links",
"More time without starting over"), on a real ``sdcc-lab demo`` hub.

- A user's presets are theirs alone: another user cannot list, replace or
  delete them, whatever name they send.
- A login cookie changes presets only with the XSRF token; a token changes
  them only with the user's ``servers`` scope (a read-only token cannot).
- A preset name cannot climb out of the presets path (``..%2F``).
- Another user's token cannot extend a user's session (no session of theirs
  to find); neither can a request without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient

pytestmark = [pytest.mark.hub]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = _start_portal(tmp_path_factory.mktemp("presets-probe") / "data")
    yield portal
    portal.stop()


def logged_in(portal: Portal, user: str) -> HubClient:
    c = HubClient(portal.url, user)
    c.login()
    return c


def listed(c: HubClient) -> list[dict[str, Any]]:
    r = c.hub_api("GET", "sdcc-lab/presets")
    assert r.status_code == 200, r.text
    return list(r.json()["presets"])


LOCAL = {"options": {"local": True}}


def test_another_user_can_neither_see_nor_change_a_users_presets(portal: Portal) -> None:
    alice, bob = logged_in(portal, "alice"), logged_in(portal, "bob")
    assert alice.hub_api("PUT", "sdcc-lab/presets/mine", json=LOCAL).status_code == 200
    assert [p["name"] for p in listed(bob)] == []
    assert bob.hub_api("DELETE", "sdcc-lab/presets/mine").status_code == 404
    # bob's own preset of the same name is his; alice's stays as it was.
    env = {"options": {"local": True, "environment": "default"}}
    assert bob.hub_api("PUT", "sdcc-lab/presets/mine", json=env).status_code == 200
    assert listed(alice) == [{"name": "mine", "options": {"local": True, "environment": "default"}}]
    assert [p["name"] for p in listed(bob)] == ["mine"]
    # No user name in any path reaches alice's presets either.
    for path in ("sdcc-lab/presets/..%2F..%2Fusers%2Falice", "sdcc-lab/presets/%2e%2e"):
        r = bob.hub_api("DELETE", path)
        assert r.status_code in (400, 404), (path, r.status_code)
    assert [p["name"] for p in listed(alice)] == ["mine"]


def test_a_cookie_needs_the_xsrf_token_and_a_token_needs_the_servers_scope(
    portal: Portal,
) -> None:
    alice = logged_in(portal, "alice")
    url = alice.url + "hub/api/sdcc-lab/presets/"
    # The login cookie without X-XSRFToken (a cross-site form or script).
    r = alice.session.put(url + "csrf", json=LOCAL)
    assert r.status_code == 403, r.text
    r = alice.session.delete(url + "mine")
    assert r.status_code in (403, 404), r.text
    # A token that may only read alice's servers.
    r = alice.hub_api(
        "POST", "users/alice/tokens", json={"scopes": ["read:servers!user=alice"], "note": "ro"}
    )
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"token {r.json()['token']}"}
    assert requests.get(alice.url + "hub/api/sdcc-lab/presets", headers=headers).status_code == 200
    assert requests.put(url + "ro", json=LOCAL, headers=headers).status_code == 403
    # No credentials at all.
    assert requests.get(alice.url + "hub/api/sdcc-lab/presets").status_code == 403
    assert "csrf" not in [p["name"] for p in listed(alice)]
    assert "ro" not in [p["name"] for p in listed(alice)]


def test_another_users_token_cannot_extend_a_users_session(portal: Portal) -> None:
    """bob's own token finds no session of his: alice's job is never looked at (409)."""
    bob = logged_in(portal, "bob")
    token = bob.hub_api("POST", "users/bob/tokens", json={"note": "t"}).json()["token"]
    r = requests.post(
        portal.url + "hub/api/sdcc-lab/extend",
        json={"minutes": 10},
        headers={"Authorization": f"token {token}"},
    )
    assert r.status_code == 409, r.text
    assert r.json()["message"] == "you have no running batch session to extend"
    r = requests.post(portal.url + "hub/api/sdcc-lab/extend", json={"minutes": 10})
    assert r.status_code == 403
