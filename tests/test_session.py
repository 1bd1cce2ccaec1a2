"""The session identity contract (``SDCC_LAB_SESSION``) and the one Session resolved from it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sdcc_lab.session import (
    SESSION_ENV,
    SessionIdentityError,
    current_user,
    resolve_session,
    session_from_env,
    session_to_env,
)


def test_no_variable_means_a_local_session() -> None:
    assert session_from_env({}) == {"scheduler": "local", "options": {}}


def test_round_trip_from_spawner_to_server() -> None:
    options = {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "gpus": 1, "local": False}
    env = session_to_env("slurm", options)
    assert list(env) == [SESSION_ENV]
    assert session_from_env(env) == {"scheduler": "slurm", "options": options}


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        json.dumps({"scheduler": "pbs"}),
        json.dumps({"scheduler": "slurm", "options": ["gpu"]}),
        json.dumps({"scheduler": "slurm", "options": {"partition": {"nested": 1}}}),
    ],
)
def test_malformed_value_is_a_warning_not_a_crash(
    raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sdcc_lab.session"):
        identity = session_from_env({SESSION_ENV: raw})
    assert identity["scheduler"] is None
    assert identity["options"] == {}
    assert SESSION_ENV in identity["problem"]
    assert any(SESSION_ENV in r.getMessage() for r in caplog.records)


def test_spawner_side_refuses_to_write_a_bad_identity() -> None:
    with pytest.raises(SessionIdentityError, match="scheduler"):
        session_to_env("pbs", {})
    with pytest.raises(SessionIdentityError, match="option"):
        session_to_env("slurm", {"partition": ["a", "b"]})  # type: ignore[dict-item]


# --------------------------------------------------------------------------- resolve_session: the rule


def slurm_identity(**options: object) -> dict[str, str]:
    return session_to_env("slurm", options)  # type: ignore[arg-type]


def test_the_identity_decides_the_scheduler_and_the_environment_the_job() -> None:
    env = {
        **slurm_identity(partition="gpu"),
        "SLURM_JOB_ID": " 77 ",
        "SLURM_CLUSTER_NAME": "sdcc",
        "SLURM_JOB_PARTITION": "gpu",
        "SLURM_JOB_ACCOUNT": "tier3",
        "SLURM_JOB_QOS": "normal",
    }
    s = resolve_session(env, user="alice")
    assert (s.scheduler, s.source, s.job_id, s.problem) == ("slurm", "identity", "77", None)
    assert (s.cluster, s.partition, s.account, s.qos) == ("sdcc", "gpu", "tier3", "normal")
    assert s.options == {"partition": "gpu"}
    assert s.is_batch_job and s.worker_job_name == "dask-alice-77"
    assert s.identity() == {"scheduler": "slurm", "options": {"partition": "gpu"}}


def test_a_local_identity_ignores_a_slurm_job_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    env = {**session_to_env("local", {}), "SLURM_JOB_ID": "42", "SLURM_JOB_PARTITION": "gpu"}
    with caplog.at_level(logging.WARNING, logger="sdcc_lab.session"):
        s = resolve_session(env, user="alice")
    assert (s.scheduler, s.source, s.job_id, s.partition) == ("local", "identity", None, None)
    assert s.problem is not None and "says local" in s.problem and "SLURM_JOB_ID" in s.problem
    assert not s.is_batch_job and s.worker_job_name is None
    assert any("says local" in r.getMessage() for r in caplog.records)


def test_a_batch_identity_outside_its_job_has_no_job_id() -> None:
    s = resolve_session(slurm_identity(), user="alice")
    assert (s.scheduler, s.source, s.job_id) == ("slurm", "identity", None)
    assert s.problem is not None and "outside a batch job" in s.problem
    assert s.worker_job_name is None


def test_another_schedulers_job_is_a_disagreement() -> None:
    env = {**session_to_env("htcondor", {}), "SLURM_JOB_ID": "42"}
    s = resolve_session(env, user="alice")
    assert (s.scheduler, s.job_id) == ("htcondor", None)
    assert s.problem is not None and "slurm job" in s.problem and "says htcondor" in s.problem


@pytest.mark.parametrize(
    ("env", "scheduler", "job_id"),
    [
        ({}, "local", None),
        ({"SLURM_JOB_ID": "42"}, "slurm", "42"),
        ({"BATCH_SYSTEM": "HTCondor"}, "htcondor", None),
    ],
)
def test_without_an_identity_the_environment_decides(
    env: dict[str, str], scheduler: str, job_id: str | None
) -> None:
    s = resolve_session(env, user="alice")
    assert (s.scheduler, s.source) == (scheduler, "environment")
    if job_id is not None:
        assert (s.job_id, s.problem) == (job_id, None)


def test_an_htcondor_job_id_comes_from_the_job_ad(tmp_path: Path) -> None:
    ad = tmp_path / ".job.ad"
    ad.write_text('ClusterId = 12\nProcId = 0\nJobStatus = 2\nOwner = "alice"\n')
    s = resolve_session({**session_to_env("htcondor", {}), "_CONDOR_JOB_AD": str(ad)}, user="alice")
    assert (s.scheduler, s.job_id, s.problem) == ("htcondor", "12.0", None)


def test_an_unreadable_job_ad_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    s = resolve_session({"_CONDOR_JOB_AD": str(tmp_path / "gone.ad")}, user="alice")
    assert (s.scheduler, s.job_id) == ("htcondor", None)
    assert s.problem is not None and "_CONDOR_JOB_AD" in s.problem


def test_a_malformed_identity_falls_back_to_the_environment() -> None:
    s = resolve_session({SESSION_ENV: "{not json", "SLURM_JOB_ID": "4321"}, user="alice")
    assert (s.scheduler, s.source, s.job_id) == ("slurm", "environment", "4321")
    assert s.identity_malformed and s.options == {}
    assert s.problem is not None and "malformed" in s.problem


def test_info_json_has_every_key() -> None:
    s = resolve_session({}, user="alice")
    assert s.to_json() == {
        "scheduler": "local",
        "options": {},
        "job_id": None,
        "user": "alice",
        "cluster": None,
        "partition": None,
        "account": None,
        "qos": None,
        "source": "environment",
        "problem": None,
    }
    assert resolve_session({}).user == current_user()
