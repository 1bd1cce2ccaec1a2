"""A site whose default interface is Notebook 7, with a hub admin, on a real hub and
the real share service (issue 14).

The portal is ``sdcc-lab demo`` with a ``--config`` that makes Notebook 7's tree
the default interface (``c.Spawner.default_url = "/tree"``, which the demo
passes on to the share service as ``c.ShareService.continue_url``) and adds a hub
admin, ``hubadmin``, who logs in with the hub's admin password. The demo itself
has no admin: a hub admin may start, stop and take over every user's server, so
a demo should not hand that out under its one shared password.

- a link's page continues to ``/hub/user-redirect/tree#sdcc-share=…``;
- alice shares, bob opens the link: the admin reads the share's access log (bob,
  the time, ``open``) with their hub API token, as the admin guide says; carol,
  neither owner nor admin, gets 403 with a JSON message; alice reads her own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import SHARE_PREFIX, HubClient, save_notebook
from share_people import PEOPLE, logged_in, share_with
from test_share_hub import open_link

pytestmark = [pytest.mark.hub, pytest.mark.slow]

ADMIN = "hubadmin"


@pytest.fixture(scope="module")
def admin_password() -> str:
    return secrets.token_urlsafe(32)  # the hub wants at least 32 characters


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, admin_password: str) -> Iterator[Portal]:
    folder = tmp_path_factory.mktemp("nb7admin")
    config = folder / "nb7_admin_config.py"
    config.write_text(
        "# Notebook 7's tree is where users work; hubadmin is the hub's admin.\n"
        "c.Spawner.default_url = '/tree'\n"
        f"c.Authenticator.admin_users = {{{ADMIN!r}}}\n"
        f"c.Authenticator.allowed_users.add({ADMIN!r})\n"
        f"c.SharedPasswordAuthenticator.admin_password = {admin_password!r}\n"
    )
    config.chmod(0o600)
    portal = _start_portal(folder / "data", users=PEOPLE, args=("--config", str(config)))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def alice(portal: Portal) -> HubClient:
    return logged_in(portal, "alice")


@pytest.fixture(scope="module")
def bob(portal: Portal) -> HubClient:
    return logged_in(portal, "bob", server=False)  # opening a link starts nothing


def api_token(portal: Portal, name: str, password: str | None = None) -> str:
    """A hub API token of ``name``'s, made through the hub's API as its token page does."""
    client = HubClient(portal.url, name, password)
    client.login()
    r = client.hub_api("POST", f"users/{name}/tokens", json={"note": "access log"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def service_api(portal: Portal, token: str, path: str) -> requests.Response:
    return requests.get(
        portal.url.rstrip("/") + SHARE_PREFIX + "api/" + path,
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def opened(alice: HubClient, bob: HubClient) -> dict[str, Any]:
    """alice's share that bob opened (its page), and the page's details."""
    save_notebook(alice, "audit.ipynb", "x = 1")
    r = share_with(alice, "audit.ipynb", None)
    assert r.status_code == 201, r.text
    created = dict(r.json())
    details = open_link(bob, created["url"])
    assert details.status_code == 200, details.text
    return {"share": created, "details": details.json()}


def test_the_link_continues_to_notebook_7s_tree(opened: dict[str, Any]) -> None:
    created = opened["share"]
    assert opened["details"]["continue_url"] == (
        "/hub/user-redirect/tree#sdcc-share=" + created["token"]
    )
    assert opened["details"]["interface"] == "Jupyter Notebook"  # "Continue to my …"
    # The link alice copies did not change.
    assert created["url"].endswith(SHARE_PREFIX + "open#" + created["token"])


def test_the_admin_reads_who_opened_a_share(
    portal: Portal, admin_password: str, opened: dict[str, Any]
) -> None:
    token = api_token(portal, ADMIN, admin_password)
    share_id = opened["share"]["id"]
    # Every share: how an admin finds the one to look at.
    listing = service_api(portal, token, "shares?all=1")
    assert listing.status_code == 200, listing.text
    assert share_id in {s["id"] for s in listing.json()["shares"]}
    r = service_api(portal, token, f"shares/{share_id}/access?action=all")
    assert r.status_code == 200, r.text
    [entry] = r.json()["accesses"]
    assert (entry["user"], entry["action"], entry["version"]) == ("bob", "open", 1)
    assert entry["at"].endswith("Z")


def test_someone_else_gets_403_and_the_owner_reads_her_own(
    portal: Portal, opened: dict[str, Any]
) -> None:
    share_id = opened["share"]["id"]
    carol = api_token(portal, "carol")
    r = service_api(portal, carol, f"shares/{share_id}/access?action=all")
    assert r.status_code == 403, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"message": "only its owner or an admin may see who used a share"}
    r = service_api(portal, carol, "shares?all=1")
    assert r.status_code == 403 and r.json() == {"message": "only admins may list every share"}
    alice = api_token(portal, "alice")
    r = service_api(portal, alice, f"shares/{share_id}/access?action=all")
    assert r.status_code == 200, r.text
    assert [(a["user"], a["action"]) for a in r.json()["accesses"]] == [("bob", "open")]
