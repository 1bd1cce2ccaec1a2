"""The scheduler layer's runner and cache: one query serves every concurrent caller.

Real subprocesses (``/bin/echo``, ``/bin/sleep``, small scripts) stand in for the
scheduler's commands; the cache's clock is injected, so no test waits for time
to pass.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from sdcc_lab.scheduler.cache import TTLCache
from sdcc_lab.scheduler.commands import run_command, run_command_blocking, user_prefix
from sdcc_lab.scheduler.errors import (
    SchedulerError,
    SchedulerRefused,
    SchedulerUnavailable,
    SchedulerUnparseable,
)
from sdcc_lab.scheduler.slurm import SlurmParseError, parse_sbatch_parsable


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_callers_share_one_fetch_and_later_ones_hit_the_cache() -> None:
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)  # stays in flight while the other 49 callers arrive
        return "answer"

    async def main() -> list[str]:
        cache: TTLCache[str, str] = TTLCache(ttl=60)
        first = await asyncio.gather(*(cache.get("*", fetch) for _ in range(50)))
        return [*first, await cache.get("*", fetch)]

    assert asyncio.run(main()) == ["answer"] * 51
    assert calls == 1


def test_an_answer_expires_after_its_ttl_and_fresh_asks_again() -> None:
    clock, calls = Clock(), 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    async def main() -> None:
        cache: TTLCache[str, int] = TTLCache(ttl=60, clock=clock)
        assert await cache.get("k", fetch) == 1
        clock.now += 59
        assert await cache.get("k", fetch) == 1
        clock.now += 2
        assert await cache.get("k", fetch) == 2
        assert await cache.get("k", fetch, fresh=True) == 3
        cache.invalidate("k")
        assert await cache.get("k", fetch) == 4
        assert cache.fetched_at("k") == clock.now

    asyncio.run(main())


def test_a_failure_is_remembered_for_the_error_ttl_only_and_the_last_answer_stays() -> None:
    clock, calls, failing = Clock(), 0, False

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        if failing:
            raise SchedulerRefused(["sacctmgr"], 1, "slurmdbd down")
        return "good"

    async def main() -> None:
        nonlocal failing
        cache: TTLCache[str, str] = TTLCache(ttl=60, error_ttl=30, clock=clock)
        assert await cache.get("*", fetch) == "good"
        clock.now += 61
        failing = True
        for _ in range(3):
            with pytest.raises(SchedulerRefused, match="slurmdbd down"):
                await cache.get("*", fetch)
        assert calls == 2  # the failure waits its period too: not asked again
        assert cache.last_value("*") == "good"
        clock.now += 31
        with pytest.raises(SchedulerRefused):
            await cache.get("*", fetch)
        assert calls == 3

    asyncio.run(main())


def test_error_ttl_defaults_to_the_ttl() -> None:
    assert TTLCache(ttl=300).error_ttl == 300


def test_a_caller_that_goes_away_does_not_cancel_the_others_fetch() -> None:
    async def main() -> str:
        started = asyncio.Event()

        async def fetch() -> str:
            started.set()
            await asyncio.sleep(0.05)
            return "answer"

        cache: TTLCache[None, str] = TTLCache(ttl=60)
        first = asyncio.ensure_future(cache.get(None, fetch))
        await started.wait()
        second = asyncio.ensure_future(cache.get(None, fetch))
        first.cancel()
        return await second

    assert asyncio.run(main()) == "answer"


def test_threads_share_one_blocking_fetch() -> None:
    calls = 0
    inside = threading.Event()
    release = threading.Event()

    def fetch() -> str:
        nonlocal calls
        calls += 1
        inside.set()
        release.wait(5)
        return "answer"

    cache: TTLCache[str, str] = TTLCache(ttl=60)
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get_blocking("*", fetch)))
    first.start()
    inside.wait(5)
    others = [
        threading.Thread(target=lambda: results.append(cache.get_blocking("*", fetch, fresh=True)))
        for _ in range(5)
    ]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert results == ["answer"] * 6
    assert calls == 1


def test_commands_take_argument_lists_and_report_failures() -> None:
    async def main() -> None:
        # An argument that would mean something to a shell is just text here.
        result = await run_command(["/bin/echo", "$(id); `id`"], timeout=5)
        assert result.stdout == "$(id); `id`\n"
        with pytest.raises(SchedulerRefused, match="No such file") as refused:
            await run_command(["/bin/ls", "/no/such/path"], timeout=5)
        assert refused.value.returncode == 2 and refused.value.argv == ["/bin/ls", "/no/such/path"]
        with pytest.raises(SchedulerUnavailable, match=r"did not answer within 0\.2 s"):
            await run_command(["/bin/sleep", "5"], timeout=0.2)
        with pytest.raises(SchedulerUnavailable, match="cannot run"):
            await run_command(["/no/such/command"], timeout=5)
        result = await run_command(["/bin/cat"], timeout=5, input_text="on stdin\n")
        assert result.stdout == "on stdin\n"

    asyncio.run(main())


def test_the_blocking_runner_raises_the_same_errors() -> None:
    assert run_command_blocking(["/bin/echo", "$(id)"], timeout=5).stdout == "$(id)\n"
    assert run_command_blocking(["/bin/cat"], timeout=5, input_text="x").stdout == "x"
    with pytest.raises(SchedulerRefused, match=r"ls failed \(2\): .*No such file"):
        run_command_blocking(["/bin/ls", "/no/such/path"], timeout=5)
    with pytest.raises(SchedulerUnavailable, match=r"did not answer within 0\.2 s"):
        run_command_blocking(["/bin/sleep", "5"], timeout=0.2)
    with pytest.raises(SchedulerUnavailable, match="cannot run"):
        run_command_blocking(["/no/such/command"], timeout=5)


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("blocking", [False, True])
def test_a_timed_out_command_is_killed(tmp_path: Path, blocking: bool) -> None:
    pidfile = tmp_path / "pid"
    argv = [_script(tmp_path, "slow", f"echo $$ > {pidfile}\nexec /bin/sleep 30\n")]
    with pytest.raises(SchedulerUnavailable):
        if blocking:
            run_command_blocking(argv, timeout=0.5)
        else:
            asyncio.run(run_command(argv, timeout=0.5))
    pid = int(pidfile.read_text())
    # Killed and reaped before the error was raised: no such process any more.
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_controller_that_does_not_answer_is_unavailable_not_a_refusal(tmp_path: Path) -> None:
    squeue = _script(
        tmp_path,
        "squeue",
        'echo "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n',
    )
    with pytest.raises(SchedulerUnavailable, match="cannot reach the scheduler") as e:
        run_command_blocking([squeue], timeout=5)
    assert e.value.returncode == 1 and "Unable to contact slurm controller" in e.value.output


def test_parse_failures_are_unparseable_scheduler_errors_and_value_errors() -> None:
    with pytest.raises(SlurmParseError) as e:
        parse_sbatch_parsable("sbatch: nothing\n")
    assert isinstance(e.value, SchedulerUnparseable)
    assert isinstance(e.value, SchedulerError) and isinstance(e.value, ValueError)


@pytest.mark.parametrize("name", ["-rf", "alice;id", "Alice", "a b", "$(id)", ""])
def test_user_names_that_could_be_options_or_worse_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        user_prefix(["/usr/sbin/runuser", "-u", "{username}", "--"], name)
    assert user_prefix(["/usr/sbin/runuser", "-u", "{username}", "--"], "alice") == [
        "/usr/sbin/runuser",
        "-u",
        "alice",
        "--",
    ]
