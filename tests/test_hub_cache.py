"""The discovery cache: one scheduler query serves every concurrent login."""

from __future__ import annotations

import asyncio

import pytest

from sdcc_lab.hub.cache import AsyncTTLCache
from sdcc_lab.hub.commands import CommandError, CommandTimeout, run_command, user_prefix


def test_concurrent_callers_share_one_fetch_and_later_ones_hit_the_cache() -> None:
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "answer"

    async def main() -> list[str]:
        cache: AsyncTTLCache[str, str] = AsyncTTLCache(ttl=60)
        first = await asyncio.gather(*(cache.get("*", fetch) for _ in range(50)))
        return [*first, await cache.get("*", fetch)]

    assert asyncio.run(main()) == ["answer"] * 51
    assert calls == 1


def test_a_failure_is_remembered_for_the_error_ttl_only() -> None:
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        raise CommandError(["sacctmgr"], 1, "slurmdbd down")

    async def main() -> None:
        cache: AsyncTTLCache[str, str] = AsyncTTLCache(ttl=60, error_ttl=0.1)
        for _ in range(3):
            with pytest.raises(CommandError, match="slurmdbd down"):
                await cache.get("*", failing)
        assert calls == 1
        await asyncio.sleep(0.15)
        with pytest.raises(CommandError):
            await cache.get("*", failing)
        assert calls == 2

    asyncio.run(main())


def test_commands_take_argument_lists_and_report_failures() -> None:
    async def main() -> None:
        # An argument that would mean something to a shell is just text here.
        result = await run_command(["/bin/echo", "$(id); `id`"], timeout=5)
        assert result.stdout == "$(id); `id`\n"
        with pytest.raises(CommandError, match="No such file"):
            await run_command(["/bin/ls", "/no/such/path"], timeout=5)
        with pytest.raises(CommandTimeout, match="no answer within 0.2 s"):
            await run_command(["/bin/sleep", "5"], timeout=0.2)
        with pytest.raises(CommandError, match="cannot run"):
            await run_command(["/no/such/command"], timeout=5)

    asyncio.run(main())


@pytest.mark.parametrize("name", ["-rf", "alice;id", "Alice", "a b", "$(id)", ""])
def test_user_names_that_could_be_options_or_worse_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        user_prefix(["/usr/sbin/runuser", "-u", "{username}", "--"], name)
    assert user_prefix(["/usr/sbin/runuser", "-u", "{username}", "--"], "alice") == [
        "/usr/sbin/runuser", "-u", "alice", "--",
    ]
