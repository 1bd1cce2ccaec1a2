"""Names completed from the hub, and a folder for named people (issue 14): a real hub,
the real share service, alice, bob and carol (the hub group ``physics``: alice, bob).

alice types into the share dialog's audience field; her server asks the share
service (``GET sdcc-lab/api/people?q=``), which asks the hub with its own role
(``list:users``, ``list:groups`` and the ``read:…:name`` scopes) and answers
names only. A site that switches it off (``c.ShareService.name_directory =
False``) answers 404. A folder shared with bob only is refused to carol with
403 naming alice, exactly as a notebook is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import SHARE_PREFIX, HubClient, save_notebook
from share_people import has_server, logged_in, share_with, start_people_portal
from test_share_folder import mkdir, save_text
from test_share_hub import import_link, open_link

pytestmark = [pytest.mark.hub, pytest.mark.slow]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = start_people_portal(tmp_path_factory.mktemp("people-names"))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def alice(portal: Portal) -> HubClient:
    return logged_in(portal, "alice")


def people(client: HubClient, q: str) -> requests.Response:
    return client.server_api("GET", "sdcc-lab/api/people", params={"q": q})


def names(client: HubClient, q: str) -> dict[str, Any]:
    r = people(client, q)
    assert r.status_code == 200, r.text
    return dict(r.json())


def api_token(client: HubClient) -> str:
    r = client.hub_api("POST", f"users/{client.username}/tokens", json={"note": "people"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def service_people(portal: Portal, q: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(
        portal.url.rstrip("/") + SHARE_PREFIX + "api/people",
        params={"q": q},
        headers=headers,
        timeout=30,
        allow_redirects=False,
    )


def test_what_alice_types_is_completed_with_bob_carol_and_physics(alice: HubClient) -> None:
    assert names(alice, "b") == {"users": ["bob"], "groups": []}
    # Any case; the names starting with it first (carol), then those containing it.
    assert names(alice, "C") == {"users": ["carol", "alice"], "groups": ["physics"]}
    assert names(alice, "CAR") == {"users": ["carol"], "groups": []}
    assert names(alice, "phy") == {"users": [], "groups": ["physics"]}
    # Names containing it, those starting with it first: alice before carol for "a".
    assert names(alice, "a") == {"users": ["alice", "carol"], "groups": []}
    assert names(alice, "o") == {"users": ["bob", "carol"], "groups": []}
    assert names(alice, "s") == {"users": [], "groups": ["physics"]}
    assert names(alice, "nobody") == {"users": [], "groups": []}


@pytest.mark.parametrize("q", ["", "x" * 65, "a\nb", "\x7f"])
def test_an_empty_long_or_unprintable_query_is_400(alice: HubClient, q: str) -> None:
    r = people(alice, q)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "'q' must be 1 to 64 printable characters"


def test_a_missing_query_is_400(alice: HubClient) -> None:
    r = alice.server_api("GET", "sdcc-lab/api/people")
    assert r.status_code == 400, r.text
    assert "'q'" in r.json()["message"]


def test_nobody_unauthenticated_gets_names(portal: Portal, alice: HubClient) -> None:
    # Straight at the service: no token, a made-up one.
    for token in (None, "not-a-token"):
        r = service_people(portal, "b", token)
        assert r.status_code == 403, r.text
        assert "bob" not in r.text
    # At alice's server without her login: the hub's login, no names.
    r = requests.get(
        portal.url.rstrip("/") + alice.server_prefix() + "sdcc-lab/api/people",
        params={"q": "b"},
        timeout=30,
        allow_redirects=False,
    )
    assert r.status_code in (302, 403), r.status_code
    assert "bob" not in r.text


def test_the_service_answers_names_and_nothing_else(portal: Portal, alice: HubClient) -> None:
    """What the hub knows of bob (admin flag, groups, servers, activity) stays there."""
    for r in (service_people(portal, "b", api_token(alice)), people(alice, "b")):
        assert r.status_code == 200, r.text
        answer = r.json()
        assert set(answer) == {"users", "groups"}
        assert answer["users"] == ["bob"] and answer["groups"] == []
        for word in ("admin", "server", "physics", "last_activity", "kind", "created"):
            assert word not in r.text, word
    r = service_people(portal, "physics", api_token(alice))
    assert r.json() == {"users": [], "groups": ["physics"]}  # not its members
    assert r.headers["Cache-Control"] == "no-store"


def test_a_folder_for_bob_is_refused_to_carol_naming_alice(
    portal: Portal, alice: HubClient
) -> None:
    mkdir(alice, "for-bob")
    save_notebook(alice, "for-bob/a.ipynb", "a = 1")
    save_text(alice, "for-bob/data.csv", "x,y\n1,2\n")
    r = share_with(alice, "for-bob", {"users": ["bob"], "groups": []})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["audience"] == {"users": ["bob"], "groups": []}
    carol = logged_in(portal, "carol", server=False)
    page = open_link(carol, created["url"])
    assert page.status_code == 403, page.text
    message = page.json()["message"]
    assert message.startswith("alice shared this folder with named people only, and carol")
    assert not has_server(carol)  # nothing started
    carol.start_server(local=True)
    assert carol.open_lab().status_code == 200
    for path in ("sdcc-lab/api/imports/preview", "sdcc-lab/api/imports"):
        r = carol.server_api("POST", path, json={"link": created["url"]})
        assert r.status_code == 403, r.text
        assert r.json()["message"] == message
    r = carol.server_api("GET", "api/contents/shared/alice", params={"content": "0"})
    assert r.status_code == 404  # nothing landed
    bob = logged_in(portal, "bob")
    r = import_link(bob, created["url"])
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "folder"
    assert sorted(f["path"] for f in r.json()["files"]) == ["a.ipynb", "data.csv"]


def test_a_site_that_switches_completion_off_answers_404(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("people-off")
    config = Path(folder) / "extra_config.py"
    config.write_text("c.ShareService.name_directory = False\n")
    portal = _start_portal(folder / "data", users="alice,bob", args=("--config", str(config)))
    try:
        alice = logged_in(portal, "alice", server=False)
        r = service_people(portal, "b", api_token(alice))
        assert r.status_code == 404, r.text
        assert r.json()["message"] == (
            "this site does not complete names from the hub "
            "(c.ShareService.name_directory is off): type the names in full"
        )
        # Names typed in full still make a link for bob only.
        alice.start_server(local=True)
        assert alice.open_lab().status_code == 200
        r = people(alice, "b")
        assert r.status_code == 404 and "bob" not in r.text, r.text
        save_notebook(alice, "typed.ipynb", "x = 1")
        r = share_with(alice, "typed.ipynb", {"users": ["bob"], "groups": []})
        assert r.status_code == 201, r.text
    finally:
        portal.stop()
