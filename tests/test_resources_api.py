"""``GET sdcc-lab/api/resources`` and the collector behind it.

A fake ``scontrol`` (a script that counts its calls and prints the recorded
22.05 ``scontrol show job -o`` line, made RUNNING with a chosen time limit)
stands in for the controller here; tests/test_resources_slurm.py uses the real
test cluster.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from sdcc_lab.resources.collector import ResourcesCollector

RECORDED = (
    Path(__file__).parent / "fixtures/slurm/scontrol_show_job_oneline/slurm-22.05-or-earlier_completed_job.txt"
)
KEYS = {
    "scheduler", "job", "allocation", "time", "usage", "updated_at", "scheduler_checked_at", "problems", "debug",
}


def fake_scontrol(tmp_path: Path, limit_minutes: int = 30, mode: str = "ok") -> tuple[list[str], Path, Path]:
    """A counting scontrol; returns (command, calls file, state file)."""
    calls = tmp_path / "calls"
    state = tmp_path / "state.json"
    start = datetime.now().replace(microsecond=0) - timedelta(minutes=5)  # scontrol prints local time
    state.write_text(json.dumps({"limit": limit_minutes, "start": start.isoformat(), "mode": mode}))
    script = tmp_path / "scontrol"
    script.write_text(
        f"""#!{sys.executable}
import json, re, sys, time
from datetime import datetime, timedelta
open({str(calls)!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
st = json.load(open({str(state)!r}))
if st["mode"] == "fail":
    print("slurm_load_jobs error: Unable to contact slurm controller (connect failure)", file=sys.stderr)
    sys.exit(1)
if st["mode"] == "hang":
    time.sleep(30)
if st["mode"] == "garbage":
    print("<html>proxy error</html>")
    sys.exit(0)
line = open({str(RECORDED)!r}).read()
start = datetime.fromisoformat(st["start"])
end = start + timedelta(minutes=st["limit"])
h, m = divmod(st["limit"], 60)
for key, value in (("JobState", "RUNNING"), ("TimeLimit", f"{{h:02d}}:{{m:02d}}:00"),
                   ("StartTime", start.isoformat()), ("EndTime", end.isoformat()),
                   ("JobId", sys.argv[-1]), ("Partition", "gpu"), ("Account", "tier3")):
    line = re.sub(r"(?<= )" + key + r"=\\S*|^" + key + r"=\\S*", key + "=" + value, line)
print(line)
"""
    )
    script.chmod(0o755)
    return [str(script)], calls, state


def ncalls(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


SLURM_ENV = {"SLURM_JOB_ID": "4321", "SLURM_CPUS_ON_NODE": "2", "SLURM_MEM_PER_NODE": "4096"}


def collector(tmp_path: Path, env: dict[str, str] | None = None, **traits: Any) -> tuple[ResourcesCollector, Path, Path]:
    cmd, calls, state = fake_scontrol(tmp_path, mode=traits.pop("mode", "ok"))
    c = Config()
    c.ResourcesCollector.scontrol_command = cmd
    for k, v in traits.items():
        setattr(c.ResourcesCollector, k, v)
    col = ResourcesCollector(
        identity={"scheduler": "slurm", "options": {"environment": "python-3.11"}},
        environ=SLURM_ENV if env is None else env,
        config=c,
    )
    return col, calls, state


async def test_slurm_snapshot_from_env_and_one_query(tmp_path: Path) -> None:
    col, calls, _ = collector(tmp_path)
    await col.start()
    data = await col.snapshot()
    assert set(data) == KEYS
    assert data["scheduler"] == "slurm"
    assert data["job"] == {
        "id": "4321", "partition": "gpu", "account": "tier3", "qos": "normal", "nodes": "node01",
        "environment": "python-3.11",
    }
    assert data["allocation"]["cpus"] == 1.0  # the scheduler's NumCPUs wins over the env's
    assert data["time"]["limit_seconds"] == 1800
    assert 24 * 60 <= data["time"]["remaining_seconds"] <= 25 * 60
    assert ncalls(calls) == 1
    assert calls.read_text().split() == ["show", "job", "-o", "4321"]


async def test_many_polls_and_tabs_cost_one_query_per_period(tmp_path: Path) -> None:
    col, calls, state = collector(tmp_path, recheck_interval=1.0)
    await col.start()
    # 40 "tabs" at once, then 20 rounds: one call at start, none more within the period
    await asyncio.gather(*(col.snapshot() for _ in range(40)))
    for _ in range(20):
        await col.snapshot()
    assert ncalls(calls) == 1
    # the admin extends the job; after the period the next poll shows the new end
    st = json.loads(state.read_text())
    st["limit"] = 90
    state.write_text(json.dumps(st))
    await asyncio.sleep(1.05)
    results = await asyncio.gather(*(col.snapshot() for _ in range(10)))
    assert ncalls(calls) == 2  # single-flight: ten concurrent polls, one query
    assert all(r["time"]["limit_seconds"] == 90 * 60 for r in results)
    assert col.scheduler_calls == 2


@pytest.mark.parametrize("mode", ["fail", "garbage"])
async def test_failing_scheduler_gives_env_values_and_nulls(tmp_path: Path, mode: str) -> None:
    col, calls, _ = collector(tmp_path, mode=mode, recheck_interval=3600.0)
    data = await col.snapshot()
    assert data["job"]["id"] == "4321" and data["job"]["partition"] is None
    assert data["allocation"]["memory_bytes"] == 4096 << 20
    assert data["time"] == {"start": None, "end": None, "limit_seconds": None, "remaining_seconds": None}
    assert data["problems"] and "scontrol" in data["problems"][0]
    await col.snapshot()
    assert ncalls(calls) == 1  # a failure is not retried at every poll


async def test_scheduler_timeout(tmp_path: Path) -> None:
    col, _, _ = collector(tmp_path, mode="hang", scheduler_timeout=0.5)
    t0 = time.monotonic()
    data = await col.snapshot()
    assert time.monotonic() - t0 < 5
    assert data["time"]["end"] is None and "did not answer" in data["problems"][0]


async def test_missing_scontrol(tmp_path: Path) -> None:
    col, _, _ = collector(tmp_path, scontrol_command=[str(tmp_path / "nope")])
    data = await col.snapshot()
    assert data["job"]["id"] == "4321" and "cannot run" in data["problems"][0]


async def test_local_session_has_no_wall_time() -> None:
    col = ResourcesCollector(identity={"scheduler": "local", "options": {}}, environ={"MEM_LIMIT": "1073741824"})
    data = await col.snapshot()
    assert data["scheduler"] == "local"
    assert data["time"] == {"start": None, "end": None, "limit_seconds": None, "remaining_seconds": None}
    assert data["allocation"]["memory_bytes"] == 1 << 30
    assert "jupyterhub" in data["allocation"]["limits_from"]
    assert data["usage"]["memory_bytes"] > 0 and data["debug"]["scheduler_calls"] == 0
    assert data["job"]["nodes"]  # the host name


async def test_usage_is_cached_across_tabs() -> None:
    c = Config()
    c.ResourcesCollector.usage_cache_seconds = 60.0
    col = ResourcesCollector(environ={}, config=c)
    await asyncio.gather(*(col.snapshot() for _ in range(10)))
    assert col.usage_reads == 1
    await col.snapshot(usage=False)
    assert col.usage_reads == 1


async def test_cpu_percent_after_start() -> None:
    col = ResourcesCollector(environ={})
    await col.start()
    await asyncio.sleep(1.1)
    data = await col.snapshot()
    assert isinstance(data["usage"]["cpu_percent"], float) and data["usage"]["cpu_percent"] >= 0


async def test_test_end_in_is_honoured() -> None:
    c = Config()
    c.ResourcesCollector.test_end_in = 600.0
    col = ResourcesCollector(environ={}, config=c)
    data = await col.snapshot()
    assert 595 <= data["time"]["remaining_seconds"] <= 600


# --------------------------------------------------------------------------- over HTTP

async def test_endpoint_local(jp_fetch: Any) -> None:
    r = await jp_fetch("sdcc-lab", "api", "resources")
    assert r.code == 200
    data = json.loads(r.body)
    assert set(data) == KEYS and data["scheduler"] == "local"
    assert re.match(r"^\d{4}-\d\d-\d\dT.*Z$", data["updated_at"])
    assert r.headers["Cache-Control"] == "no-store"


async def test_endpoint_requires_auth(jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "resources", headers={"Authorization": ""})
    assert e.value.code == 403


async def test_endpoint_never_500s(jp_fetch: Any, jp_serverapp: Any) -> None:
    col = jp_serverapp.web_app.settings["sdcc_lab_resources"]

    async def boom(usage: bool = True) -> dict[str, Any]:
        raise RuntimeError("a bug")

    col.snapshot = boom
    r = await jp_fetch("sdcc-lab", "api", "resources")
    data = json.loads(r.body)
    assert r.code == 200 and data["allocation"]["cpus"] is None and "a bug" in data["problems"][0]


async def test_htcondor_session_from_recorded_ads() -> None:
    fixtures = Path(__file__).parent / "fixtures" / "htcondor"
    env = {
        "BATCH_SYSTEM": "HTCondor",
        "_CONDOR_JOB_AD": str(fixtures / "condor_q_long_held_job_htcondor-9.9.0.txt"),
        "_CONDOR_MACHINE_AD": str(fixtures / "machine_ad_slot1_from_condor_status_long_htcondor-8.9.12.ad"),
        "CUDA_VISIBLE_DEVICES": "",
    }
    col = ResourcesCollector(identity={"scheduler": "htcondor", "options": {}}, environ=env)
    data = await col.snapshot()
    assert data["scheduler"] == "htcondor"
    assert data["job"]["id"] == "15872426.5189" and data["job"]["partition"] is None
    assert data["allocation"] == {"cpus": 4.0, "memory_bytes": 16384 << 20, "gpus": 0, "limits_from": "htcondor"}
    assert data["time"]["limit_seconds"] == 1209600
    assert data["time"]["start"] == "2022-05-25T19:28:49Z"
    assert data["time"]["remaining_seconds"] < 0  # a 2022 job: its end has passed, and it says so
    assert data["debug"]["scheduler_calls"] == 0  # HTCondor: no daemon is asked


async def test_htcondor_ads_missing() -> None:
    col = ResourcesCollector(environ={"_CONDOR_JOB_AD": "/nonexistent/.job.ad"})
    data = await col.snapshot()
    assert data["scheduler"] == "htcondor" and data["job"]["id"] is None
    assert data["allocation"]["cpus"] is None and data["time"]["end"] is None
    assert "cannot read _CONDOR_JOB_AD" in data["problems"][0]
