"""The hub's own environment never reaches a command run as the user.

Commands the hub runs as the user (``mkdir`` of the log folder, the token
file, ``sbatch``/``condor_submit``, ``scancel``/``condor_rm``) run in a process
the user owns, so the user can read its environment from
``/proc/PID/environ``. The hub's environment holds the hub's secrets at many
sites (``JUPYTERHUB_CRYPT_KEY``, ``CONFIGPROXY_AUTH_TOKEN``, a database URL
with its password); none of it may cross.

The real spawners run with canary values in the hub process' environment and
an ``exec_prefix`` that ends in a recorder: a small script that writes the
environment it got to a file and then execs the command. When the tests run
as root the recorder runs behind the default ``runuser`` prefix, i.e. exactly
as the user's command would. The scheduler commands are stand-ins that print
outputs recorded on real systems (no job is submitted: the test is about what
the hub hands over, which does not depend on the scheduler).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sdcc_lab.hub.batch import BatchSessionSpawner
from sdcc_lab.hub.htcondor import HTCondorSessionSpawner
from sdcc_lab.hub.slurm import SlurmSessionSpawner

FIXTURES = Path(__file__).parents[1] / "fixtures" / "htcondor"
CANARIES = {
    "JUPYTERHUB_CRYPT_KEY": "canary-crypt-key-5d1e0c",
    "CONFIGPROXY_AUTH_TOKEN": "canary-proxy-token-77a9b2",
    "JUPYTERHUB_DB_URL": "postgresql://hub:canary-db-password-3f4e@db.example.org/jupyterhub",
}
API_TOKEN = "canary-server-api-token-91c0de"
OPTIONS = {
    "local": False,
    "partition": "cpu",
    "account": "physics",
    "qos": "normal",
    "gpu": "none",
    "gpus": 0,
    "runtime": 30,
    "environment": "default",
}
RECORDER = """#!/bin/sh
# Records the environment this command got, then runs it.
dir=$1
shift
/usr/bin/env -0 > "$dir/$(/usr/bin/basename "$1").$$.env"
exec "$@"
"""


def executable(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def stand_in(folder: Path, name: str, output: str) -> str:
    """A scheduler command that records its arguments and prints a recorded output."""
    (folder / f"{name}.out").write_text(output)
    return executable(
        folder / name,
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {folder}/{name}.args\n'
        f"cat > /dev/null\ncat {folder}/{name}.out\n",
    )


def make_spawner(cls: type[BatchSessionSpawner], tmp_path: Path) -> BatchSessionSpawner:
    me = pwd.getpwuid(os.getuid())
    records = tmp_path / "records"
    records.mkdir()
    recorder = executable(tmp_path / "record-env", RECORDER)
    # As root, the recorder runs as the user behind the default prefix (runuser).
    prefix = BatchSessionSpawner.class_traits()["exec_prefix"].default() if os.getuid() == 0 else []
    spawner = cls(
        cmd=["/opt/sdcc-lab/jobenv/bin/sdcc-lab-singleuser"],
        exec_prefix=[*prefix, recorder, str(records)],
        user=SimpleNamespace(name=me.pw_name, url=f"/user/{me.pw_name}/", escaped_name=me.pw_name),
        hub=SimpleNamespace(
            public_host="", api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/"
        ),
        log_dir_template=str(tmp_path / "home" / "logs"),
        environment={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    spawner.api_token = API_TOKEN
    spawner.user_options = dict(OPTIONS)
    if hasattr(spawner, "token_dir_template"):
        spawner.token_dir_template = str(tmp_path / "home" / "run")
    return spawner


def recorded(tmp_path: Path) -> dict[str, list[dict[str, str]]]:
    """Command name → the environments it ran with."""
    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted((tmp_path / "records").iterdir()):
        pairs = [p.split("=", 1) for p in path.read_text().split("\0") if "=" in p]
        found.setdefault(path.name.split(".")[0], []).append(dict(pairs))
    return found


def assert_nothing_of_the_hub(envs: dict[str, list[dict[str, str]]]) -> None:
    for command, runs in envs.items():
        for env in runs:
            for name, value in env.items():
                for canary in (*CANARIES.values(), API_TOKEN):
                    assert canary not in value, f"{command} got {name}={value!r}"
            assert not set(CANARIES) & set(env), (command, sorted(env))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_slurm_mkdir_submit_and_cancel_get_nothing_of_the_hubs_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    spawner = make_spawner(SlurmSessionSpawner, tmp_path)
    spawner.sbatch = stand_in(tmp_path, "sbatch", "4242\n")
    spawner.scancel = stand_in(tmp_path, "scancel", "")
    spawner.job_id = run(spawner.submit_job(OPTIONS))
    assert spawner.job_id == "4242"
    run(spawner.stop())
    envs = recorded(tmp_path)
    assert {"mkdir", "install", "dd", "sbatch", "scancel", "rm"} <= set(envs), sorted(envs)
    assert_nothing_of_the_hub(envs)
    # What sbatch gets: a PATH and the job's own variables, nothing else.
    [sbatch] = envs["sbatch"]
    assert sbatch["JUPYTERHUB_USER"] == spawner.user.name
    assert "PATH" in sbatch
    # The job gets them by name (never --export=ALL), the token file's path among them.
    [export] = [
        a for a in (tmp_path / "sbatch.args").read_text().split("\n") if a.startswith("--export=")
    ]
    names = export.removeprefix("--export=").split(",")
    assert (
        "ALL" not in names and "JUPYTERHUB_API_TOKEN" not in names and "JPY_API_TOKEN" not in names
    )
    assert {"SDCC_LAB_TOKEN_FILE", "JUPYTERHUB_API_URL", "SDCC_LAB_SESSION"} <= set(names)
    assert set(names) <= set(sbatch)


def test_htcondor_mkdir_submit_and_remove_get_nothing_of_the_hubs_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    spawner = make_spawner(HTCondorSessionSpawner, tmp_path)
    spawner.user_options = {**OPTIONS, "partition": "htcondor", "account": None, "qos": None}
    spawner.condor_submit = stand_in(
        tmp_path,
        "condor_submit",
        (FIXTURES / "condor_submit_dag_output_htcondor-23.x_chtc.txt").read_text(),
    )
    spawner.condor_rm = stand_in(
        tmp_path, "condor_rm", "All jobs in cluster 562265 have been marked for removal\n"
    )
    spawner.job_id = run(spawner.submit_job(dict(spawner.user_options)))
    assert spawner.job_id == "562265"
    run(spawner.stop())
    envs = recorded(tmp_path)
    assert {"mkdir", "install", "dd", "condor_submit", "condor_rm", "rm"} <= set(envs), sorted(envs)
    assert_nothing_of_the_hub(envs)
