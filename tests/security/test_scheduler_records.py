"""The server's API token is in none of the scheduler's records.

A Slurm session's server authenticates to the hub with its own API token. The
scheduler keeps what a job was submitted with: slurmctld writes the job's
environment and script into its state directory (StateSaveLocation), and
``scontrol show job -dd`` / ``scontrol write batch_script`` show them; in
HTCondor every user can read each job ad's ``Environment``
(``condor_q -allusers -af Environment``). The token must reach the job only
through a file that only the user can read, removed when the session ends.

The Slurm part runs on the real test cluster (scripts/slurm/cluster.sh) with a
real ``sdcc-lab demo`` portal; the token is the one the running server uses:
``JUPYTERHUB_API_TOKEN`` in the environment of the job's
``jupyterhub-singleuser`` process, read as root from /proc. The HTCondor part
checks the submit description the real spawner writes (no pool can run here,
see tests/test_hub_htcondor.py).
"""

from __future__ import annotations

import os
import pwd
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import htcondor2
import psutil
import pytest
from conftest import Portal, _start_portal
from hubclient import HubClient

from sdcc_lab.hub.htcondor import HTCondorSessionSpawner

EXTRA_CONFIG = """
c.SlurmSessionSpawner.pending_timeout = 60
c.SlurmSessionSpawner.status_interval = 1
"""


def slurm(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def jobs_of(user: str) -> list[str]:
    return slurm(
        "/usr/bin/squeue", "-h", "-u", user, "-n", f"jupyter-{user}", "-o", "%i"
    ).stdout.split()


def state_save_location() -> Path:
    config = slurm("/usr/bin/scontrol", "show", "config").stdout
    match = re.search(r"^StateSaveLocation\s*=\s*(\S+)", config, re.MULTILINE)
    assert match, "scontrol show config names no StateSaveLocation"
    return Path(match.group(1))


def files_holding(folder: Path, secret: bytes) -> list[str]:
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            try:
                if secret in path.read_bytes():
                    found.append(str(path))
            except OSError:
                pass  # a file slurmctld just replaced
    return found


def server_process(user: str, job: str) -> psutil.Process:
    """The user's jupyterhub-singleuser that runs in Slurm job ``job``."""
    uid = pwd.getpwnam(user).pw_uid
    for proc in psutil.process_iter(["uids", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if (
            proc.info["uids"]
            and proc.info["uids"].real == uid
            and "jupyterhub-singleuser" in cmdline
        ):
            try:
                if proc.environ().get("SLURM_JOB_ID") == job:
                    return proc
            except psutil.Error:
                continue  # a process that just ended
    raise AssertionError(f"no jupyterhub-singleuser process of {user} runs in job {job}")


@pytest.fixture(scope="module")
def slurm_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    ping = slurm("/usr/bin/scontrol", "ping")
    if ping.returncode != 0:
        pytest.fail(
            f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {ping.stderr}"
        )
    for job in jobs_of("alice"):
        slurm("/usr/bin/scancel", job)
    folder = tmp_path_factory.mktemp("records-portal")
    extra = folder / "extra_config.py"
    extra.write_text(EXTRA_CONFIG)
    portal = _start_portal(folder / "data", args=("--config", str(extra)))
    assert "Sessions can run as Slurm jobs" in portal.log(), portal.log()[-2000:]
    yield portal
    portal.stop()
    for job in jobs_of("alice"):
        slurm("/usr/bin/scancel", job)


@pytest.mark.hub
@pytest.mark.slurm
@pytest.mark.slow
def test_the_servers_token_is_in_no_slurm_record_and_its_file_goes_with_the_session(
    slurm_portal: Portal,
) -> None:
    alice = HubClient(slurm_portal.url, "alice")
    alice.login()
    r = alice.hub_api(
        "POST",
        "users/alice/server",
        json={"partition": "cpu", "account": "physics", "qos": "normal", "runtime": 20},
    )
    assert r.status_code in (201, 202), r.text
    alice.wait_ready(120)
    [job] = jobs_of("alice")

    environ = server_process("alice", job).environ()
    token = environ.get("JUPYTERHUB_API_TOKEN", "")
    assert len(token) >= 16, sorted(environ)
    secret = token.encode()

    assert files_holding(state_save_location(), secret) == []
    for argv in (
        ["/usr/bin/scontrol", "show", "job", "-d", job],
        ["/usr/bin/scontrol", "show", "job", "-dd", job],
        ["/usr/bin/scontrol", "write", "batch_script", job, "-"],
    ):
        out = slurm(*argv)
        assert out.returncode == 0, (argv, out.stderr)
        assert token not in out.stdout + out.stderr, argv
    # sacct --env-vars exists from Slurm 23.02 on; 22.05 refuses the option.
    sacct = slurm("/usr/bin/sacct", "-j", job, "--env-vars")
    assert token not in sacct.stdout + sacct.stderr

    # The server still works: JupyterLab answers with alice's session.
    alice.open_lab()
    assert alice.server_api("GET", "sdcc-lab/api/info").json()["user"] == "alice"

    # The token reached the job through alice's own file, readable by her alone.
    token_file = Path(environ["SDCC_LAB_TOKEN_FILE"])
    info = token_file.stat()
    assert info.st_uid == pwd.getpwnam("alice").pw_uid
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert token_file.read_text().strip() == token

    alice.stop_server()
    deadline_jobs = 30
    for _ in range(deadline_jobs * 2):
        if job not in jobs_of("alice"):
            break
        psutil.time.sleep(0.5)
    assert not token_file.exists()


def test_the_htcondor_description_holds_no_token(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid())
    spawner = HTCondorSessionSpawner(
        cmd=["/opt/sdcc-lab/jobenv/bin/sdcc-lab-singleuser"],
        exec_prefix=[],
        user=SimpleNamespace(name=me.pw_name, url=f"/user/{me.pw_name}/", escaped_name=me.pw_name),
        hub=SimpleNamespace(
            public_host="", api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/"
        ),
    )
    token = "canary-htcondor-api-token-6b2f"
    spawner.api_token = token
    options = {
        "local": False,
        "partition": "htcondor",
        "account": None,
        "qos": None,
        "gpu": "none",
        "gpus": 0,
        "runtime": 30,
        "environment": "default",
    }
    spawner.user_options = options
    text = spawner.submit_description(options, str(tmp_path / "logs"))
    assert token not in text
    # What the job ad's Environment would hold (condor_q -allusers -af Environment).
    environment = htcondor2.Submit(text)["environment"]
    assert token not in environment
    assert "JUPYTERHUB_API_TOKEN" not in environment and "JPY_API_TOKEN" not in environment
    assert "SDCC_LAB_TOKEN_FILE=" in environment
