"""Probes: only the owner (or an admin with JupyterHub's scopes) acts on a waiting session.

``GET /hub/api/sdcc-lab/pending/{user}`` and its two actions (``cancel``,
``start-instead``) answer another user with JupyterHub's 404 for resources one may not see (the
same answer as for a user who does not exist), an anonymous caller and a
cookie without ``X-XSRFToken`` with 403, before looking at any session: bob
cannot learn whether alice has a job waiting (a 409 or 200 would tell him),
let alone cancel or replace it. A real hub (the demo portal); no job needs to wait for
these refusals (tests/test_pending_slurm.py checks them with alice's job
waiting on the real cluster).
"""

from __future__ import annotations

import pytest
import requests
from conftest import Portal
from hubclient import HubClient

pytestmark = pytest.mark.hub

ACTIONS = [
    ("GET", "sdcc-lab/pending/alice"),
    ("POST", "sdcc-lab/pending/alice/cancel"),
    ("POST", "sdcc-lab/pending/alice/start-instead"),
]


@pytest.mark.parametrize(("method", "path"), ACTIONS)
def test_another_user_is_refused_without_learning_anything(
    demo_portal: Portal, method: str, path: str
) -> None:
    bob = HubClient(demo_portal.url, "bob")
    bob.login()
    body = {"partition": "cpu"} if method == "POST" else None
    r = bob.hub_api(method, path, json=body)
    # JupyterHub's answer for what one may not see: the same as for a user who does not exist.
    nobody = bob.hub_api(method, path.replace("/alice", "/nobody-here"), json=body)
    assert (r.status_code, r.json()) == (nobody.status_code, nobody.json())
    assert r.status_code == 404, (r.status_code, r.text)
    assert r.json()["message"] == "No access to resources or resources not found"


@pytest.mark.parametrize(("method", "path"), ACTIONS)
def test_an_anonymous_caller_is_refused(demo_portal: Portal, method: str, path: str) -> None:
    r = requests.request(method, demo_portal.url + "hub/api/" + path, json={}, timeout=10)
    assert r.status_code == 403, (r.status_code, r.text)


@pytest.mark.parametrize(("method", "path"), [a for a in ACTIONS if a[0] == "POST"])
def test_the_owners_cookie_without_the_xsrf_header_is_refused(
    demo_portal: Portal, method: str, path: str
) -> None:
    alice = HubClient(demo_portal.url, "alice")
    alice.login()
    r = alice.session.request(method, demo_portal.url + "hub/api/" + path, json={})
    assert r.status_code == 403, (r.status_code, r.text)
    assert "xsrf" in r.json()["message"].lower()
    # With the header, the same request reaches the handler: nothing of hers waits.
    r = alice.hub_api(method, path, json={})
    assert r.status_code == 409, (r.status_code, r.text)
