"""A session waiting in the queue, on the real Slurm test cluster, through a real hub.

A real ``sdcc-lab demo`` portal submits alice's session as a Slurm job; bob's
jobs (``sbatch`` as bob) fill the node so that hers waits for a known reason.
What the user sees is checked where they see it: the hub API the pending page
reads (``GET /hub/api/sdcc-lab/pending/alice``), the progress events, the page
itself, ``squeue``/``sacct``, and the hub's own view of her server. CI starts
the cluster first: if it does not answer, these tests fail rather than skip.
Run them holding /tmp/sdcc-slurm.lock (they cancel alice's and bob's jobs).
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient
from test_slurm_portal import jobs_of, logged_in, scontrol_job, slurm, start, wait_until

pytestmark = [pytest.mark.hub, pytest.mark.slurm, pytest.mark.slow]

EXTRA_CONFIG = """
c.SlurmSessionSpawner.pending_timeout = 300
c.SlurmSessionSpawner.status_interval = 1
c.JupyterHub.cleanup_servers = False
"""
ALICE_CPU = {"partition": "cpu", "account": "physics", "qos": "normal", "runtime": 10}
ALICE_GPU = {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "gpu": "none", "runtime": 10}


def cancel_all() -> None:
    for user in ("alice", "bob"):
        out = slurm("/usr/bin/squeue", "-h", "-u", user, "-o", "%i")
        for job in out.split():
            subprocess.run(["/usr/bin/scancel", job], check=False)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    try:
        slurm("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    cancel_all()
    folder = tmp_path_factory.mktemp("pending-portal")
    extra = folder / "extra_config.py"
    extra.write_text(EXTRA_CONFIG)
    started = _start_portal(folder / "data", args=("--config", str(extra)))
    yield started
    started.stop()
    cancel_all()


def fill_node_as_bob(minutes: int) -> str:
    """A job of bob's that takes every CPU of the node for ``minutes``; returns its id."""
    cpus = slurm("/usr/bin/sinfo", "-h", "-o", "%c").split()[0]
    job = slurm(
        "/usr/sbin/runuser",
        "-u",
        "bob",
        "--",
        "/usr/bin/sbatch",
        "--parsable",
        "-p",
        "cpu",
        "-A",
        "tier3",
        "-t",
        str(minutes),
        f"--cpus-per-task={cpus}",
        "--chdir=/tmp",
        "--output=/dev/null",
        "--wrap",
        f"sleep {minutes * 60}",
    ).strip()
    wait_until(lambda: scontrol_job(job)["JobState"] == "RUNNING", 30, "bob's job to run")
    return job


def pending(client: HubClient, user: str = "alice") -> requests.Response:
    return client.hub_api("GET", f"sdcc-lab/pending/{user}")


def wait_pending(client: HubClient, check: Any, what: str, timeout: float = 90) -> dict[str, Any]:
    """Poll the pending API (as the page does) until ``check(answer)``."""
    seen: dict[str, Any] = {}

    def ok() -> bool:
        nonlocal seen
        r = pending(client)
        assert r.status_code == 200, r.text
        seen = r.json()
        return bool(check(seen))

    try:
        wait_until(ok, timeout, what)
    except AssertionError as e:
        raise AssertionError(f"{e}; last answer: {seen}") from None
    return seen


def first_progress_event_with_reason(client: HubClient) -> dict[str, Any]:
    stream = client.session.get(
        client.url + "hub/api/users/alice/server/progress",
        stream=True,
        timeout=60,
        headers={"X-XSRFToken": client.xsrf("/hub/")},
    )
    try:
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if "sdcc" in event or event.get("failed") or event.get("ready"):
                    return dict(event)
    finally:
        stream.close()
    raise AssertionError("the progress stream ended without a pending event")


def alices_server(client: HubClient) -> tuple[dict[str, Any], Any]:
    model = client.hub_api("GET", "users/alice").json()
    return model["servers"], model["pending"]


def spawner_state(portal: Portal, user: str) -> dict[str, Any]:
    """What the hub keeps in its database for the user's default server."""
    db = sqlite3.connect(portal.data_dir / "hub" / "jupyterhub.sqlite")
    try:
        row = db.execute(
            "SELECT spawners.state FROM spawners JOIN users ON spawners.user_id = users.id "
            "WHERE users.name = ? AND spawners.name = ''",
            (user,),
        ).fetchone()
    finally:
        db.close()
    return json.loads(row[0]) if row and row[0] else {}


def token_files(user: str) -> list[str]:
    folder = Path(pwd.getpwnam(user).pw_dir) / ".sdcc-lab" / "run"
    return sorted(os.listdir(folder)) if folder.exists() else []


def sacct_state(job: str) -> str:
    def recorded() -> bool:
        return bool(slurm("/usr/bin/sacct", "-n", "-X", "-P", "-j", job, "-o", "State").strip())

    wait_until(recorded, 30, f"accounting to record job {job}")
    return slurm("/usr/bin/sacct", "-n", "-X", "-P", "-j", job, "-o", "State").strip()


def test_a_waiting_session_says_why_and_when_and_cancel_leaves_nothing(portal: Portal) -> None:
    blocker = fill_node_as_bob(2)
    # Token files other sessions left (a killed hub cannot remove its own) are not this one's.
    before = set(token_files("alice"))
    try:
        alice = logged_in(portal, "alice")
        r = start(alice, **ALICE_CPU)
        assert r.status_code == 202, r.text
        [job] = jobs_of("alice")

        # The progress events carry the reason for the page.
        event = first_progress_event_with_reason(alice)
        assert event["sdcc"]["job_id"] == job, event
        assert event["sdcc"]["partition"] == "cpu"
        assert event["sdcc"]["reason_code"] in ("Resources", "Priority", "None"), event

        # The plain reason, then Slurm's planned start: when bob's job ends.
        answer = wait_pending(
            alice,
            lambda a: a.get("reason_code") == "Resources" and a.get("start"),
            "Slurm to plan alice's job behind bob's",
        )
        assert answer["waiting"] is True and answer["job_id"] == job
        assert answer["reason"] == (
            "The nodes are busy: your job starts as soon as enough of them are free."
        )
        bob_ends = datetime.strptime(scontrol_job(blocker)["EndTime"], "%Y-%m-%dT%H:%M:%S")
        bob_ends = bob_ends.astimezone(timezone.utc)  # scontrol prints the node's local time
        expected = datetime.fromisoformat(answer["start"])
        assert abs((expected - bob_ends).total_seconds()) <= 60, (expected, bob_ends)
        assert answer["options"]["partition"] == "cpu"

        # The page the user is on shows the portal's panel, fed by that API.
        page = alice.session.get(alice.url + "hub/spawn-pending/alice")
        assert page.status_code == 200
        assert 'id="sdcc-pending"' in page.text
        assert 'data-api="/hub/api/sdcc-lab/pending/alice"' in page.text
        assert 'id="progress-bar"' in page.text  # JupyterHub's own page, extended

        # Who may not: bob, a request without the XSRF header, no login at all.
        bob = logged_in(portal, "bob")
        assert pending(bob).status_code == 404  # JupyterHub's answer: not yours to see
        assert bob.hub_api("POST", "sdcc-lab/pending/alice/cancel").status_code == 404
        no_xsrf = alice.session.post(alice.url + "hub/api/sdcc-lab/pending/alice/cancel")
        assert no_xsrf.status_code == 403, no_xsrf.text
        anonymous = requests.get(alice.url + "hub/api/sdcc-lab/pending/alice", timeout=10)
        assert anonymous.status_code == 403
        assert jobs_of("alice") == [job]  # none of them touched her job

        # Cancel: nothing left behind, and the form is back.
        r = alice.hub_api("POST", "sdcc-lab/pending/alice/cancel", json={})
        assert r.status_code == 200, r.text
        assert r.json() == {"cancelled": job}
        # The page goes to the form at once: the hub no longer counts the spawn as pending.
        at_once = alice.session.get(alice.url + "hub/spawn/alice", allow_redirects=False)
        assert at_once.status_code == 200, at_once.headers.get("Location")
        assert 'id="sdcc-form-data"' in at_once.text
        assert jobs_of("alice") == []
        assert sacct_state(job).startswith("CANCELLED")
        assert alices_server(alice) == ({}, None)
        assert "job_id" not in json.dumps(spawner_state(portal, "alice"))
        assert not [f for f in set(token_files("alice")) - before if f.endswith(".token")]
        assert pending(alice).json() == {"waiting": False}
        again = alice.hub_api("POST", "sdcc-lab/pending/alice/cancel", json={})
        assert again.status_code == 409 and "no session waiting" in again.json()["message"]
        form = alice.session.get(alice.url + "hub/spawn")
        assert form.status_code == 200 and 'id="sdcc-form-data"' in form.text
    finally:
        subprocess.run(["/usr/bin/scancel", blocker], check=False)
        cancel_all()


def test_start_instead_starts_a_sooner_choice_and_cancels_the_first(portal: Portal) -> None:
    blocker = fill_node_as_bob(5)
    try:
        alice = logged_in(portal, "alice")
        r = start(alice, **ALICE_GPU)
        assert r.status_code == 202, r.text
        [first] = jobs_of("alice")
        wait_until(lambda: scontrol_job(first)["JobState"] == "PENDING", 10, "her job to wait")
        # An admin holds her job, and bob's ends: her other choice now starts sooner.
        slurm("/usr/bin/scontrol", "hold", first)
        subprocess.run(["/usr/bin/scancel", blocker], check=True)
        wait_until(
            lambda: not slurm("/usr/bin/squeue", "-h", "-u", "bob", "-o", "%i").split(),
            30,
            "bob's job to end",
        )

        answer = wait_pending(
            alice,
            lambda a: a.get("reason_code") == "JobHeldAdmin" and not a.get("searching"),
            "the held reason and the search for alternatives",
        )
        assert answer["reason"] == (
            "An administrator put your job on hold: it starts only once they release it."
        )
        assert answer["start"] is None
        [alternative] = answer["alternatives"]
        assert alternative["options"]["partition"] == "cpu", alternative
        assert alternative["options"]["account"] == "physics"
        estimate = alternative["estimate"]
        assert estimate["source"] == "slurm", estimate
        # The node is idle: Slurm's answer is now, or its next scheduling pass.
        if not estimate["starts_now"]:
            start_at = datetime.fromisoformat(estimate["start"])
            assert (start_at - datetime.now(timezone.utc)).total_seconds() <= 120, estimate
        assert alternative["label"].startswith("partition cpu, account physics, QOS normal")

        # Refusals change nothing: options she may not use, a body that is no object.
        bad = alice.hub_api(
            "POST",
            "sdcc-lab/pending/alice/start-instead",
            json={**alternative["options"], "account": "tier3"},
        )
        assert bad.status_code == 400
        assert bad.json()["message"] == "account: 'tier3' may not be used on partition cpu"
        assert (
            alice.hub_api("POST", "sdcc-lab/pending/alice/start-instead", json=["cpu"]).status_code
            == 400
        )
        bob = logged_in(portal, "bob")
        assert (
            bob.hub_api(
                "POST", "sdcc-lab/pending/alice/start-instead", json=alternative["options"]
            ).status_code
            == 404
        )
        assert jobs_of("alice") == [first]

        # Start instead: the alternative is submitted and runs, the first is cancelled.
        r = alice.hub_api(
            "POST", "sdcc-lab/pending/alice/start-instead", json=alternative["options"]
        )
        assert r.status_code == 200, r.text
        second = r.json()["job_id"]
        assert r.json()["cancelled"] == first and second != first
        assert sacct_state(first).startswith("CANCELLED")
        alice.wait_ready(120)
        assert jobs_of("alice") == [second]
        info = scontrol_job(second)
        assert (info["Partition"], info["Account"], info["JobState"]) == (
            "cpu",
            "physics",
            "RUNNING",
        )
        alice.open_lab()
        body = alice.server_api("GET", "sdcc-lab/api/info")
        assert body.status_code == 200, body.text
        assert body.json()["session"]["options"]["partition"] == "cpu"
        # Nothing waits any more: a second switch is refused.
        late = alice.hub_api(
            "POST", "sdcc-lab/pending/alice/start-instead", json=alternative["options"]
        )
        assert late.status_code == 409
        alice.stop_server()
        wait_until(lambda: not jobs_of("alice"), 30, "her session to end")
    finally:
        subprocess.run(["/usr/bin/scancel", blocker], check=False)
        cancel_all()


def test_nothing_waiting_and_other_names(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    assert pending(alice).json() == {"waiting": False}
    r = alice.hub_api("POST", "sdcc-lab/pending/alice/start-instead", json=ALICE_CPU)
    assert r.status_code == 409, r.text
    # A user may ask only about their own servers: an unknown name is not theirs.
    assert pending(alice, "nobody-here").status_code == 404
    assert alice.hub_api("POST", "sdcc-lab/pending/nobody-here/cancel").status_code == 404
