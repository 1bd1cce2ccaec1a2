"""The cgroup reader: recorded real v1 trees, v2 trees, a live cgroup where allowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sdcc_lab.resources.cgroup import CgroupReader, parse_cpuset, parse_proc_cgroup

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"


def test_parse_proc_cgroup_v1_v2_and_garbage() -> None:
    text = "4:memory:/a/b\n2:cpu,cpuacct:/c\n0::/user.slice/x\ngarbage\n5:pids:relative\n"
    assert parse_proc_cgroup(text) == {
        "memory": "/a/b",
        "cpu": "/c",
        "cpuacct": "/c",
        "": "/user.slice/x",
    }


@pytest.mark.parametrize(
    "text,expected",
    [("0-3", 4), ("0-3,8,10-11", 7), ("5", 1), ("", None), ("x-2", None), ("\n", None)],
)
def test_parse_cpuset(text: str, expected: int | None) -> None:
    assert parse_cpuset(text) == expected


def test_recorded_v1_nested_job_takes_the_tightest_ancestor() -> None:
    """Recorded on this machine (v1 + hybrid unified without controllers).

    job (memory 512 MiB, quota 1.5 CPU) > step_batch (memory 1 GiB) > task_0 (the process).
    """
    info = CgroupReader(FIXTURES / "v1_nested_job").read()
    assert info.version == 1
    assert info.path == "/sdcc_rec_job/step_batch/task_0"
    assert info.memory_limit_bytes == 512 << 20  # not the step's 1 GiB, not the root's "unlimited"
    assert info.memory_cgroup is not None and info.memory_cgroup.endswith("memory/sdcc_rec_job")
    assert info.cpu_limit == 1.5
    assert (
        info.memory_bytes == 524288
    )  # the job's memory.usage_in_bytes, not the leaf's 0 or the root's
    # cpu and cpuacct are separate mounts here: CPU time of the process's own cpuacct cgroup
    assert info.cpu_cgroup is not None and info.cpu_cgroup.endswith(
        "cpuacct/sdcc_rec_job/step_batch/task_0"
    )
    assert (
        info.cpu_usage_seconds == 0.0
    )  # task_0's cpuacct.usage (recorded 0), not the root's 1188 s


def _write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def _v2_tree(root: Path) -> None:
    """Slurm's cgroup/v2 layout: the limits on job_N, the server in step_batch/user/task_0."""
    job = "sys/fs/cgroup/system.slice/slurmstepd.scope/job_42"
    _write(
        root,
        "proc/self/cgroup",
        "0::/system.slice/slurmstepd.scope/job_42/step_batch/user/task_0\n",
    )
    _write(
        root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n"
    )
    _write(root, "sys/fs/cgroup/cpuset.cpus.effective", "0-15\n")
    _write(root, "sys/fs/cgroup/system.slice/memory.max", "max\n")
    _write(root, f"{job}/memory.max", "8589934592\n")
    _write(root, f"{job}/memory.current", "1073741824\n")
    _write(root, f"{job}/cpu.max", "max 100000\n")
    _write(root, f"{job}/cpuset.cpus.effective", "2-3\n")
    _write(root, f"{job}/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    _write(root, f"{job}/step_batch/memory.max", "max\n")
    _write(root, f"{job}/step_batch/cpuset.cpus.effective", "2-3\n")
    _write(root, f"{job}/step_batch/user/cpuset.cpus.effective", "2-3\n")
    _write(root, f"{job}/step_batch/user/task_0/memory.max", "max\n")
    _write(root, f"{job}/step_batch/user/task_0/memory.current", "4096\n")
    _write(root, f"{job}/step_batch/user/task_0/cpuset.cpus.effective", "2-3\n")


def test_v2_slurm_layout(tmp_path: Path) -> None:
    _v2_tree(tmp_path)
    info = CgroupReader(tmp_path).read()
    assert info.version == 2
    assert info.memory_limit_bytes == 8 << 30
    assert info.memory_bytes == 1 << 30  # the job's usage, not the leaf's 4096
    assert info.cpu_limit == 2.0  # the cpuset: cpu.max is "max"
    assert info.cpu_cgroup is not None and info.cpu_cgroup.endswith("job_42")
    assert info.cpu_usage_seconds == 2.5


def test_v2_cpu_quota_tighter_than_cpuset(tmp_path: Path) -> None:
    _v2_tree(tmp_path)
    _write(
        tmp_path,
        "sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/step_batch/cpu.max",
        "50000 100000\n",
    )
    _write(
        tmp_path,
        "sys/fs/cgroup/system.slice/slurmstepd.scope/job_42/step_batch/cpu.stat",
        "usage_usec 1000\n",
    )
    info = CgroupReader(tmp_path).read()
    assert info.cpu_limit == 0.5
    assert info.cpu_usage_seconds == 0.001


def test_v2_malformed_and_missing_files_give_none(tmp_path: Path) -> None:
    _v2_tree(tmp_path)
    job = tmp_path / "sys/fs/cgroup/system.slice/slurmstepd.scope/job_42"
    (job / "memory.max").write_text("lots\n")
    (job / "memory.current").unlink()
    (job / "cpu.stat").write_text("garbage\n")
    for d in job.rglob("cpuset.cpus.effective"):
        d.write_text("?")
    info = CgroupReader(tmp_path).read()
    assert (info.memory_limit_bytes, info.memory_bytes, info.cpu_limit, info.cpu_usage_seconds) == (
        None,
        None,
        None,
        None,
    )


def test_no_proc_cgroup(tmp_path: Path) -> None:
    info = CgroupReader(tmp_path).read()
    assert info.version is None and info.memory_limit_bytes is None and info.problems


def test_cgroup_vanished_under_mount(tmp_path: Path) -> None:
    _write(tmp_path, "proc/self/cgroup", "0::/gone/away\n")
    _write(tmp_path, "sys/fs/cgroup/cgroup.controllers", "memory cpu\n")
    info = CgroupReader(tmp_path).read()
    assert info.version == 2 and info.memory_limit_bytes is None


# --------------------------------------------------------------------------- live cgroups

_CHILD = (
    "import json, dataclasses; from sdcc_lab.resources.cgroup import CgroupReader;"
    "print(json.dumps(dataclasses.asdict(CgroupReader().read())))"
)


def _writable(path: Path) -> bool:
    probe = path / f"sdcc-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    probe.rmdir()
    return True


def _run_in(procs_files: list[Path]) -> dict[str, object]:
    """Run the reader in a child process placed in the given cgroups before it starts reading."""
    pre = "; ".join(f"open({str(p)!r}, 'w').write(str(os.getpid()))" for p in procs_files)
    code = f"import os; {pre}; {_CHILD}"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


V1 = Path("/sys/fs/cgroup")


@pytest.mark.skipif(
    not (V1 / "memory" / "memory.limit_in_bytes").exists() or not _writable(V1 / "memory"),
    reason="no writable cgroup v1 memory hierarchy on this machine",
)
def test_live_v1_cgroup() -> None:
    name = f"sdcc-test-{uuid.uuid4().hex[:8]}"
    mem_job, mem_leaf = V1 / "memory" / name, V1 / "memory" / name / "leaf"
    cpu_job = V1 / "cpu" / name
    made: list[Path] = []
    try:
        for d in (mem_job, mem_leaf, cpu_job):
            d.mkdir()
            made.append(d)
        (mem_job / "memory.limit_in_bytes").write_text(str(300 << 20))
        (mem_leaf / "memory.limit_in_bytes").write_text(str(600 << 20))
        (cpu_job / "cpu.cfs_quota_us").write_text("25000")
        info = _run_in([mem_leaf / "cgroup.procs", cpu_job / "cgroup.procs"])
        assert info["version"] == 1
        assert info["path"] == f"/{name}/leaf"
        assert info["memory_limit_bytes"] == 300 << 20
        assert info["cpu_limit"] == 0.25
        usage = info["memory_bytes"]
        assert isinstance(usage, int) and 0 < usage < 300 << 20
    finally:
        for d in reversed(made):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    import time

                    time.sleep(0.1)


def _v2_root() -> Path | None:
    for cand in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        try:
            controllers = (cand / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if "memory" in controllers and _writable(cand):
            return cand
    return None


@pytest.mark.skipif(
    _v2_root() is None, reason="no writable cgroup v2 hierarchy with the memory controller here"
)
def test_live_v2_cgroup() -> None:
    root = _v2_root()
    assert root is not None
    (root / "cgroup.subtree_control").write_text("+memory +cpu")
    job = root / f"sdcc-test-{uuid.uuid4().hex[:8]}"
    leaf = job / "leaf"
    job.mkdir()
    try:
        (job / "cgroup.subtree_control").write_text("+memory +cpu")
        leaf.mkdir()
        (job / "memory.max").write_text(str(300 << 20))
        (job / "cpu.max").write_text("50000 100000")
        info = _run_in([leaf / "cgroup.procs"])
        assert info["version"] == 2
        assert info["memory_limit_bytes"] == 300 << 20
        assert info["cpu_limit"] == 0.5
        usage = info["memory_bytes"]
        assert isinstance(usage, int) and 0 < usage < 300 << 20  # the child alone, under the limit
    finally:
        for d in (leaf, job):
            if d.exists():
                d.rmdir()


def test_reader_finds_this_process_cgroup() -> None:
    """On this machine: the path the reader reports is the one /proc says this process is in."""
    paths = parse_proc_cgroup(Path(f"/proc/{os.getpid()}/cgroup").read_text())
    info = CgroupReader("/", os.getpid()).read()
    if info.version == 2:
        assert info.path == paths[""]
    else:
        assert info.version == 1 and info.path == (paths.get("memory") or paths.get("cpu"))


def test_usage_alone_reads_the_cgroups_the_limits_named(tmp_path: Path) -> None:
    """A poll re-reads only the usage files of the cgroups found with the limits."""
    _v2_tree(tmp_path)
    reader = CgroupReader(tmp_path)
    info = reader.read()
    job = tmp_path / "sys/fs/cgroup/system.slice/slurmstepd.scope/job_42"
    (job / "memory.current").write_text(str(3 << 30))
    (job / "cpu.stat").write_text("usage_usec 7000000\n")
    assert reader.read_usage(info) == (3 << 30, 7.0)
