"""Extend: more time for a running session, on the real Slurm test cluster.

alice's JupyterLab runs as a real Slurm job of a real ``sdcc-lab demo`` hub;
her server asks the hub (``POST sdcc-lab/api/extend``, with its own token),
the hub checks its policy (here at most 45 minutes at a time, two extensions
per session) and her entitlements (QOS ``gpu-qos``: 60 minutes) and runs
``scontrol update`` as root. What the user would check: ``scontrol show job``
and the resources endpoint the panel's countdown reads.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient

pytestmark = [pytest.mark.hub, pytest.mark.slurm, pytest.mark.slow]

EXTRA_CONFIG = """
c.ExtendPolicy.max_minutes = 45
c.ExtendPolicy.max_extensions = 2
c.SlurmSessionSpawner.status_interval = 1
"""


def slurm(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


def jobs_of(user: str) -> list[str]:
    return slurm("/usr/bin/squeue", "-h", "-u", user, "-n", f"jupyter-{user}", "-o", "%i").split()


def time_limit(job: str) -> str:
    line = slurm("/usr/bin/scontrol", "show", "job", "-o", job)
    found = re.search(r"\bTimeLimit=(\S+)", line)
    assert found, line
    return found.group(1)


def cancel_sessions() -> None:
    for user in ("alice", "bob"):
        for job in jobs_of(user):
            subprocess.run(["/usr/bin/scancel", job], check=False)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    try:
        slurm("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    cancel_sessions()
    folder = tmp_path_factory.mktemp("extend")
    extra = folder / "extra_config.py"
    extra.write_text(EXTRA_CONFIG)
    portal = _start_portal(folder / "data", args=("--config", str(extra)))
    yield portal
    portal.stop()
    cancel_sessions()


def resources(client: HubClient) -> dict[str, Any]:
    r = client.server_api("GET", "sdcc-lab/api/resources?usage=0")
    assert r.status_code == 200, r.text
    return dict(r.json())


def end_of(answer: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(answer["time"]["end"])


def extend(client: HubClient, body: Any) -> requests.Response:
    return client.server_api("POST", "sdcc-lab/api/extend", json=body)


def test_alice_extends_her_session_within_the_policy_and_nobody_else_can(portal: Portal) -> None:
    alice = HubClient(portal.url, "alice")
    alice.login()
    r = alice.hub_api(
        "POST",
        "users/alice/server",
        json={"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": 10},
    )
    assert r.status_code in (201, 202), r.text
    alice.wait_ready(180)
    [job] = jobs_of("alice")
    assert time_limit(job) == "00:10:00"
    alice.open_lab()
    before = resources(alice)
    assert before["time"]["limit_seconds"] == 600

    # The panel's question first: what may this session still get?
    policy = alice.server_api("GET", "sdcc-lab/api/extend").json()
    assert policy == {
        "available": True,
        "reason": None,
        "max_minutes": 45,
        "minutes": [15, 30, 45],
        "extensions_left": 2,
    }

    # Bad requests change nothing.
    for body in ({"minutes": "10"}, {"minutes": 0}, {"minutes": True}, {}, {"minutes": 2.5}):
        r = extend(alice, body)
        assert r.status_code == 400, (body, r.text)
    assert time_limit(job) == "00:10:00"

    # 10 more minutes: Slurm's limit, the answer and the countdown's end all move.
    r = extend(alice, {"minutes": 10})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["limit_seconds"], answer["extensions_left"]) == (1200, 1)
    assert time_limit(job) == "00:20:00"
    after = resources(alice)
    assert after["time"]["limit_seconds"] == 1200
    assert abs(end_of(after) - (end_of(before) + timedelta(minutes=10))) <= timedelta(seconds=2)
    assert datetime.fromisoformat(answer["end"]) == end_of(after)

    # Beyond the policy: 403 with the reason, and Slurm's limit unchanged.
    r = extend(alice, {"minutes": 46})
    assert (r.status_code, r.json()["message"]) == (403, "at most 45 min can be added at a time")
    r = extend(alice, {"minutes": 45})
    assert r.status_code == 403
    assert r.json()["message"] == (
        "20 + 45 min would pass the 60 min limit of QOS gpu-qos: at most 40 min more"
    )
    assert time_limit(job) == "00:20:00"

    # bob: his own token finds no session of his, and alice's server is not his to call.
    bob = HubClient(portal.url, "bob")
    bob.login()
    token = bob.hub_api("POST", "users/bob/tokens", json={"note": "t"}).json()["token"]
    r = requests.post(
        portal.url + "hub/api/sdcc-lab/extend",
        json={"minutes": 10},
        headers={"Authorization": f"token {token}"},
    )
    assert (r.status_code, r.json()["message"]) == (
        409,
        "you have no running batch session to extend",
    )
    r = bob.server_api("POST", "sdcc-lab/api/extend", owner="alice", json={"minutes": 10})
    assert r.status_code in (302, 403, 404), r.status_code
    r = requests.post(
        portal.url + "user/alice/sdcc-lab/api/extend",
        json={"minutes": 10},
        headers={"Authorization": f"token {token}"},
        allow_redirects=False,
    )
    assert r.status_code in (302, 403, 404), r.status_code
    assert time_limit(job) == "00:20:00"

    # The second extension is the last one the policy allows.
    r = extend(alice, {"minutes": 10})
    assert r.status_code == 200, r.text
    assert (r.json()["limit_seconds"], r.json()["extensions_left"]) == (1800, 0)
    assert time_limit(job) == "00:30:00"
    r = extend(alice, {"minutes": 10})
    assert (r.status_code, r.json()["message"]) == (
        403,
        "This session was extended 2 times, the most allowed.",
    )
    assert time_limit(job) == "00:30:00"
    policy = alice.server_api("GET", "sdcc-lab/api/extend").json()
    assert (policy["available"], policy["extensions_left"]) == (False, 0)

    # Every extension is in the hub's log.
    log = portal.log()
    assert log.count(f"EXTEND alice's slurm job {job} by 10 min") == 2
    alice.stop_server()
