"""Dask on the session's allocation, on the real Slurm test cluster.

A session of alice on gpu/tier3/gpu-qos is a real Slurm job (named
``jupyter-alice``, like the hub's) running the job environment's Python
(/opt/sdcc-lab/jobenv, scripts/slurm/jobenv.sh) with ``SDCC_LAB_SESSION`` set.
Inside it, a small program calls ``sdcc_lab.dask.cluster()`` and writes what
it saw to a JSON file; the tests read that file and ask Slurm themselves.

The test node offers 4 CPUs (scripts/slurm/cluster.sh), so the session and
two one-core worker jobs run at once: ``scale(2)`` gives two worker jobs that
both connect and compute. A second cluster shows two worker processes in one
job (``processes=2, cores=2, job_cpu=1``).

The workers API is tested on a real ``jupyter server`` running as alice's
session job, with worker-named jobs of alice (and a same-named job of bob).
CI starts the cluster before the tests: if it does not answer, these fail.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sdcc_lab.netutil import free_port

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

JOBENV = Path("/opt/sdcc-lab/jobenv")
SESSION = {
    "scheduler": "slurm",
    "options": {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": 20},
}
SESSION_ARGS = ["-p", "gpu", "-A", "tier3", "-q", "gpu-qos", "-t", "20"]


def run(*argv: str, check: bool = True) -> str:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30).stdout


def as_user(user: str, *argv: str) -> list[str]:
    """argv run as ``user`` with a clean environment (root's never reaches the job)."""
    return [
        "runuser",
        "-u",
        user,
        "--",
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        f"HOME=/home/{user}",
        f"USER={user}",
        f"LOGNAME={user}",
        *argv,
    ]


def sbatch(user: str, *args: str) -> str:
    out = subprocess.run(
        as_user(user, "/usr/bin/sbatch", "--parsable", *args),
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    ).stdout
    return out.strip().split(";")[0]


def queue(user: str) -> dict[str, dict[str, str]]:
    """The user's jobs still queued or running: id -> name, state, partition, account, qos."""
    out = run(
        "/usr/bin/squeue", "-h", "-u", user, "-t", "PD,R,CG,S,CF", "-o", "%i|%j|%T|%P|%a|%q|%r"
    )
    jobs = {}
    for line in out.splitlines():
        jid, name, state, part, account, qos, reason = line.split("|")
        jobs[jid] = {
            "name": name,
            "state": state,
            "partition": part,
            "account": account,
            "qos": qos,
            "reason": reason,
        }
    return jobs


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def cancel_named(prefix: str) -> None:
    """Cancel every job of alice and bob whose name starts with ``prefix`` (teardown)."""
    for user in ("alice", "bob"):
        for jid, job in queue(user).items():
            if job["name"].startswith(prefix):
                subprocess.run(["/usr/bin/scancel", jid], check=False)


@pytest.fixture(scope="module")
def cluster_ready() -> None:
    try:
        run("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    probe = subprocess.run(
        [str(JOBENV / "bin" / "python"), "-c", "import dask_jobqueue, sdcc_lab.dask"],
        check=False,
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.fail(f"the job environment lacks dask (run scripts/slurm/jobenv.sh): {probe.stderr}")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder alice reads and writes (programs, results, logs)."""
    path = Path(tempfile.mkdtemp(prefix="sdcc-dask-"))
    path.chmod(0o755)
    shutil.chown(path, "alice", "alice")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def session_script(folder: Path, name: str, command: str) -> Path:
    """A batch script that runs ``command`` with the session identity set."""
    script = folder / f"{name}.sh"
    script.write_text(
        "#!/bin/bash\n"
        f"export SDCC_LAB_SESSION={shlex.quote(json.dumps(SESSION))}\n"
        f"cd {shlex.quote(str(folder))}\n"
        f"exec {command}\n"
    )
    script.chmod(0o755)
    return script


# --------------------------------------------------------------------------- cluster() in a session

PROGRAM = r'''
"""Runs inside alice's session job: cluster(), scale(2), a sum, then a wrong account."""
import json, os, subprocess, sys, time, traceback

from dask.distributed import Client
from sdcc_lab.dask import DaskSessionError, cluster, worker_job_name
from sdcc_lab.scheduler.slurm import parse_squeue_json

out = {"session_job": os.environ["SLURM_JOB_ID"], "home": os.path.expanduser("~")}
name = worker_job_name("alice", os.environ["SLURM_JOB_ID"])


def worker_jobs():
    data = json.loads(subprocess.run(["squeue", "--json", "--user", "alice"], check=True,
                                     capture_output=True, text=True).stdout)
    return [
        {"id": j.job_id, "name": j.name, "state": j.state, "reason": j.reason,
         "partition": j.partition, "account": j.account, "qos": j.qos,
         "time_limit": j.time_limit_seconds, "cpus": j.num_cpus}
        for j in parse_squeue_json(data)
        if j.name == name and j.state in ("PENDING", "RUNNING")
    ]


def save():
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)


try:
    c = cluster()
    out["job_script"] = c.job_script()
    out["scheduler_address"] = c.scheduler_address
    out["dashboard_link"] = c.dashboard_link
    client = Client(c)
    c.scale(2)
    t0 = time.monotonic()
    deadline = t0 + 150
    while time.monotonic() < deadline and len(worker_jobs()) < 2:
        time.sleep(0.2)
    client.wait_for_workers(2, timeout=max(deadline - time.monotonic(), 1))
    out["two_worker_jobs_seconds"] = time.monotonic() - t0
    out["jobs"] = worker_jobs()
    info = client.scheduler_info()
    out["worker_addresses"] = sorted(info["workers"])
    out["sum"] = client.submit(sum, range(1000)).result(timeout=60)
    client.close()
    c.close()
    t1 = time.monotonic()
    while time.monotonic() < t1 + 30 and worker_jobs():
        time.sleep(0.3)
    out["jobs_after_close"] = worker_jobs()
    out["close_seconds"] = time.monotonic() - t1

    # Two worker processes in one one-core job.
    c = cluster(cores=2, processes=2, job_cpu=1)
    client = Client(c)
    t0 = time.monotonic()
    c.scale(2)
    client.wait_for_workers(2, timeout=150)
    out["two_workers_seconds"] = time.monotonic() - t0
    out["two_workers_jobs"] = worker_jobs()
    out["two_workers_sum"] = sum(client.gather(client.map(lambda x: x * x, range(100))))
    client.close()
    c.close()

    # An account alice lacks on gpu: refused at once, nothing submitted.
    t0 = time.monotonic()
    try:
        cluster(account="physics")
        out["wrong_account_error"] = None
    except DaskSessionError as e:
        out["wrong_account_error"] = str(e)
    out["wrong_account_seconds"] = time.monotonic() - t0
    out["jobs_after_wrong_account"] = worker_jobs()
except Exception:
    out["crash"] = traceback.format_exc()
save()
'''


@pytest.fixture(scope="module")
def session_run(cluster_ready: None, folder: Path) -> Iterator[dict[str, Any]]:
    """Run PROGRAM as alice's gpu session job; its results (the job has ended)."""
    program = folder / "session_program.py"
    program.write_text(PROGRAM)
    program.chmod(0o644)
    results = folder / "results.json"
    script = session_script(folder, "session", f"{JOBENV}/bin/python {program} {results}")
    job = sbatch(
        "alice",
        "-J",
        "jupyter-alice",
        *SESSION_ARGS,
        "-o",
        str(folder / "session-%j.log"),
        str(script),
    )
    try:
        wait_until(lambda: job not in queue("alice"), 420, f"session job {job} to end")
        log = "".join(p.read_text(errors="replace") for p in folder.glob("session-*.log"))
        assert results.exists(), f"the session program wrote no results; its log:\n{log[-4000:]}"
        data = json.loads(results.read_text())
        assert "crash" not in data, f"{data['crash']}\nlog:\n{log[-3000:]}"
        data["job"] = job
        print(json.dumps({k: v for k, v in data.items() if k != "job_script"}, indent=1))
        yield data
    finally:
        subprocess.run(["/usr/bin/scancel", job], check=False)
        cancel_named(f"dask-alice-{job}")


def test_worker_jobs_carry_the_sessions_partition_account_qos_and_name(
    session_run: dict[str, Any],
) -> None:
    jobs = session_run["jobs"]
    assert len(jobs) == 2, jobs  # scale(2): two one-worker jobs
    for job in jobs:
        assert (job["partition"], job["account"], job["qos"]) == ("gpu", "tier3", "gpu-qos")
        assert job["name"] == f"dask-alice-{session_run['job']}"
        assert job["cpus"] == 1
        # No longer than the session: 20 min, of which some is spent already.
        assert 0 < job["time_limit"] <= 19 * 60
    assert sorted(j["state"] for j in jobs) == ["RUNNING", "RUNNING"], jobs


def test_a_worker_connects_and_computes(session_run: dict[str, Any]) -> None:
    assert session_run["sum"] == sum(range(1000))
    assert len(session_run["worker_addresses"]) == 2  # both worker jobs connected
    assert all(a.startswith("tls://127.0.0.1:") for a in session_run["worker_addresses"])


def test_two_workers_connect_after_scale_2(session_run: dict[str, Any]) -> None:
    assert session_run["two_workers_sum"] == sum(x * x for x in range(100))
    [job] = session_run["two_workers_jobs"]  # processes=2: two workers, one job
    assert (job["partition"], job["account"], job["qos"], job["cpus"]) == (
        "gpu",
        "tier3",
        "gpu-qos",
        1,
    )


def test_addresses_are_on_the_node_interface_and_dashboards_not_fixed(
    session_run: dict[str, Any],
) -> None:
    assert session_run["scheduler_address"].startswith(
        "tls://127.0.0.1:"
    )  # TLS: tests/security/test_dask_tls.py
    link = session_run["dashboard_link"]
    assert link.startswith("http://127.0.0.1:") and ":8787/" not in link
    script = session_run["job_script"]
    assert "--interface lo" in script
    assert "--dashboard-address 127.0.0.1:0" in script
    assert "--protocol tls://" in script
    assert f"{JOBENV}/bin/python -m distributed.cli.dask_worker" in script
    assert "0.0.0.0" not in script


def test_job_logs_go_to_the_users_home(session_run: dict[str, Any]) -> None:
    logs = Path("/home/alice/.sdcc-lab/logs/dask")
    assert f"#SBATCH -o {logs}/dask-alice-{session_run['job']}-%J.out" in session_run["job_script"]
    assert logs.is_dir() and logs.stat().st_uid == 1001
    assert list(logs.glob(f"dask-alice-{session_run['job']}-*.err")), "no worker log written"


def test_closing_the_cluster_leaves_no_job(session_run: dict[str, Any]) -> None:
    assert session_run["jobs_after_close"] == []
    assert session_run["close_seconds"] < 30


def test_an_account_alice_lacks_fails_at_once_naming_it(session_run: dict[str, Any]) -> None:
    error = session_run["wrong_account_error"]
    assert error is not None, "cluster(account='physics') did not fail"
    assert "account physics" in error and "partition gpu" in error
    assert "Invalid account" in error  # Slurm's own message
    assert "No job was submitted" in error
    assert session_run["wrong_account_seconds"] < 10
    assert session_run["jobs_after_wrong_account"] == []
    assert not any(
        j["name"].startswith(f"dask-alice-{session_run['job']}") for j in queue("alice").values()
    )


# --------------------------------------------------------------------------- the workers API


class JobServer:
    def __init__(self, job: str, url: str, token: str, log: Path) -> None:
        self.job, self.url, self.token, self.log_path = job, url, token, log

    def api(self, method: str, path: str = "") -> requests.Response:
        return requests.request(
            method,
            f"{self.url}sdcc-lab/api/workers{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def job_server(cluster_ready: None, folder: Path) -> Iterator[JobServer]:
    """``jupyter server`` as alice's gpu session job, on a free loopback port."""
    port, token = free_port(), secrets.token_hex(16)
    log = folder / "server.log"
    command = (
        f"{JOBENV}/bin/jupyter server --no-browser --ip=127.0.0.1 --port={port} "
        f"--ServerApp.token={token} --ServerApp.root_dir={folder} > {log} 2>&1"
    )
    script = session_script(folder, "server", f"/bin/bash -c {shlex.quote(command)}")
    job = sbatch(
        "alice",
        "-J",
        "jupyter-alice",
        *SESSION_ARGS,
        "-o",
        str(folder / "server-%j.log"),
        str(script),
    )
    server = JobServer(job, f"http://127.0.0.1:{port}/", token, log)

    def up() -> bool:
        try:
            return requests.get(f"{server.url}api/status", params={"token": token}, timeout=2).ok
        except requests.RequestException:
            return False

    try:
        wait_until(up, 120, f"jupyter server of job {job}: {server.log()}")
        yield server
    finally:
        subprocess.run(["/usr/bin/scancel", job], check=False)
        cancel_named(f"dask-alice-{job}")


def test_workers_api_lists_and_cancels_only_this_sessions_workers(job_server: JobServer) -> None:
    name = f"dask-alice-{job_server.job}"
    sleeper = ["-t", "5", "-o", "/dev/null", "--wrap", "sleep 600"]
    mine = [
        sbatch("alice", "-J", name, "-p", "gpu", "-A", "tier3", "-q", "gpu-qos", *sleeper)
        for _ in range(2)
    ]
    other = sbatch(
        "alice", "-J", "not-a-worker", "-p", "gpu", "-A", "tier3", "-q", "gpu-qos", *sleeper
    )
    bobs = sbatch("bob", "-J", name, "-p", "cpu", "-A", "tier3", *sleeper)
    try:
        r = job_server.api("GET")
        assert r.status_code == 200, r.text
        workers = r.json()["workers"]
        assert sorted(w["id"] for w in workers) == sorted(mine), (workers, job_server.log())
        for w in workers:
            assert w["name"] == name and w["partition"] == "gpu" and w["cpus"] == 1
            assert w["state"] in ("RUNNING", "PENDING") and w["memory_bytes"] > 0
            assert w["gpus"] == 0

        # Not one of this session's workers: 404, and nothing is cancelled.
        for jid in (job_server.job, other, bobs, "999999"):
            r = job_server.api("DELETE", f"/{jid}")
            assert r.status_code == 404, (jid, r.text)
            assert "message" in r.json()
        for bad in ("abc", "12;ls", "-1"):
            r = job_server.api("DELETE", f"/{bad}")
            assert r.status_code == 400, (bad, r.text)
            assert "message" in r.json()
        assert job_server.job in queue("alice") and other in queue("alice")
        assert bobs in queue("bob")

        r = job_server.api("DELETE", f"/{mine[0]}")
        assert r.status_code == 204, r.text
        wait_until(lambda: mine[0] not in queue("alice"), 20, f"job {mine[0]} to be cancelled")
        state = run("/usr/bin/sacct", "-n", "-X", "-P", "-j", mine[0], "-o", "State").strip()
        assert state.startswith("CANCELLED"), state
        assert [w["id"] for w in job_server.api("GET").json()["workers"]] == [mine[1]]

        r = job_server.api("DELETE")
        assert r.status_code == 204, r.text
        wait_until(lambda: mine[1] not in queue("alice"), 20, f"job {mine[1]} to be cancelled")
        assert job_server.api("GET").json() == {"workers": []}
        # The session, alice's other job and bob's job are untouched.
        assert job_server.job in queue("alice") and other in queue("alice")
        assert bobs in queue("bob")
    finally:
        for jid in (*mine, other, bobs):
            subprocess.run(["/usr/bin/scancel", jid], check=False)
