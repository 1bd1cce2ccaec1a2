"""The hub side of a Slurm session's life, with stand-in scheduler commands.

These are unit tests of :class:`~sdcc_lab.hub.slurm.SlurmSessionSpawner`'s
life cycle: what ``sbatch`` is given, the waits and their timeouts, the
cancel of a job that stays pending, a job that dies before its server comes
up, the port report, the token file, and a restarted hub reconnecting through
``load_state``. The scheduler's commands are small executables written here
(``sbatch``, ``squeue``, ``scancel``) that record what they were given and
answer what the test scripted; everything else is real (the spawner, the
scheduler layer's runner, ``install``/``dd``/``rm`` of the token file). The
squeue answers have the shape of Slurm 23.11+ ``squeue --json`` (the parser
itself is tested against recorded outputs in tests/test_scheduler_slurm.py).
Time is an injected clock: no test waits for a timeout to pass. The same life
cycle against the real cluster is tests/test_slurm_portal.py (marker slurm).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import stat
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sdcc_lab.hub.batch import BatchSessionError, BatchSessionSpawner, JobStatus
from sdcc_lab.hub.htcondor import HTCondorSessionSpawner
from sdcc_lab.hub.slurm import SlurmSessionSpawner
from sdcc_lab.scheduler.errors import SchedulerUnavailable, SchedulerUnparseable
from sdcc_lab.session import SCHEDULERS

TOKEN = "the-servers-api-token-5c2f"
OPTIONS = {
    "local": False,
    "partition": "cpu",
    "account": "physics",
    "qos": "normal",
    "gpu": "a100",
    "gpus": 2,
    "runtime": 45,
    "environment": "default",
}

# Each stand-in records its argument list (one JSON line per call) and answers
# from files the test writes. squeue answers, per call, the next line of
# squeue.states ("STATE reason host", "GONE", "DOWN", "GARBAGE"); the last line
# is repeated once the others are used.
FAKE = r"""#!{python} -I
import json, os, sys
folder, name = {folder!r}, {name!r}
with open(os.path.join(folder, name + ".calls"), "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
if name == "sbatch":
    with open(os.path.join(folder, "sbatch.stdin"), "w") as f:
        f.write(sys.stdin.read())
    with open(os.path.join(folder, "sbatch.env"), "w") as f:
        json.dump(dict(os.environ), f)
    with open(os.path.join(folder, "sbatch.reply")) as f:
        code, _, text = f.read().partition("\n")
    (sys.stdout if code == "0" else sys.stderr).write(text)
    sys.exit(int(code))
if name == "scancel":
    sys.exit(0)
states_file = os.path.join(folder, "squeue.states")
with open(states_file) as f:
    states = f.read().splitlines()
line = states[0]
if len(states) > 1:
    with open(states_file, "w") as f:
        f.write("\n".join(states[1:]) + "\n")
word = line.split()
if word[0] == "DOWN":
    sys.stderr.write("slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n")
    sys.exit(1)
if word[0] == "GARBAGE":
    print("this is not JSON")
    sys.exit(0)
job_id = sys.argv[sys.argv.index("--jobs") + 1]
jobs = []
if word[0] != "GONE":
    state, reason = word[0], word[1]
    host = word[2] if len(word) > 2 else None
    jobs.append({{
        "job_id": int(job_id), "name": "jupyter-user", "user_name": "user",
        "job_state": [state], "state_reason": reason,
        "batch_host": host or "", "nodes": host or "",
    }})
print(json.dumps({{"jobs": jobs, "errors": [], "warnings": []}}))
"""


class Clock:
    """Monotonic seconds that move by ``step`` at every reading."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Spawner(SlurmSessionSpawner):
    """The real Slurm spawner. ``report_port`` stands for the job's server: once
    the scheduler shows the job running, it reports its port the way the port
    report handler hands it over (``accept_port``)."""

    report_port: int | None = None
    accepted: list[bool]

    async def job_status(self) -> JobStatus:
        status = await super().job_status()
        if status.state == "running" and self.report_port is not None:
            self.accepted.append(self.accept_port(self.report_port))
        return status


class Fakes:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        for name in ("sbatch", "squeue", "scancel"):
            path = folder / name
            path.write_text(FAKE.format(python=sys.executable, folder=str(folder), name=name))
            path.chmod(0o755)
        self.sbatch_replies("0\n4242\n")

    def path(self, name: str) -> str:
        return str(self.folder / name)

    def sbatch_replies(self, text: str) -> None:
        (self.folder / "sbatch.reply").write_text(text)

    def squeue_answers(self, *states: str) -> None:
        (self.folder / "squeue.states").write_text("\n".join(states) + "\n")

    def calls(self, name: str) -> list[list[str]]:
        path = self.folder / f"{name}.calls"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    return Fakes(tmp_path / "bin")


def make(tmp_path: Path, fakes: Fakes, **traits: Any) -> Spawner:
    me = pwd.getpwuid(os.getuid())
    spawner = Spawner(
        cmd=["/opt/sdcc-lab/jobenv/bin/sdcc-lab-singleuser"],
        exec_prefix=[],
        user=SimpleNamespace(name=me.pw_name, url=f"/user/{me.pw_name}/", escaped_name=me.pw_name),
        hub=SimpleNamespace(
            public_host="", api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/"
        ),
        log_dir_template=str(tmp_path / "home" / "logs"),
        token_dir_template=str(tmp_path / "home" / "run"),
        environment={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        sbatch=fakes.path("sbatch"),
        squeue=fakes.path("squeue"),
        scancel=fakes.path("scancel"),
        status_interval=0,
        pending_timeout=250,
        server_timeout=250,
        **traits,
    )
    spawner.api_token = TOKEN
    spawner.user_options = dict(OPTIONS)
    spawner.clock = Clock(step=100)  # type: ignore[method-assign]
    spawner.accepted = []
    return spawner


def token_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "home" / "run"
    return sorted(folder.iterdir()) if folder.exists() else []


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def running_session(tmp_path: Path, fakes: Fakes) -> tuple[Spawner, Path]:
    """A session whose job runs on node7 and whose server reported port 54321."""
    spawner = make(tmp_path, fakes)
    spawner.report_port = 54321
    fakes.squeue_answers("RUNNING None node7")
    run(spawner.start())
    [token_file] = token_files(tmp_path)
    return spawner, token_file


def test_a_session_starts_pending_then_running_with_the_reported_port(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes, host_map={"node7": "10.1.0.7"})
    spawner.report_port = 54321
    fakes.squeue_answers("PENDING Priority", "PENDING Resources", "RUNNING None node7")
    assert run(spawner.start()) == ("10.1.0.7", 54321)
    assert spawner.accepted == [True]
    assert fakes.calls("squeue") == [["--json", "--jobs", "4242"]] * 3
    assert spawner.get_state()["job_id"] == "4242"
    assert (spawner.get_state()["job_host"], spawner.get_state()["port"]) == ("node7", 54321)
    # The port is accepted only while the session waits for it.
    assert spawner.accept_port(1234) is False
    assert fakes.calls("scancel") == []


def test_sbatch_gets_every_option_as_its_own_argument_and_the_script_on_stdin(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes, extra_sbatch_args=["--mem-per-cpu=4G"])
    spawner.report_port = 54321
    fakes.squeue_answers("RUNNING None node7")
    run(spawner.start())
    [argv] = fakes.calls("sbatch")
    [token_file] = token_files(tmp_path)
    home = pwd.getpwuid(os.getuid()).pw_dir
    export = next(a for a in argv if a.startswith("--export="))
    assert argv == [
        "--parsable",
        f"--job-name=jupyter-{spawner.user.name}",
        "--time=45",
        f"--output={tmp_path}/home/logs/jupyter-%j.log",
        f"--chdir={home}",
        "--no-requeue",
        export,
        "--partition=cpu",
        "--account=physics",
        "--qos=normal",
        "--gres=gpu:a100:2",
        "--mem-per-cpu=4G",
    ]
    names = export.removeprefix("--export=").split(",")
    assert {"SDCC_LAB_TOKEN_FILE", "SDCC_LAB_SESSION", "JUPYTERHUB_API_URL"} <= set(names)
    script = (fakes.folder / "sbatch.stdin").read_text()
    assert script.startswith("#!/bin/bash\n")
    assert "exec /opt/sdcc-lab/jobenv/bin/sdcc-lab-singleuser" in script
    env = json.loads((fakes.folder / "sbatch.env").read_text())
    assert env["SDCC_LAB_TOKEN_FILE"] == str(token_file)
    assert env["SDCC_LAB_SCHEDULER"] == "slurm"
    # The token reaches the job through its file only.
    assert TOKEN not in json.dumps([argv, env, script])
    assert token_file.read_text() == TOKEN + "\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700


def test_a_job_that_stays_pending_is_cancelled_and_the_user_told_why(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    fakes.squeue_answers("PENDING QOSMaxJobsPerUserLimit")
    with pytest.raises(BatchSessionError) as e:
        run(spawner.start())
    assert e.value.jupyterhub_message == (
        "Job 4242 was still pending after 250 s (QOSMaxJobsPerUserLimit), so it was cancelled. "
        "Try a shorter runtime or another partition."
    )
    assert fakes.calls("scancel") == [["4242"]]
    assert token_files(tmp_path) == []


def test_a_running_job_whose_server_never_reports_is_cancelled(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    fakes.squeue_answers("PENDING Priority", "RUNNING None node7")
    with pytest.raises(
        BatchSessionError, match="Job 4242 runs, but JupyterLab did not start within 250 s"
    ):
        run(spawner.start())
    assert fakes.calls("scancel") == [["4242"]]
    assert token_files(tmp_path) == []


def test_a_job_that_dies_before_its_server_ends_the_spawn_with_its_state(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    fakes.squeue_answers("PENDING Priority", "FAILED NonZeroExitCode")
    with pytest.raises(BatchSessionError) as e:
        run(spawner.start())
    assert e.value.jupyterhub_message.startswith(
        "Your job 4242 ended before JupyterLab started (FAILED: NonZeroExitCode). Its log is in "
    )
    assert token_files(tmp_path) == []


def test_a_job_slurm_no_longer_knows_ends_the_spawn(tmp_path: Path, fakes: Fakes) -> None:
    spawner = make(tmp_path, fakes)
    fakes.squeue_answers("GONE")
    with pytest.raises(BatchSessionError, match=r"\(the job is no longer known to Slurm\)"):
        run(spawner.start())
    assert token_files(tmp_path) == []


def test_a_refused_sbatch_is_a_clear_spawn_error_and_leaves_nothing(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    fakes.sbatch_replies(
        "1\nsbatch: error: Batch job submission failed: Invalid account or account/partition combination specified\n"
    )
    with pytest.raises(
        BatchSessionError,
        match="Slurm refused the job: sbatch: error: Batch job submission failed: Invalid account",
    ):
        run(spawner.start())
    assert token_files(tmp_path) == []
    assert fakes.calls("squeue") == [] and fakes.calls("scancel") == []
    assert "job_id" not in spawner.get_state()


def test_sbatch_output_without_a_job_id_is_a_clear_spawn_error(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    fakes.sbatch_replies("0\nsbatch: warning: something odd\n")
    with pytest.raises(
        BatchSessionError, match="sbatch gave no job id: sbatch --parsable printed no job id"
    ):
        run(spawner.start())
    assert token_files(tmp_path) == []


def test_an_option_that_is_not_a_slurm_name_submits_nothing(tmp_path: Path, fakes: Fakes) -> None:
    spawner = make(tmp_path, fakes)
    spawner.user_options = {**OPTIONS, "partition": "cpu --wrap=id"}
    with pytest.raises(
        BatchSessionError, match="partition 'cpu --wrap=id' is not a valid Slurm name"
    ):
        run(spawner.start())
    assert fakes.calls("sbatch") == []
    assert token_files(tmp_path) == []


def test_a_restarted_hub_reconnects_from_the_state_and_stop_cancels(
    tmp_path: Path, fakes: Fakes
) -> None:
    first, token_file = running_session(tmp_path, fakes)
    state = first.get_state()
    assert state["token_file"] == str(token_file)

    again = make(tmp_path, fakes)  # the hub after a restart: only the stored state
    again.load_state(state)
    assert (again.job_id, again.job_host, again.reported_port) == ("4242", "node7", 54321)
    assert run(again.poll()) is None  # still running
    run(again.stop())
    assert fakes.calls("scancel") == [["4242"]]
    assert not token_file.exists()


def test_a_job_that_ended_while_the_hub_was_away_is_found_ended(
    tmp_path: Path, fakes: Fakes
) -> None:
    first, token_file = running_session(tmp_path, fakes)

    again = make(tmp_path, fakes)
    again.load_state(first.get_state())
    fakes.squeue_answers("GONE")
    assert run(again.poll()) == 1
    assert not token_file.exists()
    assert again.get_state() == {}


@pytest.mark.parametrize(
    ("answer", "error"), [("DOWN", SchedulerUnavailable), ("GARBAGE", SchedulerUnparseable)]
)
def test_a_scheduler_that_gives_no_answer_is_not_the_job_ending(
    tmp_path: Path, fakes: Fakes, answer: str, error: type[Exception]
) -> None:
    first, token_file = running_session(tmp_path, fakes)
    fakes.squeue_answers(answer)
    with pytest.raises(error):
        run(first.job_status())
    assert run(first.poll()) is None
    assert token_file.exists() and first.get_state()["job_id"] == "4242"


def test_a_port_report_is_refused_when_no_session_waits_for_it(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    assert spawner.accept_port(54321) is False  # nothing started
    spawner.load_state({"job_id": "4242", "job_host": "node7", "port": 1111})
    assert spawner.accept_port(54321) is False  # a reconnected session is not starting
    assert spawner.reported_port == 1111


def test_the_base_class_says_what_a_backend_must_implement() -> None:
    base = BatchSessionSpawner(user=SimpleNamespace(name="alice"))
    for call in (base.submit_job({}), base.job_status(), base.cancel_job()):
        with pytest.raises(NotImplementedError, match="BatchSessionSpawner must implement"):
            run(call)


@pytest.mark.parametrize("cls", [SlurmSessionSpawner, HTCondorSessionSpawner])
def test_each_backend_names_a_scheduler_the_session_knows(cls: type[BatchSessionSpawner]) -> None:
    assert cls.session_scheduler in SCHEDULERS and cls.session_scheduler != "local"
