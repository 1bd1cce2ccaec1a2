"""Probes of the start estimate (``GET /hub/api/sdcc-lab/estimate``) on the real Slurm cluster.

The estimate runs ``sbatch --test-only`` as the asking user: only that user's own
session may ask, only for what they may use, and no query value reaches a
shell or the scheduler unchecked. Every submission, test ones included, takes
a job id from slurmctld, so an unchanged ``NEXT_JOB_ID`` means nothing ran.

``SDCC_PROBE_CODE_TREE=DIR`` runs the portal from another checkout (the code
before the change) to see these probes fail there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient
from test_slurm_portal import next_job_id, slurm

pytestmark = [pytest.mark.hub, pytest.mark.slurm, pytest.mark.slow]

ESTIMATE = "sdcc-lab/estimate"
PWNED = Path("/tmp/sdcc-estimate-pwned")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    slurm("/usr/bin/scontrol", "ping")
    tree = os.environ.get("SDCC_PROBE_CODE_TREE", "")
    portal = _start_portal(
        tmp_path_factory.mktemp("estimate-probe") / "data",
        env={"PYTHONPATH": tree} if tree else None,
    )
    yield portal
    portal.stop()


def login(portal: Portal, user: str) -> HubClient:
    client = HubClient(portal.url, user)
    client.login()
    return client


def test_bob_gets_no_estimate_for_a_partition_he_may_not_use(portal: Portal) -> None:
    bob = login(portal, "bob")
    first = next_job_id()
    r = bob.hub_api("GET", ESTIMATE, params={"partition": "gpu", "account": "tier3"})
    assert r.status_code == 403, r.text
    assert r.json()["message"] == "partition: 'gpu' is not a partition you may use"
    assert next_job_id() == first  # not even a test submission as bob


def test_no_login_no_estimate(portal: Portal) -> None:
    first = next_job_id()
    r = requests.get(f"{portal.url}hub/api/{ESTIMATE}", params={"partition": "cpu"}, timeout=30)
    assert r.status_code == 403, r.text
    assert next_job_id() == first


def test_a_token_without_the_servers_scope_cannot_ask(portal: Portal) -> None:
    """A narrow token (e.g. one a script was given to read activity) runs nothing as her."""
    alice = login(portal, "alice")
    made = alice.hub_api(
        "POST", "users/alice/tokens", json={"scopes": ["read:users:activity!user=alice"]}
    )
    assert made.status_code == 201, made.text
    first = next_job_id()
    r = requests.get(
        f"{portal.url}hub/api/{ESTIMATE}",
        params={"partition": "cpu"},
        headers={"Authorization": f"token {made.json()['token']}"},
        timeout=30,
    )
    assert r.status_code == 403, r.text
    assert next_job_id() == first


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"partition": "cpu;touch /tmp/sdcc-estimate-pwned"}, "partition"),
        ({"account": "$(touch /tmp/sdcc-estimate-pwned)"}, "account"),
        ({"qos": "`touch /tmp/sdcc-estimate-pwned`"}, "qos"),
        ({"memory": "1G --uid=0"}, "memory"),
        ({"memory": "4G\n#SBATCH --uid=0"}, "memory"),
        ({"cpus": "2 --uid=0"}, "cpus"),
        ({"gpu": "any:1,--uid=0"}, "gpu"),
    ],
)
def test_no_query_value_reaches_a_shell_or_sbatch(
    portal: Portal, query: dict[str, str], field: str
) -> None:
    alice = login(portal, "alice")
    first = next_job_id()
    r = alice.hub_api("GET", ESTIMATE, params=query)
    assert r.status_code in (400, 403), r.text
    assert r.json()["message"].startswith(f"{field}: ")
    assert next_job_id() == first
    assert not PWNED.exists()
