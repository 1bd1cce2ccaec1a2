"""Spawn presets and spawn links on a real ``sdcc-lab demo`` hub with the real Slurm cluster.

The hub validates presets and links with the form's own code against what
each user may use on the test cluster (alice: ``gpu`` with ``tier3`` and
``gpu-qos``; bob: ``cpu`` only). Nothing here submits a job; the link tests
check with ``squeue`` that nothing was submitted.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient

from sdcc_lab.hub.formspawner import LINK_MESSAGE

pytestmark = [pytest.mark.hub, pytest.mark.slurm]

ALICE_GPU = {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": 60}
GPU_LINK = "hub/spawn?partition=gpu&account=tier3&qos=gpu-qos&runtime=60"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    try:
        subprocess.run(["/usr/bin/scontrol", "ping"], check=True, capture_output=True, timeout=30)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    portal = _start_portal(tmp_path_factory.mktemp("presets") / "data")
    assert "Sessions can run as Slurm jobs" in portal.log(), portal.log()[-2000:]
    yield portal
    portal.stop()


def client(portal: Portal, user: str) -> HubClient:
    c = HubClient(portal.url, user)
    c.login()
    return c


def presets(c: HubClient) -> list[dict[str, Any]]:
    r = c.hub_api("GET", "sdcc-lab/presets")
    assert r.status_code == 200, r.text
    return list(r.json()["presets"])


def put(c: HubClient, name: str, options: Any) -> requests.Response:
    return c.hub_api(
        "PUT", "sdcc-lab/presets/" + requests.utils.quote(name, safe=""), json={"options": options}
    )


def chosen_in(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="sdcc-form-chosen">(.*?)</script>', page, re.S
    )
    assert match is not None, "no sdcc_lab form on the page"
    return dict(json.loads(match.group(1)))


def error_of(page: str) -> str:
    match = re.search(r'class="spawn-error-msg[^"]*">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else ""


def squeue(user: str) -> list[str]:
    out = subprocess.run(
        ["/usr/bin/squeue", "-h", "-u", user, "-o", "%i"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return out.split()


def nothing_started(c: HubClient) -> bool:
    model = c.hub_api("GET", f"users/{c.username}").json()
    return (model["servers"], model["pending"]) == ({}, None)


# --- presets ---------------------------------------------------------------------------------
def test_alices_preset_is_saved_listed_for_her_alone_and_offered_in_her_form(
    portal: Portal,
) -> None:
    alice, bob = client(portal, "alice"), client(portal, "bob")
    r = put(alice, "GPU tutorial", ALICE_GPU)
    assert r.status_code == 200, r.text
    saved = r.json()
    # Stored as validated: every option set, as a form post would start it.
    expected = {**ALICE_GPU, "local": False, "gpu": "none", "gpus": 0, "environment": "default"}
    assert {k: saved["options"].get(k) for k in expected} == expected
    assert presets(alice) == [saved]
    assert presets(bob) == []
    page = alice.session.get(alice.url + "hub/spawn").text
    assert '<option value="GPU tutorial">GPU tutorial</option>' in page
    assert "GPU tutorial" not in bob.session.get(bob.url + "hub/spawn").text
    # Saving under the same name replaces it.
    r = put(alice, "GPU tutorial", {**ALICE_GPU, "runtime": 30})
    assert r.status_code == 200, r.text
    assert [p["options"]["runtime"] for p in presets(alice)] == [30]


def test_a_preset_the_user_may_not_use_is_refused_with_the_forms_message(portal: Portal) -> None:
    bob = client(portal, "bob")
    r = put(bob, "gpu", ALICE_GPU)
    assert r.status_code == 403
    message = r.json()["message"]
    assert message == "partition: 'gpu' is not a partition you may use"
    # The form says the same of the same choice.
    page = bob.session.post(
        bob.url + "hub/spawn",
        data={
            **{k: str(v) for k, v in ALICE_GPU.items()},
            "local": "false",
            "_xsrf": bob.xsrf("/hub/"),
        },
    )
    assert message in error_of(page.text)
    assert presets(bob) == []
    assert nothing_started(bob)
    # Over alice's own limit (gpu-qos: 60 min) is refused too.
    alice = client(portal, "alice")
    r = put(alice, "long", {**ALICE_GPU, "runtime": 90})
    assert (r.status_code, r.json()["message"]) == (
        400,
        "runtime: 90 min is over the 60 min limit of QOS gpu-qos",
    )


@pytest.mark.parametrize(
    "name, status",
    [
        ("x" * 65, 400),  # over max_name_length (64)
        (" padded", 400),
        ("tab\there", 400),
        ("bidi\u202egnp", 400),
        ("zero\u200bwidth", 400),
    ],
)
def test_bad_preset_names_are_refused(portal: Portal, name: str, status: int) -> None:
    alice = client(portal, "alice")
    r = put(alice, name, {"local": True})
    assert r.status_code == status, r.text
    assert "preset name" in r.json()["message"]
    assert name not in [p["name"] for p in presets(alice)]


@pytest.mark.parametrize(
    "body",
    [
        {"options": {"local": True}, "extra": 1},
        {"options": ["local"]},
        {"local": True},
        {"options": {"local": True, "shell": "rm -rf /"}},
    ],
)
def test_bad_preset_bodies_are_refused(portal: Portal, body: dict[str, Any]) -> None:
    alice = client(portal, "alice")
    r = alice.hub_api("PUT", "sdcc-lab/presets/bad", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["message"]
    assert "bad" not in [p["name"] for p in presets(alice)]


def test_a_user_keeps_at_most_max_presets_and_delete_frees_a_place(portal: Portal) -> None:
    bob = client(portal, "bob")
    for p in presets(bob):
        assert bob.hub_api("DELETE", "sdcc-lab/presets/" + p["name"]).status_code == 204
    for i in range(20):
        assert put(bob, f"p{i:02d}", {"local": True}).status_code == 200
    r = put(bob, "one more", {"local": True})
    assert r.status_code == 409
    assert "delete one first" in r.json()["message"]
    assert len(presets(bob)) == 20
    assert put(bob, "p00", {"local": True, "environment": "default"}).status_code == 200  # replace
    assert bob.hub_api("DELETE", "sdcc-lab/presets/p00").status_code == 204
    r = bob.hub_api("DELETE", "sdcc-lab/presets/p00")
    assert (r.status_code, r.json()["message"]) == (404, "you have no preset named 'p00'")
    assert put(bob, "one more", {"local": True}).status_code == 200
    for p in presets(bob):
        bob.hub_api("DELETE", "sdcc-lab/presets/" + requests.utils.quote(p["name"], safe=""))
    assert presets(bob) == []


# --- links -----------------------------------------------------------------------------------
def test_alices_link_fills_in_the_form_and_starts_nothing(portal: Portal) -> None:
    alice = client(portal, "alice")
    before = squeue("alice")
    page = alice.session.get(alice.url + GPU_LINK)
    assert page.status_code == 200
    assert error_of(page.text) == "Error: " + LINK_MESSAGE
    chosen = chosen_in(page.text)
    assert {k: chosen[k] for k in ALICE_GPU} == ALICE_GPU
    assert '<option value="gpu" selected>' in page.text
    assert nothing_started(alice)
    assert squeue("alice") == before


def test_bobs_link_names_every_option_he_may_not_use_and_submits_nothing(portal: Portal) -> None:
    bob = client(portal, "bob")
    before = squeue("bob")
    page = bob.session.get(bob.url + GPU_LINK + "&gpu=any&gpus=9&colour=red")
    assert page.status_code == 200
    said = error_of(page.text)
    assert said.startswith("Error: Your link asks for what you may not use: ")
    # Every option he may not use, in the form's words (labels.json), and why.
    assert "Partition: 'gpu' is not a partition you may use" in said
    assert "QOS: 'gpu-qos' may not be used with account tier3 on partition cpu" in said
    assert "GPUs: must be between 1 and 1" in said  # the node has one GPU
    assert "colour: is not an option of this portal" in said
    assert "Account" not in said and "Runtime" not in said  # those he may use
    # The rest of the link is filled in: what he may use.
    chosen = chosen_in(page.text)
    assert (chosen["partition"], chosen["account"], chosen["runtime"]) == ("cpu", "tier3", 60)
    assert nothing_started(bob)
    assert squeue("bob") == before
