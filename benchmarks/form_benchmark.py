"""Batch placement benchmark: form render, scheduler load, event-loop stalls, spawn-to-ready.

Runs against the real Slurm test cluster (``bash scripts/slurm/cluster.sh up``
and ``bash scripts/slurm/jobenv.sh`` first), as root:

    .venv/bin/python benchmarks/form_benchmark.py [--logins 50] [--spawns 3]

Part 1 (in one process, like the hub): render the SDCC form for 1 and for N
concurrent logins with a cold cache, then again warm; count the Slurm
commands run; record the longest stall of the event loop meanwhile.

Part 2 (real hubs): spawn-to-ready time of a Slurm session through a real
``sdcc-lab demo`` portal, side by side with batchspawner 1.3's SlurmSpawner
configured for the same job (partition cpu, 10 minutes), in the same run.

Targets (issue 4): warm render <= 20 ms, at most 3 Slurm commands per user per
cache period, no event-loop stall over 50 ms, spawn-to-ready no slower than
batchspawner's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from typing_extensions import Self

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sdcc_lab.hub import SDCCSpawner  # noqa: E402
from sdcc_lab.hub.discovery import SlurmDiscovery  # noqa: E402


class StallMonitor:
    """Measures how late a 5 ms timer fires: the event loop's longest stall."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - t0 - self.interval)

    def __enter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def spawner_for(name: str) -> SDCCSpawner:
    return SDCCSpawner(user=SimpleNamespace(name=name), orm_spawner=None)


async def render_many(n: int) -> tuple[list[float], float]:
    users = ["alice" if i % 2 == 0 else "bob" for i in range(n)]

    async def one(user: str) -> float:
        t0 = time.perf_counter()
        html = await spawner_for(user).render_form()
        assert "sdcc-spawn-form" in html
        return time.perf_counter() - t0

    with StallMonitor() as monitor:
        times = await asyncio.gather(*(one(u) for u in users))
    return list(times), monitor.worst


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def part1(logins: int) -> None:
    print("== Part 1: form render, Slurm commands, event-loop stalls (real Slurm) ==")
    print(
        f"{'logins':>6} {'cache':>5} {'median':>10} {'max':>10} {'slurm cmds':>10} {'worst stall':>12}"
    )
    for n in (1, logins):
        for cache in ("cold", "warm"):
            if cache == "cold":
                SlurmDiscovery.forget()
            SlurmDiscovery.commands_run.clear()
            times, stall = await render_many(n)
            commands = sum(SlurmDiscovery.commands_run.values())
            print(
                f"{n:>6} {cache:>5} {ms(statistics.median(times)):>10} {ms(max(times)):>10} "
                f"{commands:>10} {ms(stall):>12}"
            )
    print(
        "targets: warm median <= 20 ms; <= 3 Slurm commands per user per cache period "
        "(cluster-wide discovery: 3 for everyone); worst stall <= 50 ms"
    )


BATCHSPAWNER_CONFIG = """
import batchspawner  # registers batchspawner's port API
c.JupyterHub.spawner_class = "batchspawner.SlurmSpawner"
c.SlurmSpawner.req_partition = "cpu"
c.SlurmSpawner.req_account = "physics"
c.SlurmSpawner.req_qos = "normal"
c.SlurmSpawner.req_runtime = "00:10:00"
c.SlurmSpawner.exec_prefix = "/usr/sbin/runuser -u {username} --"
c.SlurmSpawner.batch_submit_cmd = "/usr/bin/sbatch --parsable"
c.SlurmSpawner.batch_query_cmd = "/usr/bin/squeue -h -j {job_id} -o '%T %B'"
c.SlurmSpawner.batch_cancel_cmd = "/usr/bin/scancel {job_id}"
c.SlurmSpawner.cmd = ["/opt/sdcc-lab/jobenv/bin/jupyterhub-singleuser"]
c.SlurmSpawner.batchspawner_singleuser_cmd = "/opt/sdcc-lab/jobenv/bin/batchspawner-singleuser"
c.SlurmSpawner.req_srun = ""
c.SlurmSpawner.environment = {"PATH": "/opt/sdcc-lab/jobenv/bin:/usr/bin:/bin"}
c.SlurmSpawner.startup_poll_interval = 0.5
c.SlurmSpawner.options_form = ""
c.Spawner.args = []
"""

SDCC_CONFIG = """
c.SlurmSessionSpawner.status_interval = 0.5
"""


def spawn_to_ready(config_text: str, options: dict[str, Any] | None, spawns: int) -> list[float]:
    from conftest import _start_portal
    from hubclient import HubClient

    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "extra.py"
        config.write_text(config_text)
        portal = _start_portal(Path(tmp) / "data", args=("--config", str(config)))
        try:
            client = HubClient(portal.url, "alice")
            # Log in without following the redirect to /hub/spawn, which would
            # start a spawner without a form before the clock runs.
            client.session.get(client.url + "hub/login").raise_for_status()
            client.session.post(
                client.url + "hub/login",
                data={"username": "alice", "password": "x", "_xsrf": client.xsrf("/hub/")},
                allow_redirects=False,
            ).raise_for_status()
            for _ in range(spawns):
                t0 = time.perf_counter()
                r = client.hub_api("POST", "users/alice/server", json=options or {})
                assert r.status_code in (201, 202), r.text
                client.wait_ready(180)
                times.append(time.perf_counter() - t0)
                client.stop_server()
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if not client.hub_api("GET", "users/alice").json()["servers"]:
                        break
                    time.sleep(0.5)
                time.sleep(2)
        finally:
            portal.stop()
    return times


def part2(spawns: int) -> None:
    print("\n== Part 2: spawn-to-ready on the test cluster (partition cpu, 10 min) ==")
    ensure = subprocess.run(
        ["/opt/sdcc-lab/jobenv/bin/python", "-c", "import batchspawner"], capture_output=True
    )
    if ensure.returncode != 0:
        subprocess.run(
            ["/opt/sdcc-lab/jobenv/bin/pip", "install", "-q", "batchspawner==1.3.0"], check=True
        )
        subprocess.run(["chmod", "-R", "a+rX", "/opt/sdcc-lab/jobenv"], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "batchspawner==1.3.0"], check=True
    )
    ours = spawn_to_ready(
        SDCC_CONFIG,
        {"partition": "cpu", "account": "physics", "qos": "normal", "runtime": 10},
        spawns,
    )
    theirs = spawn_to_ready(BATCHSPAWNER_CONFIG, None, spawns)
    print(
        f"sdcc_lab SlurmSessionSpawner: median {statistics.median(ours):.2f} s  {[f'{t:.2f}' for t in ours]}"
    )
    print(
        f"batchspawner SlurmSpawner:    median {statistics.median(theirs):.2f} s  {[f'{t:.2f}' for t in theirs]}"
    )
    print(
        f"ratio sdcc_lab / batchspawner: {statistics.median(ours) / statistics.median(theirs):.2f} (target <= 1)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument("--spawns", type=int, default=3)
    parser.add_argument("--skip-spawn", action="store_true")
    args = parser.parse_args()
    asyncio.run(part1(args.logins))
    if not args.skip_spawn:
        part2(args.spawns)


if __name__ == "__main__":
    main()
