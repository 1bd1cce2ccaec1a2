"""Batch placement on the real Slurm test cluster (scripts/slurm/cluster.sh).

A real ``sdcc-lab demo`` portal (JupyterHub, proxy, the SDCC form spawner)
submits single-user servers as Slurm jobs of the system users alice and bob.
CI starts the cluster before the tests: if it does not answer, these tests
fail rather than skip.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient

pytestmark = [pytest.mark.hub, pytest.mark.slurm, pytest.mark.slow]

EXTRA_CONFIG = """
c.SlurmSessionSpawner.pending_timeout = 20
c.SlurmSessionSpawner.status_interval = 1
c.JupyterHub.cleanup_servers = False
"""


def slurm(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


def jobs_of(user: str) -> list[str]:
    """The user's portal sessions in the queue (jobs named jupyter-USER)."""
    return slurm("/usr/bin/squeue", "-h", "-u", user, "-n", f"jupyter-{user}", "-o", "%i").split()


def scontrol_job(job_id: str) -> dict[str, str]:
    line = slurm("/usr/bin/scontrol", "show", "job", "-o", job_id)
    return dict(re.findall(r"(\w+)=(\S*)", line))


def wait_until(check: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cluster() -> None:
    try:
        slurm("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    for user in ("alice", "bob"):
        for job in jobs_of(user):
            subprocess.run(["/usr/bin/scancel", job], check=False)


@pytest.fixture(scope="module")
def slurm_portal(cluster: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    folder = tmp_path_factory.mktemp("slurm-portal")
    extra = folder / "extra_config.py"
    extra.write_text(EXTRA_CONFIG)
    portal = _start_portal(folder / "data", args=("--config", str(extra)))
    portal.extra["config"] = str(extra)
    assert "Sessions can run as Slurm jobs" in portal.log(), portal.log()[-2000:]
    yield portal
    portal.stop()
    for user in ("alice", "bob"):
        for job in jobs_of(user):
            subprocess.run(["/usr/bin/scancel", job], check=False)


def logged_in(portal: Portal, user: str) -> HubClient:
    client = HubClient(portal.url, user)
    client.login()
    return client


def form_data(client: HubClient) -> dict[str, Any]:
    page = client.session.get(client.url + "hub/spawn")
    assert page.status_code == 200, page.text[:500]
    match = re.search(
        r'<script type="application/json" id="sdcc-form-data">(.*?)</script>', page.text, re.S
    )
    assert match, "the spawn page has no sdcc_lab form"
    return json.loads(match.group(1))


def choices(data: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {
        (p["name"], a["name"]): {q["name"] for q in a["qos"]}
        for p in data["partitions"]
        for a in p["accounts"]
    }


def test_alices_form_offers_exactly_what_her_associations_allow(slurm_portal: Portal) -> None:
    data = form_data(logged_in(slurm_portal, "alice"))
    assert choices(data) == {("cpu", "physics"): {"normal"}, ("gpu", "tier3"): {"gpu-qos"}}
    gpu = next(p for p in data["partitions"] if p["name"] == "gpu")
    qos = gpu["accounts"][0]["qos"][0]
    assert (qos["max_minutes"], qos["limited_by"]) == (60, "QOS gpu-qos")
    assert data["default_account"] == "physics"


def test_bobs_form_never_shows_the_gpu_partition(slurm_portal: Portal) -> None:
    client = logged_in(slurm_portal, "bob")
    data = form_data(client)
    assert choices(data) == {("cpu", "tier3"): {"normal"}}
    page = client.session.get(client.url + "hub/spawn").text
    assert '<option value="gpu"' not in page


def start(client: HubClient, **options: Any) -> requests.Response:
    return client.hub_api("POST", f"users/{client.username}/server", json=options)


def test_alice_runs_on_gpu_and_stop_cancels_the_job(slurm_portal: Portal) -> None:
    alice = logged_in(slurm_portal, "alice")
    r = start(alice, partition="gpu", account="tier3", qos="gpu-qos", gpu="any", runtime=30)
    assert r.status_code in (201, 202), r.text
    alice.wait_ready(120)
    [job] = jobs_of("alice")
    info = scontrol_job(job)
    assert (info["Partition"], info["Account"], info["QOS"], info["TimeLimit"]) == (
        "gpu",
        "tier3",
        "gpu-qos",
        "00:30:00",
    )
    assert info["JobName"] == "jupyter-alice"
    assert info["Requeue"] == "0"  # a failed node ends the session; it is not restarted
    assert "gpu" in info.get("TresPerNode", info.get("TRES", ""))

    alice.open_lab()
    body = alice.server_api("GET", "sdcc-lab/api/info").json()
    assert body["user"] == "alice"
    assert body["session"]["scheduler"] == "slurm"
    assert body["session"]["options"]["partition"] == "gpu"

    alice.stop_server()
    wait_until(lambda: job not in jobs_of("alice"), 30, f"job {job} to leave the queue")
    state = slurm("/usr/bin/sacct", "-n", "-X", "-P", "-j", job, "-o", "State").strip()
    assert state.startswith("CANCELLED"), state

    # Her last valid choice is pre-selected next time.
    form = alice.session.get(alice.url + "hub/spawn").text
    assert '<option value="gpu" selected>' in form
    assert '<option value="gpu-qos" selected>' in form
    assert 'name="runtime" id="sdcc-runtime" min="1" step="1"\n               value="30"' in form


def next_job_id() -> int:
    """The id Slurm gives the next job submitted (slurmctld's counter).

    Unchanged after the hub's answer means no job was submitted: slurmctld counts
    a job when it accepts it, before any answer (accounting, by contrast, records
    jobs later). The tests hold /tmp/sdcc-slurm.lock, so no one else submits.
    """
    match = re.search(r"NEXT_JOB_ID\s*=\s*(\d+)", slurm("/usr/bin/scontrol", "show", "config"))
    assert match, "scontrol show config has no NEXT_JOB_ID"
    return int(match.group(1))


@pytest.mark.parametrize(
    ("user", "options", "field"),
    [
        (
            "alice",
            {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": 90},
            "runtime",
        ),
        (
            "bob",
            {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": 10},
            "partition",
        ),
        ("alice", {"partition": "gpu\n#SBATCH --uid=0"}, "partition"),
        ("alice", {"account": "physics; touch /tmp/sdcc-pwned"}, "account"),
        ("alice", {"account": "$(touch /tmp/sdcc-pwned)"}, "account"),
        ("alice", {"qos": "`touch /tmp/sdcc-pwned`"}, "qos"),
        ("alice", {"cmd": ["/bin/touch", "/tmp/sdcc-pwned"]}, "cmd"),
        ("alice", {"prologue": "touch /tmp/sdcc-pwned"}, "prologue"),
        ("alice", {"environment": "default\ntouch /tmp/sdcc-pwned"}, "environment"),
    ],
)
def test_refused_options_name_the_field_and_submit_nothing(
    slurm_portal: Portal, user: str, options: dict[str, Any], field: str
) -> None:
    client = logged_in(slurm_portal, user)
    first_id = next_job_id()
    r = start(client, **options)
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(f"{field}: ")
    # The refusal is the hub's answer: by then anything it would submit was submitted.
    assert next_job_id() == first_id
    assert jobs_of(user) == []
    assert not Path("/tmp/sdcc-pwned").exists()
    assert client.hub_api("GET", f"users/{user}").json()["servers"] == {}


def test_the_form_shows_slurms_refusal_and_the_choices(slurm_portal: Portal) -> None:
    alice = logged_in(slurm_portal, "alice")
    first_id = next_job_id()
    r = alice.session.post(
        alice.url + "hub/spawn",
        data={
            "local": "false",
            "partition": "gpu",
            "account": "tier3",
            "qos": "gpu-qos",
            "gpu": "none",
            "runtime": "90",
            "environment": "default",
            "_xsrf": alice.xsrf("/hub/"),
        },
    )
    assert r.status_code == 400
    assert "runtime: 90 min is over the 60 min limit of QOS gpu-qos" in r.text
    assert 'id="sdcc-spawn-form"' in r.text  # back on the form
    assert '<option value="gpu" selected>' in r.text  # with her choices
    assert next_job_id() == first_id
    assert jobs_of("alice") == []


def test_when_slurm_refuses_the_form_comes_back_with_slurms_message(
    cluster: None, start_demo: Callable[..., Portal], tmp_path: Path
) -> None:
    # A site setting Slurm cannot satisfy: the refusal comes from sbatch itself.
    config = tmp_path / "huge_memory.py"
    config.write_text('c.SlurmSessionSpawner.extra_sbatch_args = ["--mem=99999G"]\n')
    portal = start_demo(args=("--config", str(config)))
    alice = logged_in(portal, "alice")
    r = alice.session.post(
        alice.url + "hub/spawn",
        data={
            "local": "false",
            "partition": "cpu",
            "account": "physics",
            "qos": "normal",
            "gpu": "none",
            "runtime": "10",
            "environment": "default",
            "_xsrf": alice.xsrf("/hub/"),
        },
    )
    assert r.status_code == 400, r.text[:300]
    page = html.unescape(r.text)
    assert "Slurm refused the job: sbatch: error:" in page
    assert 'id="sdcc-spawn-form"' in page  # back on the form
    assert '<option value="cpu" selected>' in page  # with her choices
    assert jobs_of("alice") == []


def test_a_port_report_can_set_nothing_but_a_port(slurm_portal: Portal) -> None:
    alice = logged_in(slurm_portal, "alice")
    token = alice.hub_api("POST", "users/alice/tokens", json={"note": "t"}).json()["token"]
    url = slurm_portal.url + "hub/api/sdcc-lab/port"
    headers = {"Authorization": f"token {token}"}
    for body in (
        {"port": 8888, "batch_cancel_cmd": "touch /tmp/sdcc-pwned"},
        {"exec_prefix": ["/bin/sh", "-c", "touch /tmp/sdcc-pwned"]},
        {"port": "8888; touch /tmp/sdcc-pwned"},
        {"port": True},
        {"port": 70000},
        ["port", 8888],
    ):
        r = requests.post(url, json=body, headers=headers)
        assert r.status_code == 400, (body, r.text)
    # A well-formed report from a token that belongs to no starting session.
    r = requests.post(url, json={"port": 8888}, headers=headers)
    assert r.status_code == 403
    assert requests.post(url, json={"port": 8888}).status_code == 403
    # batchspawner's attribute-setting endpoint does not exist here.
    assert (
        requests.post(
            slurm_portal.url + "hub/api/batchspawner", json={}, headers=headers
        ).status_code
        == 404
    )
    assert not Path("/tmp/sdcc-pwned").exists()


def test_a_pending_job_times_out_with_its_reason_and_is_cancelled(slurm_portal: Portal) -> None:
    # bob fills the node, so alice's job waits for resources.
    cpus = slurm("/usr/bin/sinfo", "-h", "-o", "%c").split()[0]
    blocker = (
        slurm(
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
            "5",
            f"--cpus-per-task={cpus}",
            "--chdir=/tmp",
            "--output=/dev/null",
            "--wrap",
            "sleep 300",
        )
        .strip()
        .split(";")[0]
    )
    try:
        wait_until(lambda: scontrol_job(blocker)["JobState"] == "RUNNING", 30, "the blocker job")
        alice = logged_in(slurm_portal, "alice")
        r = start(alice, partition="cpu", account="physics", qos="normal", runtime=10)
        assert r.status_code == 202, r.text
        [job] = jobs_of("alice")
        # The progress stream says why the job waits.
        progress = alice.session.get(
            alice.url + "hub/api/users/alice/server/progress",
            stream=True,
            timeout=60,
            headers={"X-XSRFToken": alice.xsrf("/hub/")},
        )
        messages = []
        for line in progress.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                event = json.loads(line[5:])
                messages.append(event.get("message", ""))
                if event.get("failed") or event.get("ready"):
                    break
        progress.close()
        assert any(
            m.startswith(f"Pending: Resources, job {job} on partition cpu")
            or m.startswith(f"Pending: Priority, job {job}")
            for m in messages
        ), messages
        failure = messages[-1]
        assert f"Job {job} was still pending after 20 s" in failure, messages
        wait_until(lambda: job not in jobs_of("alice"), 30, "the pending job to be cancelled")
    finally:
        subprocess.run(["/usr/bin/scancel", blocker], check=False)
        wait_until(
            lambda: blocker not in slurm("/usr/bin/squeue", "-h", "-o", "%i").split(),
            30,
            "the blocker to end",
        )


def test_a_job_that_dies_before_its_server_ends_the_spawn_with_its_reason(
    cluster: None, start_demo: Callable[..., Portal], tmp_path: Path
) -> None:
    config = tmp_path / "broken_server.py"
    config.write_text(
        'c.SlurmSessionSpawner.cmd = ["/bin/false"]\nc.SlurmSessionSpawner.status_interval = 1\n'
    )
    portal = start_demo(args=("--config", str(config)))
    alice = logged_in(portal, "alice")
    r = start(alice, partition="cpu", account="physics", qos="normal", runtime=5)

    def spawn_over() -> bool:
        model = alice.hub_api("GET", "users/alice").json()
        return not model["servers"] and model["pending"] is None

    # The hub did not hang on the dead job: the spawn ends (within its timeouts, not ours).
    wait_until(spawn_over, 60, "the spawn of the dead job to end")
    # The reason is what the spawn reports: the REST answer or the progress stream.
    text = r.text
    if r.status_code == 202:
        events = alice.session.get(
            alice.url + "hub/api/users/alice/server/progress",
            headers={"X-XSRFToken": alice.xsrf("/hub/")},
            timeout=30,
        ).text
        text += events
    assert "ended before JupyterLab started" in text, text
    assert jobs_of("alice") == []


def test_a_restarted_hub_reconnects_and_stop_still_cancels(slurm_portal: Portal) -> None:
    alice = logged_in(slurm_portal, "alice")
    r = start(alice, partition="cpu", account="physics", qos="normal", runtime=20)
    assert r.status_code in (201, 202), r.text
    alice.wait_ready(120)
    [job] = jobs_of("alice")

    # The hub dies (the demo around it cleans up the proxy); the job lives on.
    hub = next(
        p
        for p in psutil.Process(slurm_portal.process.pid).children()
        if "jupyterhub" in " ".join(p.cmdline())
    )
    hub.send_signal(signal.SIGKILL)
    slurm_portal.process.wait(timeout=60)
    assert jobs_of("alice") == [job]

    port = int(slurm_portal.url.rsplit(":", 1)[1].strip("/"))
    restarted = _start_portal(
        slurm_portal.data_dir, args=("--config", slurm_portal.extra["config"]), port=port
    )
    slurm_portal.process = restarted.process  # the module fixture stops this one
    alice = logged_in(slurm_portal, "alice")
    server = alice.hub_api("GET", "users/alice").json()["servers"][""]
    assert server["ready"], server
    alice.open_lab()
    assert alice.server_api("GET", "sdcc-lab/api/info").json()["session"]["scheduler"] == "slurm"

    alice.stop_server()
    wait_until(lambda: job not in jobs_of("alice"), 30, f"job {job} to be cancelled")


def test_without_the_controller_the_form_still_offers_local_sessions(
    cluster: None, start_demo: Callable[..., Portal]
) -> None:
    pid = int(Path("/run/slurm/slurmctld.pid").read_text())
    try:
        portal = start_demo()
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not psutil.pid_exists(pid), 30, "slurmctld to stop")
        alice = logged_in(portal, "alice")
        page = alice.session.get(alice.url + "hub/spawn", timeout=60)
        assert page.status_code == 200
        assert "not answering right now" in page.text
        assert "Run locally on the hub's node" in page.text
        assert '<option value="gpu"' not in page.text
        r = start(alice, local=True)
        assert r.status_code in (201, 202), r.text
        alice.wait_ready(60)
    finally:
        subprocess.run(
            ["bash", str(Path(__file__).parents[1] / "scripts/slurm/cluster.sh"), "up"],
            check=True,
            capture_output=True,
            timeout=300,
        )
