"""HTCondor sessions, without a pool.

No HTCondor daemons can be installed here (see docs/admin-guide.md): the submit
description is checked with HTCondor's own ``htcondor2`` bindings, and the
command flow runs against stand-in commands that print outputs recorded on
real pools (tests/fixtures/htcondor, sources in tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

import asyncio
import base64
import os
import pwd
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import htcondor2
import pytest

from sdcc_lab.hub.batch import BatchSessionError
from sdcc_lab.hub.htcondor import (
    HTCondorSessionSpawner,
    condor_quote_args,
    condor_quote_environment,
)

FIXTURES = Path(__file__).parent / "fixtures" / "htcondor"
OPTIONS = {
    "local": False,
    "partition": "htcondor",
    "account": None,
    "qos": None,
    "gpu": "any",
    "gpus": 1,
    "runtime": 30,
    "environment": "default",
}


class RecordedHTCondorSpawner(HTCondorSessionSpawner):
    """The real spawner, with the hub-provided environment fixed for the test."""

    test_env: dict[str, str]  # set by the fixture

    def get_env(self) -> dict[str, str]:
        # What JupyterHub's Spawner.get_env gives, secrets included.
        return {
            **self.test_env,
            "JUPYTERHUB_API_TOKEN": self.api_token,
            "JPY_API_TOKEN": self.api_token,
        }

    @property
    def unix_user(self) -> pwd.struct_passwd:
        return pwd.getpwuid(os.getuid())

    def log_dir(self) -> str:
        return str(self.test_log_dir)

    def token_dir(self) -> str:
        return str(self.test_log_dir.parent / "run")


@pytest.fixture
def spawner(tmp_path: Path) -> RecordedHTCondorSpawner:
    s = RecordedHTCondorSpawner(
        cmd=["/opt/env/bin/sdcc-lab-singleuser"],
        exec_prefix=[],
        user=SimpleNamespace(name="alice"),
    )
    s.test_log_dir = tmp_path / "logs"  # type: ignore[attr-defined]
    s.test_env = {
        "SDCC_LAB_SESSION": '{"scheduler": "htcondor", "options": {"q": "it\'s"}}',
    }
    s.api_token = "secret-token"
    s.user_options = dict(OPTIONS)
    return s


def test_submit_description_is_valid_htcondor(spawner: RecordedHTCondorSpawner) -> None:
    text = spawner.submit_description(OPTIONS, "/home/alice/.sdcc-lab/logs")
    sub = htcondor2.Submit(text)
    assert sub["universe"] == "vanilla"
    assert sub["executable"] == "/bin/bash"
    assert sub["request_gpus"] == "1"
    assert sub["allowed_job_duration"] == "1800"  # 30 min
    assert sub["getenv"] == "false"
    assert sub["MY.SDCCLabSession"] == "true"
    assert sub["MY.JobBatchName"] == '"jupyter-alice"'
    # The script runs the server command, decoded from base64 in the job.
    encoded = sub["arguments"].split("echo ")[1].split(" |")[0]
    script = base64.b64decode(encoded).decode()
    assert script.strip().endswith("exec /opt/env/bin/sdcc-lab-singleuser")
    assert "secret-token" not in text
    # The environment survives HTCondor's quoting, quotes included.
    assert 'SDCC_LAB_SESSION=\'{""scheduler' in sub["environment"]
    assert "it''s" in sub["environment"]


def test_no_gpu_request_without_a_gpu(spawner: RecordedHTCondorSpawner) -> None:
    options = {**OPTIONS, "gpu": "none", "gpus": 0}
    sub = htcondor2.Submit(spawner.submit_description(options, "/tmp/logs"))
    assert "request_gpus" not in sub


@pytest.mark.parametrize(
    "env", [{"A": "one\nqueue 5"}, {"BAD NAME": "x"}, {"B": "x\rrequest_cpus = 64"}]
)
def test_values_that_would_break_the_description_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        condor_quote_environment(env)


def test_argument_quoting_round_trips_through_htcondor() -> None:
    args = ["-c", "echo 'a b' \"c\""]
    sub = htcondor2.Submit(
        f"executable = /bin/bash\narguments = {condor_quote_args(args)}\nqueue\n"
    )
    assert sub["arguments"] == condor_quote_args(args)
    with pytest.raises(ValueError):
        condor_quote_args(["x\nqueue 100"])


def fake_command(folder: Path, name: str, output: str, exit_code: int = 0) -> str:
    """A stand-in for an HTCondor command that prints a recorded output."""
    out_file = folder / f"{name}.out"
    out_file.write_text(output)
    script = folder / name
    script.write_text(f"#!/bin/sh\ncat > {folder}/{name}.stdin\ncat {out_file}\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_submit_reads_the_cluster_id_and_sends_the_description(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    recorded = (FIXTURES / "condor_submit_dag_output_htcondor-23.x_chtc.txt").read_text()
    spawner.condor_submit = fake_command(tmp_path, "condor_submit", recorded)
    assert run(spawner.submit_job(OPTIONS)) == "562265"
    sent = (tmp_path / "condor_submit.stdin").read_text()
    assert "request_gpus = 1" in sent and sent.rstrip().endswith("queue 1")


def test_a_refused_submit_is_a_clear_spawn_error_and_leaves_no_token_file(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    spawner.condor_submit = fake_command(
        tmp_path, "condor_submit", "ERROR: Failed to connect to local queue manager\n", 1
    )
    with pytest.raises(
        BatchSessionError, match="HTCondor refused the job: ERROR: Failed to connect"
    ):
        run(spawner.start())
    assert list((tmp_path / "run").iterdir()) == []
    assert spawner.token_file == ""


def test_the_token_waits_in_a_file_of_the_user_and_goes_with_the_session(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    recorded = (FIXTURES / "condor_submit_dag_output_htcondor-23.x_chtc.txt").read_text()
    spawner.condor_submit = fake_command(tmp_path, "condor_submit", recorded)
    spawner.condor_rm = fake_command(tmp_path, "condor_rm", "")
    spawner.job_id = run(spawner.submit_job(OPTIONS))
    [token_file] = (tmp_path / "run").iterdir()
    assert token_file.read_text() == "secret-token\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert spawner.get_state()["token_file"] == str(token_file)
    # The description names the file, never the token.
    sent = (tmp_path / "condor_submit.stdin").read_text()
    assert f"SDCC_LAB_TOKEN_FILE=''{token_file}''" in sent.replace("'", "''")
    assert "secret-token" not in sent
    run(spawner.stop())
    assert not token_file.exists()


def test_a_token_file_that_cannot_be_written_refuses_the_session(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    (tmp_path / "run").write_text("a file where the folder should be")
    spawner.condor_submit = fake_command(tmp_path, "condor_submit", "1 - 1\n")
    with pytest.raises(BatchSessionError, match="cannot write the session's token file"):
        run(spawner.submit_job(OPTIONS))
    assert not (tmp_path / "condor_submit.stdin").exists()  # nothing submitted


def test_a_job_gone_takes_its_token_file_with_it(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    recorded = (FIXTURES / "condor_submit_dag_output_htcondor-23.x_chtc.txt").read_text()
    spawner.condor_submit = fake_command(tmp_path, "condor_submit", recorded)
    spawner.condor_q = fake_command(tmp_path, "condor_q", "")
    spawner.job_id = run(spawner.submit_job(OPTIONS))
    [token_file] = (tmp_path / "run").iterdir()
    assert run(spawner.poll()) == 1
    assert not token_file.exists()


def test_a_held_job_ends_the_spawn_with_htcondors_reason(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    recorded = (FIXTURES / "condor_q_long_held_job_htcondor-9.9.0.txt").read_text()
    spawner.condor_q = fake_command(tmp_path, "condor_q", recorded)
    spawner.job_id = "15872426.0"
    status = run(spawner.job_status())
    assert status.state == "gone"
    assert "Docker job has gone over memory limit of 16384 Mb" in (status.detail or "")


def test_a_job_that_left_the_queue_is_gone(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    spawner.condor_q = fake_command(tmp_path, "condor_q", "")
    spawner.job_id = "1.0"
    assert run(spawner.job_status()).state == "gone"


def test_stop_removes_the_job(spawner: RecordedHTCondorSpawner, tmp_path: Path) -> None:
    spawner.condor_rm = fake_command(
        tmp_path, "condor_rm", "All jobs in cluster 562265 have been marked for removal\n"
    )
    spawner.job_id = "562265"
    run(spawner.stop())
    # condor_rm ran with the job id as its own argument.
    assert (tmp_path / "condor_rm.stdin").exists()


def test_a_variable_name_no_scheduler_can_take_refuses_the_session(
    spawner: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    spawner.test_env = {"BAD,NAME": "x"}
    spawner.condor_submit = fake_command(tmp_path, "condor_submit", "1 - 1\n")
    with pytest.raises(
        BatchSessionError, match="environment variable name 'BAD,NAME' cannot be passed to a job"
    ):
        run(spawner.start())
    assert not (tmp_path / "condor_submit.stdin").exists()  # nothing submitted
    assert list((tmp_path / "run").iterdir()) == []  # and its token file is gone
