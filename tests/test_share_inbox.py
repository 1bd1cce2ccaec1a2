"""Shared with me and who used it (issue 14): a real hub, the real share service,
alice, bob and carol.

bob's inbox lists what is addressed to him and what he opened, each with its
state for him; alice sees who imported which version of her share; nobody
else reads her log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import Portal
from hubclient import SHARE_PREFIX, HubClient, cell_sources, save_notebook
from share_people import inbox, logged_in, share_with, start_people_portal
from test_share_hub import import_link

pytestmark = [pytest.mark.hub, pytest.mark.slow]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = start_people_portal(tmp_path_factory.mktemp("inbox"))
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


def state_becomes(client: HubClient, share_id: str, state: str, timeout: float = 15) -> dict:
    """The inbox entry once it says ``state`` (a save reaches the service asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        entry = inbox(client).get(share_id)
        if (entry and entry["state"] == state) or time.monotonic() > deadline:
            assert entry and entry["state"] == state, entry
            return entry
        time.sleep(0.5)


def test_new_imported_updated_revoked(alice: HubClient, bob: HubClient, carol: HubClient) -> None:
    save_notebook(alice, "weekly.ipynb", "week = 1")
    r = share_with(alice, "weekly.ipynb", {"users": ["bob"], "groups": []})
    assert r.status_code == 201, r.text
    share_id = r.json()["id"]
    entry = inbox(bob)[share_id]
    assert entry["state"] == "new"
    assert entry["owner"] == "alice" and entry["path"] == "weekly.ipynb"
    assert entry["kind"] == "notebook" and entry["updated_at"]
    assert entry["environment"]["kernelspec"]["name"] == "python3"
    assert share_id not in inbox(carol)  # not hers, and she never opened it
    assert share_id not in inbox(alice)  # her own shares are not "shared with" her
    # bob imports from the inbox's own link.
    r = import_link(bob, entry["url"])
    assert r.status_code == 201, r.text
    entry = inbox(bob)[share_id]
    assert entry["state"] == "imported" and entry["imported_version"] == entry["version"]
    # alice saves: bob's copy is older now.
    save_notebook(alice, "weekly.ipynb", "week = 2")
    entry = state_becomes(bob, share_id, "updated")
    assert entry["imported_version"] < entry["version"]
    r = import_link(bob, entry["url"])
    assert r.status_code == 201 and r.json()["action"] == "refreshed", r.text
    assert cell_sources(bob, r.json()["path"]) == ["week = 2"]
    assert inbox(bob)[share_id]["state"] == "imported"
    # alice revokes: it says so, and there is no link to import any more.
    assert alice.server_api("DELETE", f"sdcc-lab/api/shares/{share_id}").status_code == 204
    entry = inbox(bob)[share_id]
    assert entry["state"] == "revoked"
    assert "url" not in entry and "token" not in entry


def test_a_group_share_and_an_opened_link_are_in_the_inbox(
    alice: HubClient, bob: HubClient, carol: HubClient
) -> None:
    save_notebook(alice, "group.ipynb", "physics")
    group = share_with(alice, "group.ipynb", {"users": [], "groups": ["physics"]}).json()
    save_notebook(alice, "anyone.ipynb", "anyone")
    anyone = share_with(alice, "anyone.ipynb", None).json()
    assert inbox(bob)[group["id"]]["state"] == "new"
    assert group["id"] not in inbox(carol)
    # A link for anyone is not addressed to carol: it is hers once she opened it.
    assert anyone["id"] not in inbox(carol)
    r = carol.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": anyone["url"]})
    assert r.status_code == 200, r.text
    assert inbox(carol)[anyone["id"]]["state"] == "new"


def test_alice_sees_who_imported_which_version(
    portal: Portal, alice: HubClient, bob: HubClient, carol: HubClient
) -> None:
    save_notebook(alice, "used.ipynb", "v = 1")
    created = share_with(alice, "used.ipynb", None).json()
    assert import_link(bob, created["url"]).status_code == 201
    save_notebook(alice, "used.ipynb", "v = 2")
    deadline = time.monotonic() + 15
    while True:  # the save reaches the service asynchronously; a preview records nothing
        r = carol.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": created["url"]})
        assert r.status_code == 200, r.text
        if r.json()["version"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    r = import_link(carol, created["url"])
    assert r.status_code == 201 and r.json()["version"] == 2, r.text
    r = alice.server_api("GET", f"sdcc-lab/api/shares/{created['id']}/access")
    assert r.status_code == 200, r.text
    seen = {(a["user"], a["version"]) for a in r.json()["accesses"]}
    assert seen == {("bob", 1), ("carol", 2)}
    assert all(a["at"].endswith("Z") for a in r.json()["accesses"])
    # bob has version 1 and a newer one exists.
    entry = inbox(bob)[created["id"]]
    assert (entry["imported_version"], entry["version"], entry["state"]) == (1, 2, "updated")
    # The service's page lists them for alice.
    page = alice.session.get(portal.url.rstrip("/") + SHARE_PREFIX)
    assert page.status_code == 200
    assert "bob: version 1 (older)" in page.text and "carol: version 2," in page.text


def test_bob_cannot_read_alices_access_log(alice: HubClient, bob: HubClient) -> None:
    save_notebook(alice, "log.ipynb", "x")
    created = share_with(alice, "log.ipynb", None).json()
    assert import_link(bob, created["url"]).status_code == 201
    r = bob.server_api("GET", f"sdcc-lab/api/shares/{created['id']}/access")
    assert r.status_code == 403, r.text
    assert r.json()["message"] == "only its owner or an admin may see who used a share"
    r = bob.server_api("GET", "sdcc-lab/api/shares/0123456789abcdef/access")
    assert r.status_code == 404, r.text
