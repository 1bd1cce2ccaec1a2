"""``GET sdcc-lab/api/resources`` and the collector behind it.

A fake ``scontrol`` (a script that counts its calls and prints the recorded
22.05 ``scontrol show job -o`` line, made RUNNING with a chosen time limit)
stands in for the controller here; tests/test_resources_slurm.py uses the real
test cluster. Periods pass on an injected clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openapi_check import assert_matches
from traitlets.config import Config

from sdcc_lab.resources.collector import ResourcesCollector
from sdcc_lab.resources.facts import Facts
from sdcc_lab.session import SESSION_ENV, resolve_session

RECORDED = (
    Path(__file__).parent
    / "fixtures/slurm/scontrol_show_job_oneline/slurm-22.05-or-earlier_completed_job.txt"
)
KEYS = {
    "scheduler",
    "job",
    "allocation",
    "time",
    "usage",
    "updated_at",
    "scheduler_checked_at",
    "problems",
    "storage",
    "memory_warning_share",
}


def fake_scontrol(
    tmp_path: Path, limit_minutes: int = 30, mode: str = "ok"
) -> tuple[list[str], Path, Path]:
    """A counting scontrol; returns (command, calls file, state file)."""
    calls = tmp_path / "calls"
    state = tmp_path / "state.json"
    start = datetime.now().replace(microsecond=0) - timedelta(
        minutes=5
    )  # scontrol prints local time
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
IDENTITY = json.dumps({"scheduler": "slurm", "options": {"environment": "python-3.11"}})


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(
    env: dict[str, str], clock: Clock | None = None, config: Config | None = None, **kw: Any
) -> ResourcesCollector:
    """A collector for a server with this environment (its Session resolved from it)."""
    return ResourcesCollector(
        session=resolve_session(env, user="alice"),
        environ=env,
        clock=clock or Clock(),
        config=config or Config(),
        **kw,
    )


def collector(
    tmp_path: Path, env: dict[str, str] | None = None, clock: Clock | None = None, **traits: Any
) -> tuple[ResourcesCollector, Path, Path]:
    cmd, calls, state = fake_scontrol(tmp_path, mode=traits.pop("mode", "ok"))
    c = Config()
    c.ResourcesCollector.scontrol_command = cmd
    for k, v in traits.items():
        setattr(c.ResourcesCollector, k, v)
    environ = {**(SLURM_ENV if env is None else env), SESSION_ENV: IDENTITY}
    return make(environ, clock, c), calls, state


async def test_slurm_snapshot_from_env_and_one_query(tmp_path: Path) -> None:
    col, calls, _ = collector(tmp_path)
    await col.start()
    data = await col.snapshot()
    assert set(data) == KEYS
    assert data["scheduler"] == "slurm"
    assert data["job"] == {
        "id": "4321",
        "partition": "gpu",
        "account": "tier3",
        "qos": "normal",
        "nodes": "node01",
        "environment": "python-3.11",
    }
    assert data["allocation"]["cpus"] == 1.0  # the scheduler's NumCPUs wins over the env's
    assert data["time"]["limit_seconds"] == 1800
    assert 24 * 60 <= data["time"]["remaining_seconds"] <= 25 * 60
    assert data["problems"] == []
    assert ncalls(calls) == 1
    assert calls.read_text().split() == ["show", "job", "-o", "4321"]


async def test_many_polls_and_tabs_cost_one_query_per_period(tmp_path: Path) -> None:
    clock = Clock()
    col, calls, state = collector(tmp_path, clock=clock, recheck_interval=300.0)
    await col.start()
    first_check = (await col.snapshot())["scheduler_checked_at"]
    # 40 "tabs" at once, then 20 polls 10 s apart: one call at start, none more within the period
    await asyncio.gather(*(col.snapshot() for _ in range(40)))
    for _ in range(20):
        clock.advance(10)
        assert (await col.snapshot())["scheduler_checked_at"] == first_check
    assert ncalls(calls) == 1
    # the admin extends the job; after the period the next polls show the new end
    st = json.loads(state.read_text())
    st["limit"] = 90
    state.write_text(json.dumps(st))
    clock.advance(100)
    results = await asyncio.gather(*(col.snapshot() for _ in range(10)))
    assert ncalls(calls) == 2  # single-flight: ten concurrent polls, one query
    assert all(r["time"]["limit_seconds"] == 90 * 60 for r in results)
    assert results[0]["scheduler_checked_at"] > first_check


@pytest.mark.parametrize("mode", ["fail", "garbage"])
async def test_failing_scheduler_gives_env_values_and_nulls(tmp_path: Path, mode: str) -> None:
    clock = Clock()
    col, calls, _ = collector(tmp_path, clock=clock, mode=mode, recheck_interval=3600.0)
    data = await col.snapshot()
    assert data["job"]["id"] == "4321" and data["job"]["partition"] is None
    assert data["allocation"]["memory_bytes"] == 4096 << 20
    assert data["time"] == {
        "start": None,
        "end": None,
        "limit_seconds": None,
        "remaining_seconds": None,
    }
    assert data["problems"] and "scontrol" in data["problems"][0]
    clock.advance(3599)
    assert (await col.snapshot())["problems"] == data["problems"]
    assert ncalls(calls) == 1  # a failure is not retried at every poll
    clock.advance(2)
    await col.snapshot()
    assert ncalls(calls) == 2  # but once the period is over


async def test_failed_recheck_keeps_the_last_answer(tmp_path: Path) -> None:
    clock = Clock()
    col, calls, state = collector(tmp_path, clock=clock, recheck_interval=300.0)
    assert (await col.snapshot())["time"]["limit_seconds"] == 1800
    st = json.loads(state.read_text())
    st["mode"] = "fail"
    state.write_text(json.dumps(st))
    clock.advance(301)
    data = await col.snapshot()
    assert ncalls(calls) == 2
    assert data["time"]["limit_seconds"] == 1800 and data["job"]["partition"] == "gpu"
    assert "Unable to contact slurm controller" in data["problems"][0]


async def test_scheduler_timeout(tmp_path: Path) -> None:
    col, _, _ = collector(tmp_path, mode="hang", scheduler_timeout=0.5)
    data = await col.snapshot()
    assert data["time"]["end"] is None and "did not answer within 0.5 s" in data["problems"][0]


async def test_missing_scontrol(tmp_path: Path) -> None:
    col, _, _ = collector(tmp_path, scontrol_command=[str(tmp_path / "nope")])
    data = await col.snapshot()
    assert data["job"]["id"] == "4321" and "cannot run" in data["problems"][0]


async def test_local_session_has_no_wall_time() -> None:
    col = make({"MEM_LIMIT": "1073741824"})
    data = await col.snapshot()
    assert data["scheduler"] == "local"
    assert data["time"] == {
        "start": None,
        "end": None,
        "limit_seconds": None,
        "remaining_seconds": None,
    }
    assert data["allocation"]["memory_bytes"] == 1 << 30
    assert "jupyterhub" in data["allocation"]["limits_from"]
    assert data["scheduler_checked_at"] is None  # no scheduler was asked
    assert data["job"]["nodes"] == socket.gethostname()


async def test_local_identity_ignores_a_slurm_job_around_it(tmp_path: Path) -> None:
    """The session's rule: the identity says local, so SLURM_JOB_ID is not this session's job."""
    cmd, calls, _ = fake_scontrol(tmp_path)
    c = Config()
    c.ResourcesCollector.scontrol_command = cmd
    env = {**SLURM_ENV, SESSION_ENV: json.dumps({"scheduler": "local", "options": {}})}
    data = await make(env, config=c).snapshot()
    assert data["scheduler"] == "local" and data["job"]["id"] is None
    assert ncalls(calls) == 0
    assert any("not this session's" in p for p in data["problems"])


async def test_usage_is_cached_across_tabs() -> None:
    clock = Clock()
    c = Config()
    c.ResourcesCollector.usage_cache_seconds = 60.0
    col = make({}, clock, c)
    reads = 0
    sample = col.usage_sampler.sample

    def counted(location: Any) -> Any:
        nonlocal reads
        reads += 1
        return sample(location)

    col.usage_sampler.sample = counted  # type: ignore[method-assign]
    await asyncio.gather(*(col.snapshot() for _ in range(10)))
    assert reads == 1
    await col.snapshot(usage=False)
    clock.advance(59)
    await col.snapshot()
    assert reads == 1
    clock.advance(2)
    await col.snapshot()
    assert reads == 2


@pytest.fixture
def busy_child() -> Iterator[subprocess.Popen[str]]:
    """A child of this process that holds 200 MiB of touched memory, then spins on a CPU."""
    code = (
        "import sys\nheld = bytearray(200 << 20)\nfor i in range(0, len(held), 4096): held[i] = 1\n"
        "print('ready', flush=True)\nwhile True: pass\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        yield child
    finally:
        child.kill()
        child.wait()


def cpu_seconds_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_cpu(pid: int, seconds: float) -> None:
    """Wait for the event "the process has used ``seconds`` more of CPU" (not for time to pass)."""
    target = cpu_seconds_of(pid) + seconds
    while cpu_seconds_of(pid) < target:
        time.sleep(0.05)


async def test_busy_child_shows_in_cpu_and_memory(
    tmp_path: Path, busy_child: subprocess.Popen[str]
) -> None:
    """What a user checks: a kernel spinning on a CPU and holding 200 MiB shows in the panel."""
    clock = Clock()
    c = Config()
    c.ResourcesCollector.cgroup_root = str(tmp_path)  # no cgroup here: the process tree is measured
    col = make({}, clock, c)
    await col.start()
    wait_for_cpu(busy_child.pid, 1.0)
    clock.advance(2.0)  # on the collector's clock, those CPU seconds took 2 s
    data = await col.snapshot()
    usage = data["usage"]
    assert usage["measured_from"] == "processes"
    assert usage["cpu_percent"] >= 50.0  # at least the child's 1 s of CPU in 2 s
    busy_child.kill()
    busy_child.wait()
    clock.advance(2.0)
    after = (await col.snapshot())["usage"]
    assert (
        195 << 20 <= usage["memory_bytes"] - after["memory_bytes"] <= 260 << 20
    )  # the child's 200 MiB


async def test_an_injected_query_gives_a_local_session_an_end() -> None:
    """How the browser tests get a near end on a local session: a query object, not a product setting."""

    class FixedEnd:
        async def fetch(self) -> Facts:
            start = datetime.now(timezone.utc)
            return Facts(start=start, end=start + timedelta(seconds=600), limit_seconds=600)

    col = make({})
    await col.start()
    assert (await col.snapshot())["time"]["end"] is None
    col.use_query(FixedEnd())  # what ui-tests/sdcc_lab_fixed_end.py does
    data = await col.snapshot()
    assert data["scheduler"] == "local" and data["time"]["limit_seconds"] == 600
    assert 595 <= data["time"]["remaining_seconds"] <= 600


# --------------------------------------------------------------------------- over HTTP


async def test_endpoint_local(jp_fetch: Any) -> None:
    r = await jp_fetch("sdcc-lab", "api", "resources")
    assert r.code == 200
    data = json.loads(r.body)
    assert set(data) == KEYS and data["scheduler"] == "local"
    assert_matches("Resources", data)  # the shape server.json describes
    assert re.match(r"^\d{4}-\d\d-\d\dT.*Z$", data["updated_at"])
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("value", ["maybe", "00000000000000000", "", "1 ", "NO"])
async def test_a_usage_value_outside_the_description_is_400(jp_fetch: Any, value: str) -> None:
    """``usage`` is one of server.json's values; anything else is a clear 400, not a guess."""
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "resources", params={"usage": value})
    assert e.value.code == 400
    assert e.value.response is not None
    assert "'usage'" in json.loads(e.value.response.body)["message"]


@pytest.mark.parametrize("value", ["0", "false", "no", "1", "true", "yes"])
async def test_the_described_usage_values(jp_fetch: Any, value: str) -> None:
    r = await jp_fetch("sdcc-lab", "api", "resources", params={"usage": value})
    data = json.loads(r.body)
    assert r.code == 200
    assert (data["usage"]["measured_from"] is None) == (value in ("0", "false", "no"))


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
    assert_matches("Resources", data)


async def test_htcondor_session_from_recorded_ads() -> None:
    fixtures = Path(__file__).parent / "fixtures" / "htcondor"
    env = {
        "BATCH_SYSTEM": "HTCondor",
        "_CONDOR_JOB_AD": str(fixtures / "condor_q_long_held_job_htcondor-9.9.0.txt"),
        "_CONDOR_MACHINE_AD": str(
            fixtures / "machine_ad_slot1_from_condor_status_long_htcondor-8.9.12.ad"
        ),
        "CUDA_VISIBLE_DEVICES": "",
    }
    col = make({**env, SESSION_ENV: json.dumps({"scheduler": "htcondor", "options": {}})})
    data = await col.snapshot()
    assert data["scheduler"] == "htcondor"
    assert data["job"]["id"] == "15872426.5189" and data["job"]["partition"] is None
    assert data["allocation"] == {
        "cpus": 4.0,
        "memory_bytes": 16384 << 20,
        "gpus": 0,
        "limits_from": "htcondor",
    }
    assert data["time"]["limit_seconds"] == 1209600
    assert data["time"]["start"] == "2022-05-25T19:28:49Z"
    assert data["time"]["remaining_seconds"] < 0  # a 2022 job: its end has passed, and it says so
    assert data["scheduler_checked_at"] is None  # HTCondor: no daemon is asked


async def test_htcondor_ads_missing() -> None:
    col = make({"_CONDOR_JOB_AD": "/nonexistent/.job.ad"})
    data = await col.snapshot()
    assert data["scheduler"] == "htcondor" and data["job"]["id"] is None
    assert data["allocation"]["cpus"] is None and data["time"]["end"] is None
    assert "cannot read _CONDOR_JOB_AD" in data["problems"][0]
