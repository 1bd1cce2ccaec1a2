"""The home's storage: quota parsers on recorded real outputs, and the reader's sources.

No quota can be set on this machine's kernel (its file systems are mounted
without quota support, and ``quota``/``lfs``/``mmlsquota`` are not installed),
so the parsers are tested on outputs recorded on sites' machines
(tests/fixtures/quota/, each with its source in tests/fixtures/SOURCES.md), and
the reader's order, timeout and fall-back run real scripts standing for the
commands. The ``df`` source is this machine's real file system.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path

import pytest

from sdcc_lab.resources.quota import (
    PARSERS,
    QuotaEntry,
    QuotaReader,
    mount_of,
    parse_lfs_quota,
    parse_mmlsquota,
    parse_quota,
    pick,
)

FIXTURES = Path(__file__).parent / "fixtures" / "quota"
KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


# --------------------------------------------------------------------------- quota (quota-tools)


def test_quota_over_the_soft_limit_with_its_grace_period() -> None:
    [e] = parse_quota(read("quota_over_soft_grace_6days.txt"))
    assert e == QuotaEntry("/dev/sdb1", 2097156 * KiB, 1 * KiB, 15728640 * KiB, "6days", True)


def test_quota_nfs_device_wrapped_onto_its_own_line_over_quota_without_grace() -> None:
    [e] = parse_quota(read("quota_nfs_over_wrapped.txt"))
    assert e.filesystem == "172.17.65.195:/vol/home/linux/ieng6"
    assert e.used_bytes == e.soft_bytes == e.hard_bytes == 1444800 * KiB
    assert e.over_soft and e.grace is None


def test_quota_s_human_units_under_quota() -> None:
    [e] = parse_quota(read("quota_nfs_s_under_wrapped.txt"))
    assert (e.filesystem, e.used_bytes, e.hard_bytes) == (
        "hpcstore03:/hpc_home/home",
        1222 * MiB,
        5120 * MiB,
    )
    assert not e.over_soft


def test_quota_space_header_of_newer_quota_tools() -> None:
    [e] = parse_quota(read("quota_s_space_columns.txt"))
    assert (e.filesystem, e.used_bytes, e.soft_bytes, e.hard_bytes) == (
        "/home",
        14340 * MiB,
        16384 * MiB,
        20480 * MiB,
    )


def test_quota_kib_blocks_under_quota() -> None:
    [e] = parse_quota(read("quota_under_kib.txt"))
    assert (e.used_bytes, e.hard_bytes, e.grace) == (48 * KiB, 104857600 * KiB, None)


def test_quota_none_means_no_entry() -> None:
    assert parse_quota(read("quota_none.txt")) == []


# --------------------------------------------------------------------------- lfs quota (Lustre)


def test_lfs_h_units_and_no_soft_limit() -> None:
    [e] = parse_lfs_quota(read("lfs_h_under.txt"))
    assert e.filesystem == "./" and e.soft_bytes is None
    assert e.used_bytes == round(792.3 * MiB) and e.hard_bytes == round(9.537 * TiB)


def test_lfs_nearly_at_its_hard_limit() -> None:
    [e] = parse_lfs_quota(read("lfs_h_near_hard.txt"))
    assert e.used_bytes == round(99.99 * GiB) and e.hard_bytes == 100 * GiB and not e.over_soft


def test_lfs_bracketed_values_are_read() -> None:
    [e] = parse_lfs_quota(read("lfs_kbytes_brackets.txt"))
    assert (e.used_bytes, e.soft_bytes, e.hard_bytes) == (
        1041408 * KiB,
        5242880 * KiB,
        6291456 * KiB,
    )


def test_lfs_default_quota_lines_after_the_table_are_ignored() -> None:
    [e] = parse_lfs_quota(read("lfs_h_default_quota.txt"))
    assert (e.used_bytes, e.soft_bytes, e.hard_bytes) == (0, 8 * TiB, 10 * TiB)


def test_lfs_row_without_its_last_grace_column() -> None:
    [e] = parse_lfs_quota(read("lfs_kbytes_no_trailing_grace.txt"))
    assert (e.used_bytes, e.hard_bytes) == (1840 * KiB, 1000000000 * KiB)


# --------------------------------------------------------------------------- mmlsquota (GPFS)


def test_mmlsquota_kb_columns() -> None:
    [e] = parse_mmlsquota(read("mmlsquota_kb.txt"))
    assert (e.filesystem, e.used_bytes, e.soft_bytes, e.hard_bytes, e.grace) == (
        "gpfs",
        28292096 * KiB,
        3221225472 * KiB,
        4294967296 * KiB,
        None,
    )


def test_mmlsquota_block_size_g_agrees_with_kb() -> None:
    [g] = parse_mmlsquota(read("mmlsquota_block_size_g.txt"))
    [kb] = parse_mmlsquota(read("mmlsquota_kb.txt"))
    assert g.hard_bytes == kb.hard_bytes and abs(g.used_bytes - kb.used_bytes) < GiB


def test_mmlsquota_auto_units_with_remarks() -> None:
    [e] = parse_mmlsquota(read("mmlsquota_auto_remarks.txt"))
    assert (e.filesystem, e.soft_bytes, e.hard_bytes) == ("cache", 100 * GiB, 110 * GiB)
    assert e.used_bytes == round(78.18 * GiB)


def test_mmlsquota_no_limits_is_no_entry() -> None:
    assert parse_mmlsquota(read("mmlsquota_fileset_no_limits.txt")) == []


def test_every_fixture_is_parsed_by_its_tool() -> None:
    for f in FIXTURES.glob("*.txt"):
        entries = PARSERS[f.name.split("_")[0]](f.read_text())
        assert ("none" in f.name or "no_limits" in f.name) != bool(entries), f.name


# --------------------------------------------------------------------------- which entry is the home's


MOUNTINFO = """\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
40 22 0:45 / /home rw,relatime - nfs4 hpcstore03:/hpc_home/home rw
41 22 0:46 / /lustre rw - lustre 10.0.0.1@o2ib:/lustre rw
"""


def test_the_homes_entry_is_found_by_device_or_mount_point() -> None:
    mount = mount_of("/home/alice", MOUNTINFO)
    assert mount == ("/home", "hpcstore03:/hpc_home/home", "nfs4")
    other = QuotaEntry("/dev/sda1", 1, 2, 3)
    home = parse_quota(read("quota_nfs_s_under_wrapped.txt"))[0]
    assert pick([other, home], "/home/alice", mount) is home
    lustre = parse_lfs_quota(read("lfs_h_default_quota.txt"))[0]
    assert pick([other, lustre], "/lustre/alice", mount_of("/lustre/alice", MOUNTINFO)) is lustre
    # two file systems, neither the home's: no guess
    assert pick([other, lustre], "/home/alice", mount) is None


# --------------------------------------------------------------------------- the reader


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def reader(tmp_path: Path, **traits: object) -> QuotaReader:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return QuotaReader(home=str(home), username="alice", **traits)


async def test_a_failing_source_hands_over_to_the_next(tmp_path: Path) -> None:
    lfs_out = FIXTURES / "lfs_h_near_hard.txt"
    args = tmp_path / "args"
    q = reader(
        tmp_path,
        quota_command=[script(tmp_path, "quota", "echo 'quota: Cannot stat()' >&2; exit 1")],
        # the user name and home reach the command as whole arguments (no shell)
        lfs_command=[
            script(tmp_path, "lfs", f'printf "%s\\n" "$@" > {args}; cat {lfs_out}'),
            "quota",
            "-u",
            "{username}",
            "{home}",
        ],
        sources=["quota", "lfs", "df"],
    )
    storage = await q.read()
    assert storage is not None and storage.source == "lfs"
    assert storage.hard_bytes == 100 * GiB
    assert args.read_text().split("\n")[:4] == ["quota", "-u", "alice", q.path]
    assert q.problem is not None and q.problem.startswith("quota: ")  # why lfs answered


async def test_no_quota_anywhere_falls_back_to_the_file_systems_free_space(tmp_path: Path) -> None:
    q = reader(
        tmp_path,
        quota_command=[script(tmp_path, "quota", f"cat {FIXTURES / 'quota_none.txt'}")],
        mmlsquota_command=["/nonexistent/mmlsquota"],
        sources=["quota", "mmlsquota", "df"],
    )
    storage = await q.read()
    real = shutil.disk_usage(q.path)
    assert storage is not None and storage.source == "df"
    assert storage.hard_bytes == real.total and abs(storage.used_bytes - real.used) < 64 * MiB


async def test_every_source_failing_says_why(tmp_path: Path) -> None:
    q = reader(tmp_path, mmlsquota_command=["/nonexistent/mmlsquota"], sources=["mmlsquota", "nfs"])
    assert await q.read() is None
    assert q.problem is not None and "cannot run mmlsquota" in q.problem
    assert "unknown quota source 'nfs'" in q.problem


async def test_a_slow_quota_command_never_holds_a_poll(tmp_path: Path) -> None:
    """The command sleeps 30 s: polls answer at once; after the timeout df answers."""
    started = tmp_path / "started"
    slow = script(tmp_path, "quota", f"touch {started}; exec sleep 30")
    q = reader(tmp_path, quota_command=[slow], timeout=2.0, sources=["quota", "df"])
    assert q.current() is None  # the first poll starts the reading and returns
    while not started.exists():  # noqa: ASYNC110 - waits for another process, not a task
        await asyncio.sleep(0.05)
    assert q.current() is None  # still running: the poll gets what there is
    assert q._task is not None
    storage = await q._task  # the background reading, after the command's timeout
    assert storage is not None and storage.source == "df"
    assert q.current() is storage


async def test_one_reading_per_period_for_every_tab(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    out = FIXTURES / "quota_under_kib.txt"
    now = [0.0]
    q = QuotaReader(
        home=str(tmp_path),
        username="alice",
        quota_command=[script(tmp_path, "quota", f"echo x >> {calls}; cat {out}")],
        sources=["quota"],
        clock=lambda: now[0],
    )
    q.path = str(tmp_path)
    # the fixture's device is not this test folder's mount: the only entry is taken
    for _ in range(5):
        q.current()
    await asyncio.gather(*(t for t in [q._task] if t is not None))
    for _ in range(5):
        assert q.current() is not None
    assert calls.read_text().count("x") == 1
    now[0] += q.interval
    q.current()
    await q._task  # type: ignore[misc]
    assert calls.read_text().count("x") == 2


def test_json_before_the_first_reading_has_nulls(tmp_path: Path) -> None:
    async def go() -> None:
        q = reader(tmp_path, sources=["df"])
        data = q.to_json()
        assert data["used_bytes"] is None and data["warning_share"] == 0.9
        await q._task  # type: ignore[misc]
        assert q.to_json()["source"] == "df"

    asyncio.run(go())


@pytest.mark.parametrize("name", sorted(os.listdir(FIXTURES)))
def test_fixture_has_a_source_line(name: str) -> None:
    sources = (Path(__file__).parent / "fixtures" / "SOURCES.md").read_text()
    assert f"`{name}`" in sources
