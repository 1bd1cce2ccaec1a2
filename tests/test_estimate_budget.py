"""The estimate's budget, counted for real: 50 users changing their choice at once.

The hub's estimator runs real ``sbatch --test-only`` (as alice, on the test
cluster) through a wrapper script that logs when each command starts and ends,
so the number of test submissions and how many ran at once are counted from
the commands themselves, not from the estimator's own bookkeeping. The 50 users
are 50 keys of the estimator (the cluster has two accounts); what each user
may use plays no part in the budget.

``test_slurm_down_is_unavailable_with_a_reason`` uses a stand-in sbatch that
prints what Slurm's clients print when slurmctld does not answer (recorded from
the test cluster with the controller stopped is not possible here: it serves
the other helpers' tests).
"""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from sdcc_lab.hub.discovery import SlurmDiscovery
from sdcc_lab.hub.estimate import StartEstimate, StartEstimator
from sdcc_lab.scheduler.commands import run_as_user

WRAPPER = """#!/bin/bash
# Counts every test submission: one START and one END line each, with the time.
echo "START $$ $(date +%s.%N)" >> {log}
/usr/bin/sbatch "$@"
rc=$?
echo "END $$ $(date +%s.%N)" >> {log}
exit $rc
"""
ARGS = ["--test-only", "--partition=cpu", "--account=physics", "--output=/dev/null", "--chdir=/tmp"]


def counting_sbatch(tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / "bin"
    folder.mkdir()
    log = folder / "calls.log"
    log.touch()
    log.chmod(0o666)  # written by alice's commands
    script = folder / "sbatch"
    script.write_text(WRAPPER.format(log=log))
    script.chmod(0o755)
    # alice must reach the wrapper through every parent folder.
    for parent in [folder, *folder.parents]:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
    return str(script), log


def calls(log: Path) -> tuple[int, int]:
    """(test submissions, the most that ran at once) from the wrapper's log."""
    events = []
    for line in log.read_text().splitlines():
        kind, _pid, at = line.split()
        events.append((float(at), 1 if kind == "START" else -1))
    running = peak = 0
    for _at, step in sorted(events):
        running += step
        peak = max(peak, running)
    return sum(1 for _, s in events if s == 1), peak


def submitter(sbatch: str, runtime: int) -> Any:
    async def submit(options: dict[str, Any]) -> str:
        result = await run_as_user(
            ["/usr/sbin/runuser", "-u", "{username}", "--"],
            "alice",
            [sbatch, *ARGS, f"--time={options['runtime']}"],
            timeout=30,
            env={"SLURM_TIME_FORMAT": "%s"},
            input_text="#!/bin/bash\ntrue\n",
            cwd="/tmp",
        )
        return result.stderr

    return submit


DISCOVERY = SlurmDiscovery(free_ttl=60.0)


async def free(partition: str) -> dict[str, int] | None:
    """The partition's free resources from the one shared node query (the form's fallback)."""
    found = (await DISCOVERY.free_resources()).get(partition)
    return found.as_lookup() if found else None


async def wave(est: StartEstimator, sbatch: str, users: int, runtime: int) -> list[StartEstimate]:
    return await asyncio.gather(
        *(
            est.estimate(f"user{n}", {"partition": "cpu", "runtime": runtime + n % 3},
                         submit=submitter(sbatch, runtime), free=free)
            for n in range(users)
        )
    )  # fmt: skip


@pytest.mark.slurm
def test_fifty_users_at_once_are_capped_hub_wide_and_per_user(tmp_path: Path) -> None:
    sbatch, log = counting_sbatch(tmp_path)
    est = StartEstimator(max_concurrent=4, user_interval=3.0, cache_ttl=30.0)
    SlurmDiscovery.forget()
    nodes_before = SlurmDiscovery.commands_run["node"]

    async def scenario() -> None:
        # Everyone opens the form: four test submissions, the others a partition-level answer.
        first = await wave(est, sbatch, 50, 10)
        count, peak = calls(log)
        assert count == 4 and peak <= 4
        assert [a.source for a in first].count("slurm") == 4
        assert [a.source for a in first].count("cached") == 46
        # The others are answered from the free resources (an idle node): "starts now",
        # from one node query shared by all of them.
        assert all(a.starts_now for a in first)
        assert SlurmDiscovery.commands_run["node"] - nodes_before == 1
        # Everyone changes the runtime at once: the four who just asked are within their
        # interval (partition-level answers); four others get the slots, never more at once.
        second = await wave(est, sbatch, 50, 20)
        count, peak = calls(log)
        assert count == 8 and peak <= 4
        assert [a.source for a in second[:4]] == ["cached"] * 4
        assert [a.source for a in second].count("slurm") == 4
        # The first four ask their first question again, later: answered from the cache.
        await asyncio.sleep(3.2)
        again = await asyncio.gather(
            *(est.estimate(f"user{n}", {"partition": "cpu", "runtime": 10 + n % 3},
                           submit=submitter(sbatch, 10)) for n in range(4))
        )  # fmt: skip
        assert calls(log)[0] == 8 and all(a.source == "slurm" for a in again)
        assert est.counts["cache_hit"] == 4
        # A third change by all 50: four more test submissions, whatever the number of users.
        await wave(est, sbatch, 50, 30)
        count, peak = calls(log)
        assert count == 12 and peak <= 4

    asyncio.run(scenario())


def test_slurm_down_is_unavailable_with_a_reason(tmp_path: Path) -> None:
    down = tmp_path / "sbatch"
    down.write_text(
        "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: "
        "Unable to contact slurm controller (connect failure)' >&2\nexit 1\n"
    )
    down.chmod(0o755)

    async def submit(options: dict[str, Any]) -> str:
        result = await run_as_user([], "root", [str(down), "--test-only"], timeout=10)
        return result.stderr

    answer = asyncio.run(StartEstimator().estimate("alice", {"partition": "cpu"}, submit=submit))
    assert (answer.starts_now, answer.start, answer.source) == (False, None, "unavailable")
    assert answer.reason is not None and "Unable to contact slurm controller" in answer.reason
    assert answer.to_json()["source"] == "unavailable"


def test_a_refusal_is_slurms_answer_in_its_own_words(tmp_path: Path) -> None:
    refuses = tmp_path / "sbatch"
    refuses.write_text(
        "#!/bin/sh\necho 'sbatch: error: QOSMaxWallDurationPerJobLimit' >&2\n"
        "echo 'allocation failure: Job violates accounting/QOS policy' >&2\nexit 1\n"
    )
    refuses.chmod(0o755)

    async def submit(options: dict[str, Any]) -> str:
        return (await run_as_user([], "root", [str(refuses)], timeout=10)).stderr

    answer = asyncio.run(StartEstimator().estimate("alice", {"partition": "gpu"}, submit=submit))
    assert answer.to_json() == {
        "starts_now": False,
        "start": None,
        "reason": "QOSMaxWallDurationPerJobLimit; Job violates accounting/QOS policy",
        "source": "slurm",
    }


def test_a_user_closing_the_tab_does_not_cancel_the_others_answer() -> None:
    started = asyncio.Event()

    async def slow(options: dict[str, Any]) -> str:
        started.set()
        await asyncio.sleep(0.2)
        return f"sbatch: Job 1 to start at {int(time.time())} using 1 processors on nodes vm in partition cpu"

    async def scenario() -> StartEstimate:
        est = StartEstimator()
        first = asyncio.ensure_future(est.estimate("alice", {"partition": "cpu"}, submit=slow))
        await started.wait()
        second = asyncio.ensure_future(est.estimate("alice", {"partition": "cpu"}, submit=slow))
        first.cancel()
        return await second

    answer = asyncio.run(scenario())
    assert (answer.starts_now, answer.source) == (True, "slurm")


def test_over_budget_answers_come_from_the_partitions_cached_data() -> None:
    """With the budget taken: first the free resources say no node fits, then the
    partition's latest Slurm answer (another user's) stands in, marked cached."""
    later = int(time.time()) + 600
    release = asyncio.Event()

    async def slurm_says_later(options: dict[str, Any]) -> str:
        await release.wait()
        return f"sbatch: Job 9 to start at {later} using 1 processors on nodes vm in partition cpu"

    async def node_full(partition: str) -> dict[str, int] | None:
        return {"cpus": 0, "memory_mib": 18000, "gpus": 1, "node_cpus": 0}

    async def scenario() -> list[StartEstimate]:
        est = StartEstimator(max_concurrent=1)
        options = {"partition": "cpu", "runtime": 10}
        first = asyncio.ensure_future(
            est.estimate("alice", options, submit=slurm_says_later, free=node_full)
        )
        await asyncio.sleep(0)
        busy = await est.estimate("bob", options, submit=slurm_says_later, free=node_full)
        release.set()
        answered = await first
        blocker = asyncio.Event()

        async def hold(options: dict[str, Any]) -> str:
            await blocker.wait()
            return ""

        held = asyncio.ensure_future(est.estimate("carol", {**options, "runtime": 20}, submit=hold))
        await asyncio.sleep(0)
        stand_in = await est.estimate("dave", options, submit=slurm_says_later, free=node_full)
        blocker.set()
        await held
        return [busy, answered, stand_in]

    busy, answered, stand_in = asyncio.run(scenario())
    assert busy.to_json() == {
        "starts_now": False,
        "start": None,
        "reason": "No estimate right now (no free node fits it now, and the scheduler is busy).",
        "source": "cached",
    }
    assert (answered.starts_now, answered.source) == (False, "slurm")
    assert answered.start is not None and int(answered.start.timestamp()) == later
    assert (stand_in.starts_now, stand_in.start, stand_in.source) == (
        False,
        answered.start,
        "cached",
    )


def test_at_most_max_per_minute_start_in_any_minute() -> None:
    now = [1000.0]
    ran: list[str] = []

    async def submit(options: dict[str, Any]) -> str:
        ran.append(str(options["runtime"]))
        return f"sbatch: Job 1 to start at {int(time.time())} using 1 processors on nodes vm"

    async def scenario(est: StartEstimator, first: int) -> list[StartEstimate]:
        return list(
            await asyncio.gather(
                *(
                    est.estimate(f"user{n}", {"partition": "cpu", "runtime": first + n}, submit)
                    for n in range(10)
                )
            )
        )

    est = StartEstimator(max_concurrent=10, max_per_minute=3, user_interval=0)
    est.clock = lambda: now[0]
    answers = asyncio.run(scenario(est, 10))
    assert len(ran) == 3 and [a.source for a in answers].count("cached") == 7
    now[0] += 59.0
    asyncio.run(scenario(est, 100))
    assert len(ran) == 3  # still within the same minute
    now[0] += 1.5
    asyncio.run(scenario(est, 200))
    assert len(ran) == 6


@pytest.mark.slurm
def test_entitlements_are_built_once_per_answer_not_per_change() -> None:
    """Every estimate validates the choice: a storm of changes reuses the user's entitlements."""
    SlurmDiscovery.forget()
    discovery = SlurmDiscovery()

    async def twice() -> tuple[Any, Any, int]:
        first = await discovery.entitlements("alice")
        runs = sum(SlurmDiscovery.commands_run.values())
        second = await discovery.entitlements("alice")
        return first, second, sum(SlurmDiscovery.commands_run.values()) - runs

    first, second, commands = asyncio.run(twice())
    assert first is second and commands == 0
    assert {p.name for p in first.partitions} == {"cpu", "gpu"}
    SlurmDiscovery.forget()  # an admin's forget (or the next period) asks and builds again
    third, _, _ = asyncio.run(twice())
    assert third is not first and third == first
