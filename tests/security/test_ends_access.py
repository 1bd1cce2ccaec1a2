"""Probes: the message about an ended session is the owner's alone, and cannot be turned
into a page or a spawn the owner did not ask for.

A real hub (the demo portal). The ended session is put in the hub's store
directly (a row of ``sdcc_lab_session_ends`` in the presets' database, as the
hub writes it when it finds a job gone): these probes are about who may read,
dismiss and start again, not about the scheduler (tests/test_ends_slurm.py ends
real jobs). Plain SQL on purpose: the probes ran first against the code
without the feature.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
import requests
from conftest import Portal
from hubclient import HubClient
from test_slurm_portal import jobs_of

pytestmark = pytest.mark.hub

SCRIPT = "<script>alert(1)</script>"
ALICE = {"local": False, "partition": "cpu", "account": "physics", "qos": "normal",
         "gpu": "none", "gpus": 0, "runtime": 30, "cpus": None, "memory": None,
         "environment": "default"}  # fmt: skip


def put_end(portal: Portal, user: str, end: dict[str, object], options: dict[str, object]) -> None:
    with sqlite3.connect(portal.data_dir / "hub" / "sdcc_lab_presets.sqlite") as db:
        db.execute(
            "create table if not exists sdcc_lab_session_ends (user varchar(255) not null, "
            "server_name varchar(255) not null, scheduler varchar(32) not null, "
            'job_id varchar(64) not null, "end" text not null, options text not null, '
            "primary key (user, server_name))"
        )
        db.execute(
            "insert or replace into sdcc_lab_session_ends values (?, '', 'htcondor', '41', ?, ?)",
            (user, json.dumps(end), json.dumps(options)),
        )


@pytest.fixture
def alice_ended(demo_portal: Portal) -> Iterator[None]:
    put_end(
        demo_portal,
        "alice",
        {"kind": "held", "state": "held (code 13)", "ended_at": "2026-11-27T11:28:00+00:00",
         "reason": SCRIPT},
        ALICE,
    )  # fmt: skip
    yield
    with sqlite3.connect(demo_portal.data_dir / "hub" / "sdcc_lab_presets.sqlite") as db:
        db.execute("delete from sdcc_lab_session_ends")


def test_the_message_is_escaped_on_the_home_page(demo_portal: Portal, alice_ended: None) -> None:
    alice = HubClient(demo_portal.url, "alice")
    alice.login()
    page = alice.session.get(demo_portal.url + "hub/home").text
    assert 'id="sdcc-session-end"' in page
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_another_user_neither_sees_nor_dismisses_it(demo_portal: Portal, alice_ended: None) -> None:
    bob = HubClient(demo_portal.url, "bob")
    bob.login()
    assert bob.hub_api("GET", "sdcc-lab/session-end").json() == {"end": None}
    assert 'id="sdcc-session-end"' not in bob.session.get(demo_portal.url + "hub/home").text
    r = bob.hub_api("POST", "sdcc-lab/session-end/dismiss")
    assert r.status_code == 404, r.text
    alice = HubClient(demo_portal.url, "alice")
    alice.login()
    assert alice.hub_api("GET", "sdcc-lab/session-end").json()["end"]["kind"] == "held"


def test_dismiss_needs_the_xsrf_header_and_a_login(demo_portal: Portal, alice_ended: None) -> None:
    alice = HubClient(demo_portal.url, "alice")
    alice.login()
    url = demo_portal.url + "hub/api/sdcc-lab/session-end/dismiss"
    r = alice.session.post(url)
    assert r.status_code == 403 and "xsrf" in r.json()["message"].lower(), r.text
    assert requests.post(url, timeout=10).status_code == 403
    assert alice.hub_api("GET", "sdcc-lab/session-end").json()["end"] is not None
    r = alice.hub_api("POST", "sdcc-lab/session-end/dismiss", data="rm -rf")
    assert r.status_code == 400 and r.json()["message"], r.text
    assert alice.hub_api("POST", "sdcc-lab/session-end/dismiss").status_code == 204
    assert alice.hub_api("GET", "sdcc-lab/session-end").json() == {"end": None}
    assert 'id="sdcc-session-end"' not in alice.session.get(demo_portal.url + "hub/home").text


def test_a_tampered_start_again_is_refused_like_a_form_post(
    demo_portal: Portal, alice_ended: None
) -> None:
    """Start again posts the recorded options to the spawn page: edited in the browser to
    what the user may not use, the post is refused with the form's words, nothing submitted."""
    bob = HubClient(demo_portal.url, "bob")
    bob.login()
    put_end(demo_portal, "bob", {"kind": "time_limit", "state": "TIMEOUT"}, {})
    before = jobs_of("bob")
    r = bob.session.post(
        demo_portal.url + "hub/spawn/bob",
        data={"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": "30",
              "_xsrf": bob.xsrf("/hub/")},
    )  # fmt: skip
    assert "is not a partition you may use" in r.text, r.text[-2000:]
    assert jobs_of("bob") == before
    assert bob.hub_api("GET", "users/bob").json()["servers"] == {}
