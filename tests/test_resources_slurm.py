"""The resources endpoint of a single-user server running as a real Slurm job.

A server is started as a job of alice on the test cluster (scripts/slurm/
cluster.sh), from the job environment /opt/sdcc-lab/jobenv (scripts/slurm/
jobenv.sh installs this repository there). Its ``scontrol`` is a wrapper that
counts its calls, and its re-check period is 5 s. CI starts the cluster
before the tests: if it does not answer, these tests fail rather than skip.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sdcc_lab.netutil import free_port
from sdcc_lab.scheduler.slurm import parse_scontrol_job

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

JOBENV = Path("/opt/sdcc-lab/jobenv")
RECHECK = 5.0


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30).stdout


@dataclass
class JobServer:
    job_id: str
    url: str
    token: str
    calls_file: Path
    folder: Path

    def get(self) -> dict[str, Any]:
        r = requests.get(
            f"{self.url}sdcc-lab/api/resources",
            headers={"Authorization": f"token {self.token}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def calls(self) -> int:
        return len(self.calls_file.read_text().splitlines())

    def log(self) -> str:
        p = self.folder / "server.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else "(no log)"


@pytest.fixture(scope="module")
def job_server() -> Iterator[JobServer]:
    try:
        run("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    if not (JOBENV / "bin" / "jupyter").exists():
        pytest.fail("no job environment: run scripts/slurm/jobenv.sh")
    folder = Path(tempfile.mkdtemp(prefix="sdcc-res-slurm-"))
    folder.chmod(0o777)  # alice writes the log and the call counter here
    calls = folder / "calls"
    calls.touch()
    calls.chmod(0o666)
    wrapper = folder / "scontrol"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec /usr/bin/scontrol "$@"\n')
    wrapper.chmod(0o755)
    port, token = free_port(), secrets.token_hex(16)
    session = json.dumps(
        {
            "scheduler": "slurm",
            "options": {
                "partition": "gpu",
                "account": "tier3",
                "qos": "gpu-qos",
                "environment": "jobenv",
            },
        }
    )
    script = folder / "job.sh"
    script.write_text(
        f"""#!/bin/bash
export PATH={JOBENV}/bin:/usr/bin:/bin
export SDCC_LAB_SESSION='{session}'
cd /home/alice
exec {JOBENV}/bin/jupyter server --ServerApp.ip=127.0.0.1 --ServerApp.port={port} \\
  --IdentityProvider.token={token} --ServerApp.root_dir=/home/alice --ServerApp.open_browser=False \\
  --ResourcesCollector.scontrol_command={wrapper} --ResourcesCollector.recheck_interval={RECHECK}
"""
    )
    script.chmod(0o755)
    job_id = (
        run(
            "runuser",
            "-u",
            "alice",
            "--",
            "/usr/bin/sbatch",
            "--parsable",
            "-p",
            "gpu",
            "-A",
            "tier3",
            "-q",
            "gpu-qos",
            "--gres=gpu:1",
            "-c",
            "1",
            "--mem=1G",
            "-t",
            "10",
            "-J",
            "sdcc-res-test",
            "-o",
            str(folder / "server.log"),
            str(script),
        )
        .strip()
        .split(";")[0]
    )
    server = JobServer(job_id, f"http://127.0.0.1:{port}/", token, calls, folder)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(
                    f"{server.url}api/status",
                    headers={"Authorization": f"token {token}"},
                    timeout=2,
                ).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                state = subprocess.run(
                    ["/usr/bin/scontrol", "show", "job", job_id],
                    check=False,
                    capture_output=True,
                    text=True,
                ).stdout
                pytest.fail(f"the job's server did not come up:\n{state}\n{server.log()}")
            time.sleep(0.5)
        yield server
    finally:
        subprocess.run(["/usr/bin/scancel", job_id], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def scontrol(job_id: str) -> Any:
    return parse_scontrol_job(
        subprocess.run(
            ["/usr/bin/scontrol", "show", "job", "-o", job_id],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "SLURM_TIME_FORMAT": "standard"},
        ).stdout
    )


def test_the_job_sees_its_limits(job_server: JobServer) -> None:
    data = job_server.get()
    job = scontrol(job_server.job_id)
    assert data["problems"] == [], data
    assert data["scheduler"] == "slurm"
    assert data["job"]["id"] == job_server.job_id == job.job_id
    assert (data["job"]["partition"], data["job"]["account"], data["job"]["qos"]) == (
        "gpu",
        "tier3",
        "gpu-qos",
    )
    assert data["job"]["nodes"] == job.nodes
    assert data["job"]["environment"] == "jobenv"
    assert data["allocation"]["cpus"] == job.num_cpus
    assert data["allocation"]["memory_bytes"] == job.memory_bytes == 1 << 30
    assert data["allocation"]["gpus"] == 1
    assert data["time"]["limit_seconds"] == job.time_limit_seconds == 600
    end = datetime.fromisoformat(data["time"]["end"].replace("Z", "+00:00"))
    assert abs((end - job.end_time).total_seconds()) <= 1
    assert 0 < data["time"]["remaining_seconds"] <= 600
    # the job's jupyter server, a Python process: tens of MB resident, and less than the job's 1 GiB
    assert 20 << 20 < data["usage"]["memory_bytes"] < 1 << 30
    assert data["usage"]["measured_from"] == "processes"


def test_extended_time_limit_shows_within_the_recheck_period(job_server: JobServer) -> None:
    before = job_server.get()["time"]
    run("/usr/bin/scontrol", "update", f"JobId={job_server.job_id}", "TimeLimit=20")
    t0 = time.monotonic()
    while True:
        now = job_server.get()["time"]
        if now["limit_seconds"] == 1200:
            break
        assert time.monotonic() - t0 < RECHECK + 3, f"the new limit did not show: {now}"
        time.sleep(0.25)
    old_end = datetime.fromisoformat(before["end"].replace("Z", "+00:00"))
    new_end = datetime.fromisoformat(now["end"].replace("Z", "+00:00"))
    assert abs((new_end - old_end).total_seconds() - 600) <= 1
    assert abs((new_end - scontrol(job_server.job_id).end_time).total_seconds()) <= 1


def test_scheduler_calls_stay_at_start_plus_rechecks(job_server: JobServer) -> None:
    start_calls = job_server.calls()
    t0 = time.monotonic()
    polls = 0
    while time.monotonic() - t0 < 3 * RECHECK:  # three tabs polling every 0.3 s
        for _ in range(3):
            data = job_server.get()
            polls += 1
        time.sleep(0.3)
    elapsed = time.monotonic() - t0
    made = job_server.calls() - start_calls
    assert polls > 60
    assert made <= elapsed / RECHECK + 1, (
        f"{made} scheduler calls for {polls} polls in {elapsed:.0f} s"
    )
    assert made >= 2  # the re-check does run
    assert data["scheduler_checked_at"] is not None
    assert all(
        line.split() == ["show", "job", "-o", job_server.job_id]
        for line in job_server.calls_file.read_text().splitlines()
    )
