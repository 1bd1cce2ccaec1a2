"""The kernel sampler's rules on a /proc tree in a folder, and GPU memory per kernel.

The folder holds ``stat`` and ``smaps_rollup`` files in the real format (a
line of this machine's ``/proc/PID/stat``, its ``smaps_rollup`` copied as the
kernel printed it, with the numbers changed); the sampler reads it as it reads
``/proc``. The GPU side replays the H200 recording, whose compute process is
pid 506: here that pid is a kernel's, so the kernel gets its GPU memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from recorded_nvml import replaying

from sdcc_lab.resources.collector import _gpu_memory_per_kernel
from sdcc_lab.resources.gpu import NVMLReader
from sdcc_lab.resources.kernels import KernelRef, KernelSampler, read_pss
from sdcc_lab.resources.usage import ProcessTree, Usage

PAGE_KIB = 4
ROLLUP = """556837f35000-7ffd9eb0b000 ---p 00000000 00:00 0                          [rollup]
Rss:                {rss} kB
Pss:                {pss} kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
Pss_File:             64 kB
Pss_Shmem:             0 kB
Shared_Clean:       1616 kB
Shared_Dirty:          0 kB
Private_Clean:        40 kB
Private_Dirty:       112 kB
Referenced:         1768 kB
Anonymous:           112 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
"""


def write(
    proc: Path, pid: int, ppid: int, rss_kib: int, cpu_ticks: int, pss_kib: int | None
) -> None:
    d = proc / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    # fields as proc(5): ppid 4th, utime 14th, stime 15th, starttime 22nd, rss (pages) 24th
    (d / "stat").write_text(
        f"{pid} (python3) S {ppid} {pid} 19612 0 -1 4194304 101 0 0 0 {cpu_ticks} 0 0 0 20 0 1 0 "
        f"1251565 3133440 {rss_kib // PAGE_KIB} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1\n"
    )
    if pss_kib is not None:
        (d / "smaps_rollup").write_text(ROLLUP.format(rss=rss_kib, pss=pss_kib))


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    p = tmp_path / "proc"
    write(p, 100, 1, 100_000, 0, 90_000)  # the server
    write(p, 506, 100, 400_000, 100, 380_000)  # a kernel...
    write(p, 507, 506, 50_000, 0, 30_000)  # ...and its worker
    write(p, 600, 100, 60_000, 0, 40_000)  # another kernel
    return p


def sampler(proc: Path, now: list[float]) -> KernelSampler:
    tree = ProcessTree(pid=100, proc=proc, scan_interval=10, clock=lambda: now[0])
    return KernelSampler(tree, clock=lambda: now[0], pss_seconds=30)


KERNELS = [
    KernelRef("k-train", 506, "train.ipynb", "python3"),
    KernelRef("k-plot", 600, "plots/plot.ipynb", "python3"),
]


def test_a_kernels_figure_is_the_pss_of_its_process_tree(proc: Path) -> None:
    now = [0.0]
    out, owners = sampler(proc, now).sample(KERNELS)
    train, plot = out
    assert train["memory_bytes"] == (380_000 + 30_000) * 1024  # the kernel and its worker
    assert plot["memory_bytes"] == 40_000 * 1024
    assert owners == {506: "k-train", 507: "k-train", 600: "k-plot"}
    assert read_pss(str(proc), 506) == 380_000 * 1024


def test_between_pss_readings_the_figure_follows_the_resident_size(proc: Path) -> None:
    now = [0.0]
    s = sampler(proc, now)
    s.sample(KERNELS)
    write(proc, 506, 100, 500_000, 200, 999_999)  # +100 MB resident; smaps not re-read yet
    now[0] = 5.0
    train = s.sample(KERNELS)[0][0]
    assert train["memory_bytes"] == (380_000 + 100_000 + 30_000) * 1024
    assert train["peak_memory_bytes"] == train["memory_bytes"]
    assert train["cpu_percent"] == 20.0  # 100 ticks of 1/100 s in 5 s
    # past the period one stale process is re-read, and no other for a sixth of the period
    now[0] = 40.0
    s.sample(KERNELS)
    assert [p.read_at for p in s._pss.values()].count(40.0) == 1
    now[0] = 44.0
    s.sample(KERNELS)
    assert [p.read_at for p in s._pss.values()].count(44.0) == 0
    now[0] = 45.0
    s.sample(KERNELS)
    assert [p.read_at for p in s._pss.values()].count(45.0) == 1


def test_the_peak_stays_when_memory_is_freed(proc: Path) -> None:
    now = [0.0]
    s = sampler(proc, now)
    s.sample(KERNELS)
    write(proc, 506, 100, 100_000, 100, 80_000)
    write(proc, 507, 506, 50_000, 0, 30_000)
    now[0] = 100.0
    for _ in range(4):  # one stale process re-read per sixth of the period
        now[0] += 5
        train = s.sample(KERNELS)[0][0]
    assert train["memory_bytes"] == (80_000 + 30_000) * 1024
    assert train["peak_memory_bytes"] == (380_000 + 30_000) * 1024


def test_without_smaps_the_figures_are_rss_and_say_so(proc: Path) -> None:
    for pid in (100, 506, 507, 600):
        (proc / str(pid) / "smaps_rollup").unlink()
    s = sampler(proc, [0.0])
    train = s.sample(KERNELS)[0][0]
    assert s.memory_kind == "rss"
    assert train["memory_bytes"] == (400_000 + 50_000) * 1024


def test_one_poll_reads_each_processs_stat_once(
    proc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's total and the kernels' figures of one poll share the /proc reads."""
    now = [0.0]
    s = sampler(proc, now)
    s.tree.scan()
    reads: list[int] = []
    read_stat = ProcessTree._read_stat

    def counting(tree: ProcessTree, pid: int) -> object:
        reads.append(pid)
        return read_stat(tree, pid)

    monkeypatch.setattr(ProcessTree, "_read_stat", counting)
    with s.tree.one_poll():
        total, _ = s.tree.sample()
        out, _ = s.sample(KERNELS)
    assert sorted(reads) == [100, 506, 507, 600]  # each once, though both figures need them
    assert total == (100_000 + 400_000 + 50_000 + 60_000) * 1024
    assert out[0]["memory_bytes"] == (380_000 + 30_000) * 1024
    # outside a poll nothing is remembered: a change shows at once
    write(proc, 506, 100, 500_000, 200, 380_000)
    reads.clear()
    assert s.tree.sample()[0] == (100_000 + 500_000 + 50_000 + 60_000) * 1024
    assert sorted(reads) == [100, 506, 507, 600]


def test_an_exited_kernel_has_no_figures(proc: Path) -> None:
    out, _ = sampler(proc, [0.0]).sample([KernelRef("k-gone", 4242, "gone.ipynb", "python3")])
    assert out[0]["memory_bytes"] is None and out[0]["path"] == "gone.ipynb"


def test_the_gpu_memory_of_a_kernels_process_is_the_kernels(
    proc: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pid 506 held 3.4 GiB on the real H200: the kernel whose process it is gets it."""
    monkeypatch.setitem(sys.modules, "pynvml", replaying("h200_torch_load_nvml.json"))
    kernels, owners = sampler(proc, [0.0]).sample(KERNELS)
    usage = Usage(kernels=kernels, gpus=NVMLReader(["0"]).read())
    _gpu_memory_per_kernel(usage, owners)
    train, plot = usage.kernels or []
    assert train["gpu_memory_bytes"] == 3600809984
    assert plot["gpu_memory_bytes"] is None
