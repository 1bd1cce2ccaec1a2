"""Probes of the names directory (``GET api/people`` of the share service, ``GET
sdcc-lab/api/people`` of a user's server): a real hub, the real share service,
alice, bob and carol (group ``physics``: alice and bob).

- Names only: whatever is asked, the answer is two lists of hub names, never what
  else the hub knows of a user or group (admin flag, groups, members, servers).
- A ``LIKE`` pattern (``%``, ``_``) is a name's characters, not "everyone".
- Only hub API tokens with the service's scope reach the service's API: not its
  own login cookie (a page could make a visitor's browser send it), not a token
  without ``access:services``.
- Through the user's server, ``GET`` needs no ``_xsrf`` (it reads and changes
  nothing); any other method is refused without it and answers no names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from conftest import Portal
from hubclient import SHARE_PREFIX, HubClient
from share_people import logged_in, start_people_portal

pytestmark = [pytest.mark.hub, pytest.mark.slow]

USERS = {"alice", "bob", "carol"}
GROUPS = {"physics"}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = start_people_portal(tmp_path_factory.mktemp("people-probes"))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def carol(portal: Portal) -> HubClient:
    return logged_in(portal, "carol")


def token_of(client: HubClient, **body: object) -> str:
    r = client.hub_api("POST", f"users/{client.username}/tokens", json={"note": "probe", **body})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def at_service(portal: Portal, q: str, **kw: object) -> requests.Response:
    return requests.get(
        portal.url.rstrip("/") + SHARE_PREFIX + "api/people",
        params={"q": q},
        timeout=30,
        allow_redirects=False,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("q", ["a", "b", "c", "o", "p", "s", "i", "e"])
def test_the_directory_answers_hub_names_and_nothing_else(
    portal: Portal, carol: HubClient, q: str
) -> None:
    r = at_service(portal, q, headers={"Authorization": f"token {token_of(carol)}"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert set(answer) == {"users", "groups"}
    assert all(isinstance(n, str) for n in answer["users"] + answer["groups"])
    assert set(answer["users"]) <= USERS and set(answer["groups"]) <= GROUPS
    assert all(q in n for n in answer["users"] + answer["groups"])
    for word in ("admin", "servers", "last_activity", "roles", "scopes", "{"):
        assert word not in r.text[1:-1], word  # one flat object of lists of names


@pytest.mark.parametrize("q", ["%", "_", "%%", "a%", "_o_", "\\", "%\\"])
def test_a_like_pattern_lists_nobody(portal: Portal, carol: HubClient, q: str) -> None:
    r = at_service(portal, q, headers={"Authorization": f"token {token_of(carol)}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"users": [], "groups": []}


def test_the_services_login_cookie_does_not_reach_the_directory(
    portal: Portal, carol: HubClient
) -> None:
    page = carol.session.get(portal.url.rstrip("/") + SHARE_PREFIX)  # logs in to the service
    assert page.status_code == 200, page.text
    assert any(c.path.startswith(SHARE_PREFIX) for c in carol.session.cookies)
    r = carol.session.get(portal.url.rstrip("/") + SHARE_PREFIX + "api/people", params={"q": "b"})
    assert r.status_code == 403, r.text
    assert "bob" not in r.text


def test_a_token_without_the_services_scope_gets_no_names(portal: Portal, carol: HubClient) -> None:
    token = token_of(carol, scopes=["read:users:name!user=carol"])
    r = at_service(portal, "b", headers={"Authorization": f"token {token}"})
    assert r.status_code == 403, r.text
    assert "bob" not in r.text


def test_through_the_server_get_needs_no_xsrf_and_nothing_else_is_taken(
    carol: HubClient,
) -> None:
    url = carol.url.rstrip("/") + carol.server_prefix() + "sdcc-lab/api/people"
    r = carol.session.get(url, params={"q": "b"}, allow_redirects=False)  # no X-XSRFToken
    assert r.status_code == 200, r.text
    assert r.json() == {"users": ["bob"], "groups": []}
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = carol.session.request(method, url, params={"q": "b"}, allow_redirects=False)
        assert r.status_code == 403, (method, r.status_code, r.text[:200])
        assert "bob" not in r.text
        r = carol.server_api(method, "sdcc-lab/api/people", params={"q": "b"})  # with _xsrf
        assert r.status_code == 405, (method, r.status_code, r.text[:200])
        assert "bob" not in r.text
