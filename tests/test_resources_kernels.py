"""Per-kernel memory and CPU on a real Jupyter server with real kernels.

Two notebooks' kernels run on pytest-jupyter's server (the sdcc_lab extension
on); one allocates 300 MiB. ``GET sdcc-lab/api/resources`` names each kernel by
its notebook, shows its memory (PSS of the kernel's process tree) and marks the
peak once the memory is freed.

The per-kernel figures must add up to the job's: this machine's cgroup has no
memory controller (no ``memory`` in /sys/fs/cgroup/cgroup.controllers, and no
cgroup v1 memory hierarchy), so the job's figure here is the process tree's
(``measured_from: processes``): the kernels' sum is compared with their process
trees' memory read independently from /proc/PID/status, each page counted once
as a cgroup would: every process's private anonymous and shared-memory pages,
and the file pages (the interpreter's libraries, the same in both kernels)
once. (The plain sum of RSS counts those library pages once per process: it
is 5-8 % above, which is why kernels are measured by PSS; the kernels also share
library pages with the server, whose PSS share is not theirs: 3-4 % below here.)
"""

from __future__ import annotations

import json
from typing import Any

import psutil
import pytest

MiB = 1 << 20


@pytest.fixture
def jp_server_config() -> dict[str, object]:
    # every poll reads afresh: a kernel started just before is in the next answer
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ResourcesCollector": {"usage_cache_seconds": 0.0, "process_scan_seconds": 0.0},
    }


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def once_counted(pids: list[int]) -> int:
    """The trees' memory with the file pages they share counted once (see the docstring)."""
    procs = [p for pid in pids for p in (psutil.Process(pid), *psutil.Process(pid).children(True))]
    private = sum(_status_kib(p.pid, "RssAnon") + _status_kib(p.pid, "RssShmem") for p in procs)
    return private + max(_status_kib(p.pid, "RssFile") for p in procs)


async def _open(jp_fetch: Any, path: str) -> str:
    r = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps({"path": path, "type": "notebook", "kernel": {"name": "python3"}}),
    )
    return str(json.loads(r.body)["kernel"]["id"])


async def _run(serverapp: Any, kernel_id: str, code: str) -> None:
    client = serverapp.kernel_manager.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()


async def _resources(jp_fetch: Any) -> dict[str, Any]:
    r = await jp_fetch("sdcc-lab", "api", "resources")
    return dict(json.loads(r.body))


async def test_each_kernel_is_named_by_its_notebook_with_memory_cpu_and_peak(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    small = await _open(jp_fetch, "small.ipynb")
    big = await _open(jp_fetch, "work/big.ipynb")
    await _run(jp_serverapp, small, "x = 1")
    # bytes written page by page: resident, not a lazily zeroed mapping
    await _run(jp_serverapp, big, f"x = b'\\x01' * {300 * MiB}")

    data = await _resources(jp_fetch)
    kernels = {k["path"]: k for k in data["usage"]["kernels"]}
    assert set(kernels) == {"small.ipynb", "work/big.ipynb"}
    assert data["usage"]["kernel_memory"] == "pss"
    b, s = kernels["work/big.ipynb"], kernels["small.ipynb"]
    assert b["id"] == big and b["kernel_name"] == "python3"
    assert b["memory_bytes"] >= 300 * MiB > s["memory_bytes"] > 10 * MiB
    assert b["peak_memory_bytes"] >= b["memory_bytes"]

    # The sum against the process trees' total (no memory cgroup here: see the docstring)
    assert data["usage"]["measured_from"] == "processes"
    pids = [jp_serverapp.kernel_manager.get_kernel(k).provisioner.pid for k in (small, big)]
    reference = once_counted(pids)
    kernels_total = s["memory_bytes"] + b["memory_bytes"]
    assert abs(kernels_total - reference) <= 0.05 * reference, (kernels_total, reference)
    # ...and the job's own figure holds them (it adds the server's processes)
    assert data["usage"]["memory_bytes"] >= kernels_total

    # A busy kernel shows CPU at the next reading; freed memory keeps its peak
    await _run(
        jp_serverapp,
        big,
        "del x\nimport time\nt = time.process_time()\nwhile time.process_time() - t < 1.5: pass",
    )
    data = await _resources(jp_fetch)
    b = {k["path"]: k for k in data["usage"]["kernels"]}["work/big.ipynb"]
    assert b["memory_bytes"] < 100 * MiB
    assert b["peak_memory_bytes"] >= 300 * MiB
    assert b["cpu_percent"] is not None and b["cpu_percent"] > 0


async def test_a_kernel_without_a_notebook_is_listed_without_a_path(
    jp_fetch: Any, jp_serverapp: Any
) -> None:
    r = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kid = json.loads(r.body)["id"]
    data = await _resources(jp_fetch)
    [k] = [k for k in data["usage"]["kernels"] if k["id"] == kid]
    assert k["path"] is None and k["memory_bytes"] > 0


async def test_the_homes_storage_appears_without_holding_a_poll(
    jp_fetch: Any, jp_root_dir: Any
) -> None:
    """No quota tool is installed here (and no quota can be set on this kernel): quota,
    lfs and mmlsquota cannot run, so the disk's own size and use answer (source df)."""
    import asyncio
    import shutil

    first = (await _resources(jp_fetch))["storage"]
    assert first["path"] == str(jp_root_dir)
    for _ in range(100):  # the reading runs in the background; polls answer meanwhile
        storage = (await _resources(jp_fetch))["storage"]
        if storage["source"] is not None:
            break
        await asyncio.sleep(0.1)
    assert storage["source"] == "df"
    assert storage["hard_bytes"] == shutil.disk_usage(jp_root_dir).total
    assert "quota: cannot run quota" in storage["problem"]
