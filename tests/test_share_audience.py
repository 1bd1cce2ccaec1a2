"""Share with people and groups (issue 14): a real hub, the real share service,
alice, bob and carol; the hub group ``physics`` is alice and bob.

A restricted link is for its owner and the people and groups it names; anyone
else gets 403 naming the owner, on the link's page and from their server, and
nothing is imported or started. Unknown names are refused with the name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Portal
from hubclient import HubClient, save_notebook
from share_people import has_server, logged_in, share_with, start_people_portal
from test_share_hub import import_link, open_link

pytestmark = [pytest.mark.hub, pytest.mark.slow]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = start_people_portal(tmp_path_factory.mktemp("people"))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def alice(portal: Portal) -> HubClient:
    return logged_in(portal, "alice")


@pytest.fixture(scope="module")
def bob(portal: Portal) -> HubClient:
    return logged_in(portal, "bob")


def imported_files(client: HubClient, owner: str) -> list[str]:
    r = client.server_api("GET", f"api/contents/shared/{owner}")
    return [] if r.status_code == 404 else [f["name"] for f in r.json()["content"]]


def test_a_link_for_bob_only(portal: Portal, alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "for-bob.ipynb", "secret = 42")
    r = share_with(alice, "for-bob.ipynb", {"users": ["bob"], "groups": []})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["audience"] == {"users": ["bob"], "groups": []}
    # carol, without a server: the link's page refuses, names alice, offers no way on.
    carol = logged_in(portal, "carol", server=False)
    page = open_link(carol, created["url"])
    assert page.status_code == 403, page.text
    assert "alice" in page.json()["message"] and "continue_url" not in page.json()
    assert not has_server(carol)  # nothing started
    # From her own server neither preview nor import gets it, and nothing lands.
    carol.start_server(local=True)
    assert carol.open_lab().status_code == 200
    for path in ("sdcc-lab/api/imports/preview", "sdcc-lab/api/imports"):
        r = carol.server_api("POST", path, json={"link": created["url"]})
        assert r.status_code == 403, r.text
        assert "alice" in r.json()["message"]
    assert imported_files(carol, "alice") == []
    # bob opens and imports it.
    assert open_link(bob, created["url"]).status_code == 200
    r = import_link(bob, created["url"])
    assert r.status_code == 201, r.text
    assert "for-bob.ipynb" in imported_files(bob, "alice")
    # its owner still opens it.
    assert open_link(alice, created["url"]).status_code == 200


def test_a_link_for_the_group_physics(portal: Portal, alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "for-physics.ipynb", "g = 9.81")
    r = share_with(alice, "for-physics.ipynb", {"users": [], "groups": ["physics"]})
    assert r.status_code == 201, r.text
    link = r.json()["url"]
    assert import_link(bob, link).status_code == 201  # bob is in physics
    carol = logged_in(portal, "carol")
    r = import_link(carol, link)
    assert r.status_code == 403 and "alice" in r.json()["message"], r.text
    assert "for-physics.ipynb" not in imported_files(carol, "alice")


def test_a_link_for_anyone_still_opens_for_everyone(portal: Portal, alice: HubClient) -> None:
    save_notebook(alice, "for-all.ipynb", "open = True")
    r = share_with(alice, "for-all.ipynb", None)
    assert r.status_code == 201 and r.json()["audience"] is None, r.text
    carol = logged_in(portal, "carol")
    assert import_link(carol, r.json()["url"]).status_code == 201


@pytest.mark.parametrize(
    ("audience", "named"),
    [
        ({"users": ["bob", "nobody-here"], "groups": []}, "nobody-here"),
        ({"users": [], "groups": ["no-such-group"]}, "no-such-group"),
        ({"users": ["physics"], "groups": []}, "physics"),  # a group is not a user
        ({"users": [], "groups": ["carol"]}, "carol"),  # nor a user a group
    ],
)
def test_an_unknown_name_is_refused_with_the_name(
    alice: HubClient, audience: dict[str, list[str]], named: str
) -> None:
    save_notebook(alice, "unknown.ipynb", "x")
    before = alice.server_api("GET", "sdcc-lab/api/shares").json()["shares"]
    r = share_with(alice, "unknown.ipynb", audience)
    assert r.status_code == 400, r.text
    assert repr(named) in r.json()["message"]
    after = alice.server_api("GET", "sdcc-lab/api/shares").json()["shares"]
    assert len(after) == len(before)  # no link made


@pytest.mark.parametrize(
    ("audience", "words"),
    [
        ("bob", "'audience' must be null or an object"),
        ({"users": "bob"}, "'audience.users' must be a list of names"),
        ({"users": [1]}, "'audience.users' must be a list of names"),
        ({"people": ["bob"]}, "'audience' must be an object with 'users' and 'groups'"),
        ({"users": [""]}, "is not a user name"),
        ({"users": ["x" * 256]}, "is not a user name"),
        ({"users": ["bob\n"]}, "is not a user name"),
        ({"users": [f"u{i}" for i in range(51)]}, "at most 50 users and groups"),
    ],
)
def test_a_malformed_audience_is_refused(alice: HubClient, audience: object, words: str) -> None:
    save_notebook(alice, "shape.ipynb", "x")
    r = alice.server_api(
        "POST", "sdcc-lab/api/shares", json={"path": "shape.ipynb", "audience": audience}
    )
    assert r.status_code == 400, r.text
    assert words in r.json()["message"]
