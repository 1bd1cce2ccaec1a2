"""Start-estimate benchmark: accuracy, scheduler load under a login storm, warm render.

Runs against the real Slurm test cluster (``bash scripts/slurm/cluster.sh up``),
as root, holding the Slurm lock (it fills the node with bob's jobs):

    flock -o /tmp/sdcc-slurm.lock .venv/bin/python benchmarks/estimate_benchmark.py \
        [--users 200] [--window 30] [--skip-accuracy]

Part 1, accuracy: for several ways of filling the node with bob's jobs of known
length, alice's estimate (``sbatch --test-only`` through the form spawner, as
the hub runs it), then her real job with the same arguments: estimated against
actual start.

Part 2, scheduler load: N users use the form at once for a window of seconds
(each opens it, then changes runtime or cores a few times at random moments,
as the debounced form sends them). Test submissions are counted by a counting
sbatch wrapper (each is a real ``sbatch --test-only`` as alice). Baseline: one
test submission per change with no cache or budget, i.e. one command per
request (counted, not run: 200 users' worth of concurrent sbatch would be the
very load the budget prevents). Also the event loop's longest stall (a 5 ms
timer's lateness) and the answer time.

Part 3, form render with an estimate, warm (discovery and the estimate
cached), against the same render without an estimate in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from form_benchmark import StallMonitor  # noqa: E402

from sdcc_lab.hub import SDCCSpawner  # noqa: E402
from sdcc_lab.hub.discovery import SlurmDiscovery  # noqa: E402
from sdcc_lab.hub.estimate import StartEstimate, StartEstimator  # noqa: E402

WRAPPER = """#!/bin/bash
echo "$(date +%s.%N)" >> {log}
exec /usr/bin/sbatch "$@"
"""


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


def job_field(job: str, key: str) -> str:
    m = re.search(rf"\b{key}=(\S+)", sh("/usr/bin/scontrol", "show", "job", "-o", job))
    return m.group(1) if m else ""


def wait_state(job: str, states: tuple[str, ...]) -> None:
    while job_field(job, "JobState") not in states:
        time.sleep(0.3)


def slurm_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").astimezone().astimezone(timezone.utc)


def clear_queue() -> None:
    for user in ("alice", "bob"):
        subprocess.run(["/usr/bin/scancel", "-u", user], check=False)
    deadline = time.monotonic() + 60
    while sh("/usr/bin/squeue", "-h", "-o", "%i").split() and time.monotonic() < deadline:
        time.sleep(0.5)


def spawner_for(name: str, estimator: StartEstimator, sbatch: str = "/usr/bin/sbatch") -> Any:
    spawner = SDCCSpawner(user=SimpleNamespace(name=name, escaped_name=name), orm_spawner=None)
    spawner.estimator = estimator
    spawner.config.SlurmSessionSpawner.sbatch = sbatch
    return spawner


def bob_job(cpus: int, minutes: int, seconds: int) -> str:
    return sh(
        "/usr/sbin/runuser", "-u", "bob", "--", "/usr/bin/sbatch", "--parsable",
        f"--time={minutes}", f"--cpus-per-task={cpus}", "--partition=cpu", "--account=tier3",
        "--output=/dev/null", "--chdir=/tmp", "--wrap", f"sleep {seconds}",
    ).strip()  # fmt: skip


def alice_job(cpus: int) -> str:
    return sh(
        "/usr/sbin/runuser", "-u", "alice", "--", "/usr/bin/sbatch", "--parsable",
        "--time=2", f"--cpus-per-task={cpus}", "--partition=cpu", "--account=physics",
        "--output=/dev/null", "--chdir=/tmp", "--wrap", "sleep 1",
    ).strip()  # fmt: skip


# (name, bob's jobs as (cpus, time limit in minutes, seconds they run), alice's cores)
PATTERNS = [
    ("node idle", [], 1),
    ("one 4-core job, runs to its 1-min limit", [(4, 1, 300)], 1),
    ("one 4-core job, ends at 40 s of a 1-min limit", [(4, 1, 40)], 1),
    ("2+2 cores ending at 1 and 2 min; alice needs 3", [(2, 1, 300), (2, 2, 300)], 3),
    ("2+2 cores ending at 1 and 2 min; alice needs 2", [(2, 1, 300), (2, 2, 300)], 2),
]


async def accuracy() -> list[tuple[str, float, float, float]]:
    rows = []
    for name, jobs, cpus in PATTERNS:
        clear_queue()
        for spec in jobs:
            job = bob_job(*spec)
            await asyncio.to_thread(wait_state, job, ("RUNNING",))
        estimator = StartEstimator(user_interval=0, cache_ttl=0)
        spawner = spawner_for("alice", estimator)
        asked = datetime.now(timezone.utc)
        answer = await spawner.start_estimate(
            {"partition": "cpu", "account": "physics", "runtime": 2, "cpus": cpus}
        )
        expected = answer.start or asked
        job = alice_job(cpus)
        await asyncio.to_thread(wait_state, job, ("RUNNING", "COMPLETED", "COMPLETING"))
        started = slurm_time(job_field(job, "StartTime"))
        rows.append(
            (
                name,
                (expected - asked).total_seconds(),
                (started - asked).total_seconds(),
                (started - expected).total_seconds(),
            )
        )
    clear_queue()
    return rows


def counting_wrapper(folder: Path) -> tuple[Path, Path]:
    """An sbatch that logs each call (alice runs it: everyone may read and append)."""
    folder.chmod(0o755)
    log = folder / "calls.log"
    log.touch()
    log.chmod(0o666)
    wrapper = folder / "sbatch"
    wrapper.write_text(WRAPPER.format(log=log))
    wrapper.chmod(0o755)
    return wrapper, log


async def storm(users: int, window: float, **budget: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sdcc-estimate-bench-") as tmp:
        wrapper, log = counting_wrapper(Path(tmp))
        estimator = StartEstimator(**budget)
        SlurmDiscovery.forget()
        spawners = [spawner_for("alice", estimator, str(wrapper)) for _ in range(users)]
        rng = random.Random(7)
        latencies: list[float] = []
        sources: list[str] = []

        async def one_user(n: int) -> None:
            # The estimator keys on the user name; the cluster has one account to run as.
            spawner = spawners[n]
            moments = sorted(rng.uniform(0, window) for _ in range(4))
            choices = [{"partition": "cpu", "runtime": 30}] + [
                {"partition": "cpu", "runtime": rng.choice([10, 20, 30, 60]),
                 "cpus": rng.choice([1, 2, 4])}
                for _ in moments
            ]  # fmt: skip
            t_start = time.monotonic()
            for i, options in enumerate(choices):
                if i:
                    await asyncio.sleep(max(0.0, t_start + moments[i - 1] - time.monotonic()))
                t0 = time.perf_counter()
                validated = await spawner.validate(options)
                answer: StartEstimate = await estimator.estimate(
                    f"user{n}", validated, submit=spawner.test_submit, free=spawner.free_lookup
                )
                latencies.append(time.perf_counter() - t0)
                sources.append(answer.source)

        t0 = time.monotonic()
        with StallMonitor() as monitor:
            await asyncio.gather(*(one_user(n) for n in range(users)))
        elapsed = time.monotonic() - t0
        submissions = len(log.read_text().splitlines())
        return {
            "requests": len(latencies),
            "elapsed": elapsed,
            "submissions": submissions,
            "per_minute": submissions / elapsed * 60,
            "baseline_per_minute": len(latencies) / elapsed * 60,
            "stall_ms": monitor.worst * 1000,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": sorted(latencies)[int(len(latencies) * 0.95)] * 1000,
            "sources": {s: sources.count(s) for s in sorted(set(sources))},
        }


async def idle_stall(seconds: float) -> float:
    """The event loop's longest stall with nothing to do: this machine's noise."""
    with StallMonitor() as monitor:
        await asyncio.sleep(seconds)
    return monitor.worst * 1000


async def render_warm(runs: int) -> tuple[float, float]:
    estimator = StartEstimator(cache_ttl=3600)
    spawner = spawner_for("alice", estimator)
    html = await spawner.render_form()  # warms discovery, the node query and the estimate
    assert 'id="sdcc-estimate"' in html and "Starts now" in html, html[:500]

    async def timed() -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await spawner.render_form()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    with_estimate = await timed()

    async def none(options: Any) -> StartEstimate:
        return StartEstimate(True, None, None, "cached")

    spawner.start_estimate = none  # the render's own cost, without asking the estimator
    without = await timed()
    return with_estimate, without


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--renders", type=int, default=50)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()

    if not args.skip_accuracy:
        print("Part 1: accuracy (seconds from the question; error = actual - estimated)")
        print("| fill pattern | estimated | actual | error |")
        print("| --- | --- | --- | --- |")
        for name, est, actual, error in asyncio.run(accuracy()):
            print(f"| {name} | {est:.0f} s | {actual:.0f} s | {error:+.0f} s |")

    clear_queue()
    print(f"\nPart 2: {args.users} users using the form at once for {args.window:.0f} s")
    print("| budget | requests | test submissions | per minute | worst stall | answer p50 / p95 |")
    print("| --- | --- | --- | --- | --- | --- |")
    baseline = 0.0
    for label, budget in [
        ("defaults (4 at once, 120/min, 1 per user per 5 s, 30 s cache)", {}),
        ("without the per-minute cap", {"max_per_minute": 0}),
    ]:
        result = asyncio.run(storm(args.users, args.window, **budget))
        baseline = result["baseline_per_minute"]
        print(
            f"| {label} | {result['requests']} | {result['submissions']} "
            f"| {result['per_minute']:.0f} ({result['per_minute'] / baseline:.3f}) "
            f"| {result['stall_ms']:.1f} ms | {result['p50_ms']:.1f} / {result['p95_ms']:.1f} ms |"
        )
        print(f"<!-- sources {result['sources']} -->")
    print(
        f"| baseline: one per change, no cache | {result['requests']} | {result['requests']} "
        f"| {baseline:.0f} (1) | (not run) | |"
    )
    print(f"the loop's worst stall idle on this machine: {asyncio.run(idle_stall(10)):.1f} ms")

    print(f"\nPart 3: form render, warm, median of {args.renders}")
    with_estimate, without = asyncio.run(render_warm(args.renders))
    print(f"with the estimate {with_estimate:.2f} ms, without {without:.2f} ms, "
          f"ratio {with_estimate / without:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
