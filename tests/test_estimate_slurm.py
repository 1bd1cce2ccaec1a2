"""The start estimate, cores and memory on the real Slurm test cluster.

A real ``sdcc-lab demo`` portal (JupyterHub, the SDCC form spawner) asks
Slurm with ``sbatch --test-only`` as the user; bob's real jobs fill the node.
Every submission, test ones included, takes a job id from slurmctld, so
``NEXT_JOB_ID`` counts what the hub submitted. Hold /tmp/sdcc-slurm.lock.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from test_slurm_portal import jobs_of, logged_in, next_job_id, scontrol_job, slurm, wait_until

pytestmark = [pytest.mark.hub, pytest.mark.slurm, pytest.mark.slow]

# No per-user interval and no reuse: each question of these tests reaches Slurm, except
# what the hub-wide cap (4, the default) turns away.
EXTRA_CONFIG = """
c.SlurmSessionSpawner.pending_timeout = 300
c.SlurmSessionSpawner.status_interval = 1
c.StartEstimator.user_interval = 0
c.StartEstimator.cache_ttl = 0
c.StartEstimator.max_concurrent = 4
c.SlurmDiscovery.free_ttl = 0
c.JupyterHub.cleanup_servers = False
"""
ESTIMATE = "sdcc-lab/estimate"


def cancel_all() -> None:
    for user in ("alice", "bob"):
        subprocess.run(["/usr/bin/scancel", "-u", user], check=False)
    wait_until(lambda: not slurm("/usr/bin/squeue", "-h", "-o", "%i").split(), 60, "an empty queue")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    try:
        slurm("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    cancel_all()
    folder = tmp_path_factory.mktemp("estimate-portal")
    extra = folder / "extra_config.py"
    extra.write_text(EXTRA_CONFIG)
    portal = _start_portal(folder / "data", args=("--config", str(extra)))
    yield portal
    portal.stop()
    cancel_all()


def estimate(client: Any, **query: Any) -> requests.Response:
    return client.hub_api("GET", ESTIMATE, params=query)


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def slurm_time(value: str) -> datetime:
    """A time of ``scontrol show job`` (local time, no zone)."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").astimezone().astimezone(timezone.utc)


def fill_node_as_bob(seconds: int, minutes: int) -> list[str]:
    """bob's jobs of known length holding every core of the node."""
    job = slurm(
        "/usr/sbin/runuser", "-u", "bob", "--", "/usr/bin/sbatch", "--parsable",
        f"--time={minutes}", "--cpus-per-task=4", "--partition=cpu", "--account=tier3",
        "--output=/dev/null", "--chdir=/tmp", "--wrap", f"sleep {seconds}",
    ).strip()  # fmt: skip
    wait_until(lambda: scontrol_job(job).get("JobState") == "RUNNING", 30, f"bob's job {job}")
    return [job]


def test_an_idle_node_starts_now(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    r = estimate(alice, partition="cpu", runtime=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"starts_now", "start", "reason", "source"}
    assert (body["starts_now"], body["source"], body["reason"]) == (True, "slurm", None)


def test_the_form_shows_the_estimate_free_resources_and_the_new_fields(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    page = alice.session.get(alice.url + "hub/spawn").text
    line = re.search(r'<p [^>]*id="sdcc-estimate"[^>]*>(.*?)</p>', page, re.S)
    assert line and line.group(1).strip() == "Starts now", page[:300]
    rows = dict(re.findall(r'<tr data-partition="([a-z]+)"><td>[a-z]+</td><td>([^<]*)</td>', page))
    assert rows == {"cpu": "1 of 1", "gpu": "1 of 1"}  # idle nodes of each partition
    assert 'name="cpus" id="sdcc-cpus"' in page and 'name="memory" id="sdcc-memory"' in page


def test_a_full_node_gives_the_end_of_bobs_jobs_and_alice_starts_then(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    [job] = fill_node_as_bob(seconds=50, minutes=1)
    end = slurm_time(scontrol_job(job)["EndTime"])
    r = estimate(alice, partition="cpu", runtime=5)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["starts_now"] is False and body["source"] == "slurm", body
    expected = when(body["start"])
    assert abs((expected - end).total_seconds()) <= 60, (expected, end)

    # She submits the same choice: the job waits, then starts about when Slurm said.
    r = alice.hub_api(
        "POST", "users/alice/server", json={"partition": "cpu", "account": "physics", "runtime": 5}
    )
    assert r.status_code in (201, 202), r.text
    wait_until(lambda: bool(jobs_of("alice")), 30, "alice's job")
    [hers] = jobs_of("alice")
    wait_until(lambda: scontrol_job(hers).get("JobState") == "RUNNING", 150, "her job to start")
    started = slurm_time(scontrol_job(hers)["StartTime"])
    assert abs((started - expected).total_seconds()) <= 60, (started, expected)
    alice.wait_ready(120)
    alice.stop_server()
    wait_until(lambda: not jobs_of("alice"), 60, "her job to end")


def test_cores_and_memory_reach_the_job(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    r = alice.hub_api(
        "POST",
        "users/alice/server",
        json={"partition": "cpu", "account": "physics", "runtime": 5, "cpus": 2, "memory": "2G"},
    )
    assert r.status_code in (201, 202), r.text
    wait_until(lambda: bool(jobs_of("alice")), 30, "alice's job")
    [job] = jobs_of("alice")
    info = scontrol_job(job)
    assert (info["NumCPUs"], info["MinMemoryNode"]) == ("2", "2G"), info
    assert "cpu=2,mem=2G" in info["TRES"], info["TRES"]
    alice.wait_ready(120)
    alice.stop_server()
    wait_until(lambda: not jobs_of("alice"), 60, "her job to end")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cpus": 5}, "cpus: 5 cores is over the 4-core limit of partition cpu"),
        ({"memory": "30G"}, "memory: 30720 MiB is over the 22057 MiB limit of partition cpu"),
    ],
)
def test_over_the_partitions_limit_is_refused_before_sbatch(
    portal: Portal, options: dict[str, Any], message: str
) -> None:
    alice = logged_in(portal, "alice")
    first_id = next_job_id()
    r = alice.hub_api(
        "POST",
        "users/alice/server",
        json={"partition": "cpu", "account": "physics", "runtime": 5, **options},
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"] == message
    # The estimate refuses it with the form's words, and tests nothing either.
    r = estimate(alice, partition="cpu", runtime=5, **options)
    assert (r.status_code, r.json()["message"]) == (400, message)
    assert next_job_id() == first_id
    assert jobs_of("alice") == []


@pytest.mark.parametrize(
    ("user", "query", "status", "message"),
    [
        ("bob", {"partition": "gpu"}, 403, "partition: 'gpu' is not a partition you may use"),
        ("alice", {"partition": "cpu", "account": "tier3"}, 403, "account: 'tier3' may not"),
        ("alice", {"partition": "gpu", "qos": "normal", "runtime": 10}, 403, "qos: 'normal'"),
        ("alice", {"partition": "gpu", "runtime": 90}, 400, "runtime: 90 min is over the 60"),
        ("alice", {"cpus": "two"}, 400, "cpus: must be a whole number"),
        ("alice", {"memory": "lots"}, 400, "memory: 'lots' is not a size"),
        ("alice", {"cmd": "/bin/sh"}, 400, "cmd: is not an option of this estimate"),
        ("alice", {"environment": "default"}, 400, "environment: is not an option"),
    ],
)
def test_choices_she_may_not_use_get_the_forms_message(
    portal: Portal, user: str, query: dict[str, Any], status: int, message: str
) -> None:
    client = logged_in(portal, user)
    first_id = next_job_id()
    r = estimate(client, **query)
    assert r.status_code == status, r.text
    assert r.json()["message"].startswith(message), r.json()
    assert next_job_id() == first_id


def test_no_estimate_without_a_login(portal: Portal) -> None:
    r = requests.get(portal.url + "hub/api/" + ESTIMATE, params={"partition": "cpu"}, timeout=30)
    assert r.status_code == 403, r.text
    assert "message" in r.json()


def test_a_burst_of_changes_is_capped_hub_wide(portal: Portal) -> None:
    """Twelve different choices at once: at most four test submissions (the hub-wide cap)."""
    alice, bob = logged_in(portal, "alice"), logged_in(portal, "bob")
    first_id = next_job_id()

    def ask(n: int) -> dict[str, Any]:
        client = alice if n % 2 else bob
        r = estimate(client, partition="cpu", runtime=10 + n)
        assert r.status_code == 200, r.text
        return dict(r.json())

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, range(12)))
    submitted = next_job_id() - first_id
    sources = [a["source"] for a in answers]
    assert 1 <= submitted <= 4, submitted
    assert sources.count("slurm") == submitted
    assert sources.count("cached") == 12 - submitted
    # An idle node: the partition-level answer says the same.
    assert all(a["starts_now"] for a in answers), answers
    time.sleep(0.5)
