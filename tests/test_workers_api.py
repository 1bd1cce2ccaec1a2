"""``sdcc-lab/api/workers`` with fake ``squeue``/``scancel`` (the real ones: test_dask_slurm.py).

The server believes it is the Slurm session job 500 of the user running the
tests. The fake squeue prints a queue holding this session's two workers and
jobs that must never be listed or cancelled: the session itself, another
user's job with the workers' name, another session's workers, a finished
worker, a job of another name. Each call is appended to a file.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from openapi_check import assert_matches
from tornado.httpclient import HTTPClientError

from sdcc_lab.session import current_user

ME = current_user()
NAME = f"dask-{ME}-500"


def job(
    job_id: int, name: str, user: str = ME, state: str = "RUNNING", **extra: Any
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "name": name,
        "user_name": user,
        "job_state": state,
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "cpus": 1,
        "tres_req_str": "cpu=1,mem=1G,node=1",
        "state_reason": "None",
        **extra,
    }


QUEUE = {
    "meta": {},
    "errors": [],
    "jobs": [
        job(500, f"jupyter-{ME}"),  # the session itself
        job(501, NAME),
        job(
            502,
            NAME,
            state="PENDING",
            state_reason="Resources",
            tres_req_str="cpu=1,mem=2G,node=1,gres/gpu=1",
        ),
        job(503, NAME, user="bob"),  # same name, another user
        job(504, f"dask-{ME}-499"),  # another session's worker
        job(505, NAME, state="COMPLETED"),  # finished
        job(506, "analysis"),  # not a worker
    ],
}


@pytest.fixture(params=["identity", "environment"])
def fakes(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Slurm session of job 500: named by the hub's identity, or (a plain ``jupyter lab``
    started inside a job) by the environment alone. Both find the same workers."""
    monkeypatch.setenv("SLURM_JOB_ID", "500")
    if request.param == "identity":
        monkeypatch.setenv("SDCC_LAB_SESSION", json.dumps({"scheduler": "slurm", "options": {}}))
    else:
        monkeypatch.delenv("SDCC_LAB_SESSION", raising=False)
    (tmp_path / "queue.json").write_text(json.dumps(QUEUE))
    for cmd in ("squeue", "scancel"):
        script = tmp_path / cmd
        script.write_text(
            "#!/bin/sh\n"
            f'echo "{cmd} $*" >> {tmp_path}/calls\n'
            f'[ -e {tmp_path}/{cmd}.fail ] && {{ echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1; }}\n'
            + (f"cat {tmp_path}/queue.json\n" if cmd == "squeue" else "exit 0\n")
        )
        script.chmod(0o755)
    (tmp_path / "calls").touch()
    return tmp_path


@pytest.fixture
def jp_server_config(fakes: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ResourcesCollector": {"scontrol_command": ["/bin/false"]},
        "WorkerJobs": {
            "squeue_command": [str(fakes / "squeue")],
            "scancel_command": [str(fakes / "scancel")],
            "cache_seconds": 60.0,
        },
    }


def calls(fakes: Path, cmd: str) -> list[str]:
    return [c for c in (fakes / "calls").read_text().splitlines() if c.startswith(cmd)]


async def status_of(jp_fetch: Any, *path: str, method: str = "GET") -> tuple[int, dict[str, Any]]:
    try:
        r = await jp_fetch("sdcc-lab", "api", "workers", *path, method=method)
        return r.code, json.loads(r.body) if r.body else {}
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)


async def test_lists_only_this_sessions_active_workers(jp_fetch: Any, fakes: Path) -> None:
    code, body = await status_of(jp_fetch)
    assert code == 200
    assert_matches("Workers", body)  # the answer server.json describes
    assert body == {
        "workers": [
            {
                "id": "501",
                "name": NAME,
                "state": "RUNNING",
                "reason": None,
                "cpus": 1,
                "memory_bytes": 1 << 30,
                "gpus": 0,
                "partition": "gpu",
            },
            {
                "id": "502",
                "name": NAME,
                "state": "PENDING",
                "reason": "Resources",
                "cpus": 1,
                "memory_bytes": 2 << 30,
                "gpus": 1,
                "partition": "gpu",
            },
        ]
    }
    assert calls(fakes, "squeue") == [f"squeue --json --user {ME}"]


async def test_many_tabs_share_one_squeue(jp_fetch: Any, fakes: Path) -> None:
    results = await asyncio.gather(*(status_of(jp_fetch) for _ in range(10)))
    assert all(code == 200 and len(body["workers"]) == 2 for code, body in results)
    for _ in range(5):
        await status_of(jp_fetch)
    assert len(calls(fakes, "squeue")) == 1


async def test_delete_one_runs_a_restricted_scancel(jp_fetch: Any, fakes: Path) -> None:
    code, _ = await status_of(jp_fetch, "501", method="DELETE")
    assert code == 204
    assert calls(fakes, "scancel") == [f"scancel --user={ME} --name={NAME} 501"]


@pytest.mark.parametrize("job_id", ["500", "503", "504", "505", "506", "99999"])
async def test_delete_of_anything_else_is_404(jp_fetch: Any, fakes: Path, job_id: str) -> None:
    code, body = await status_of(jp_fetch, job_id, method="DELETE")
    assert code == 404
    assert_matches("Error", body)
    assert "not one of this session's Dask worker jobs" in body["message"]
    assert calls(fakes, "scancel") == []


@pytest.mark.parametrize("job_id", ["abc", "12x", "-5", "1%3B2"])
async def test_malformed_ids_are_400(jp_fetch: Any, fakes: Path, job_id: str) -> None:
    code, body = await status_of(jp_fetch, job_id, method="DELETE")
    assert code == 400 and "is not a Slurm job id" in body["message"]
    assert calls(fakes, "squeue") == [] and calls(fakes, "scancel") == []


async def test_delete_all_cancels_the_workers_only(jp_fetch: Any, fakes: Path) -> None:
    code, _ = await status_of(jp_fetch, method="DELETE")
    assert code == 204
    assert calls(fakes, "scancel") == [f"scancel --user={ME} --name={NAME} 501 502"]


async def test_delete_asks_squeue_again(jp_fetch: Any, fakes: Path) -> None:
    await status_of(jp_fetch)
    queue = dict(QUEUE, jobs=[j for j in QUEUE["jobs"] if j["job_id"] != 501])
    (fakes / "queue.json").write_text(json.dumps(queue))
    code, _ = await status_of(jp_fetch, "501", method="DELETE")
    assert code == 404  # ended meanwhile: the cached list is not trusted
    assert len(calls(fakes, "squeue")) == 2


async def test_scheduler_failure_is_503_with_a_message(jp_fetch: Any, fakes: Path) -> None:
    (fakes / "squeue.fail").touch()
    code, body = await status_of(jp_fetch)
    assert code == 503 and "Unable to contact slurm controller" in body["message"]
    code, body = await status_of(jp_fetch, "501", method="DELETE")
    assert code == 503
    (fakes / "squeue.fail").unlink()
    (fakes / "scancel.fail").touch()
    code, body = await status_of(jp_fetch, "501", method="DELETE")
    assert code == 503
    assert "Slurm did not cancel: scancel" in body["message"]
    assert "Unable to contact slurm controller" in body["message"]


async def test_unreadable_squeue_is_503(jp_fetch: Any, fakes: Path) -> None:
    (fakes / "queue.json").write_text("not json")
    code, body = await status_of(jp_fetch)
    assert code == 503 and "cannot read squeue's answer" in body["message"]


async def test_a_failed_squeue_is_not_kept(jp_fetch: Any, fakes: Path) -> None:
    """Slurm back after a failure: the next GET asks again, within the cache period."""
    (fakes / "squeue.fail").touch()
    code, _ = await status_of(jp_fetch)
    assert code == 503
    (fakes / "squeue.fail").unlink()
    code, body = await status_of(jp_fetch)
    assert code == 200 and len(body["workers"]) == 2
    assert len(calls(fakes, "squeue")) == 2
