"""Limits and usage of the session's control group (cgroup v2, else v1).

The session's cgroup is found from ``/proc/self/cgroup``; from there the
reader walks upward to the root of the hierarchy and keeps the tightest
memory and CPU limits it meets (a Slurm job's limit sits on ``job_N``, not on
the ``step_batch/user/task_0`` leaf the server runs in). Directory names are
never parsed: Slurm 26.05 renames them, and a container shows its own root.

Usage is read from the cgroup that holds the tightest limit, so it counts
every process the limit counts: the server and its kernels. Without any
limit, :meth:`CgroupReader.read` returns no usage and the caller falls back to
the process tree (a whole machine's cgroup says nothing about a session).

Every path is below ``root`` (default ``/``), so recorded trees can be read
from a test folder. Nothing here raises on a missing or malformed file: the
value is ``None`` and :attr:`CgroupInfo.problems` says why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# v1 "no limit" is a page-rounded 2**63 - 1; anything this large is no limit.
_V1_UNLIMITED = 1 << 62


@dataclass
class CgroupInfo:
    """What the cgroup files say; ``None`` where they say nothing."""

    version: int | None = None
    path: str | None = None  # the session's own cgroup, as in /proc/self/cgroup
    memory_limit_bytes: int | None = None
    memory_cgroup: str | None = None  # directory holding the tightest memory limit
    cpu_limit: float | None = None  # CPUs (quota / period, or cpuset size)
    cpu_cgroup: str | None = None
    memory_bytes: int | None = None  # usage of memory_cgroup
    cpu_usage_seconds: float | None = None  # cumulative CPU time of cpu_cgroup
    problems: list[str] = field(default_factory=list)


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """``/proc/PID/cgroup`` as ``{controller: path}``; the v2 entry's key is ``""``.

    v1 lines name their controllers (``4:memory:/a``, ``2:cpu,cpuacct:/b``);
    each controller gets its own key. Malformed lines are skipped.
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        _, controllers, path = parts
        if controllers == "":
            out[""] = path
        else:
            for c in controllers.split(","):
                out[c] = path
    return out


def parse_cpuset(text: str) -> int | None:
    """Number of CPUs in a cpuset list (``0-3,8,10-11``), or None when malformed/empty."""
    count = 0
    s = text.strip()
    if not s:
        return None
    try:
        for part in s.split(","):
            lo, dash, hi = part.partition("-")
            first = int(lo)
            last = int(hi) if dash else first
            if last < first:
                return None
            count += last - first + 1
    except ValueError:
        return None
    return count if count > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _chain(mount: Path, cgroup_path: str) -> list[Path]:
    """The session's cgroup directory and its ancestors up to the mount, leaf first."""
    rel = [p for p in cgroup_path.split("/") if p and p not in (".", "..")]
    dirs = [mount.joinpath(*rel[:n]) for n in range(len(rel), -1, -1)]
    return [d for d in dirs if d.is_dir()]


class CgroupReader:
    """Reads one process's cgroup limits and usage.

    ``root`` is the folder that stands for ``/`` (a recorded tree in tests);
    ``pid`` the process whose ``/proc/PID/cgroup`` is read ("self" by default).
    The hierarchy is expected where systemd and Slurm mount it:
    ``sys/fs/cgroup`` (v2, or v1 controllers in its sub-folders) and
    ``sys/fs/cgroup/unified`` (the v2 half of a hybrid set-up).
    """

    def __init__(self, root: str | os.PathLike[str] = "/", pid: str | int = "self") -> None:
        self.root = Path(root)
        self.pid = str(pid)

    # -- locating ------------------------------------------------------------
    def _v2_mount(self, paths: dict[str, str]) -> Path | None:
        if "" not in paths:
            return None
        for cand in (self.root / "sys/fs/cgroup", self.root / "sys/fs/cgroup/unified"):
            controllers = _read(cand / "cgroup.controllers")
            if controllers is not None and "memory" in controllers.split():
                return cand
        return None

    def _v1_mount(self, controller: str) -> Path | None:
        base = self.root / "sys/fs/cgroup"
        for name in (controller, "cpu,cpuacct", "cpuacct,cpu"):
            cand = base / name
            if cand.is_dir() and (name == controller or controller in name.split(",")):
                return cand.resolve()
        return None

    def read(self) -> CgroupInfo:
        info = CgroupInfo()
        text = _read(self.root / "proc" / self.pid / "cgroup")
        if text is None:
            info.problems.append("no /proc/self/cgroup: not on Linux or no cgroups")
            return info
        paths = parse_proc_cgroup(text)
        v2 = self._v2_mount(paths)
        if v2 is not None:
            info.version = 2
            info.path = paths[""]
            self._read_v2(v2, paths[""], info)
        elif "memory" in paths or "cpu" in paths or "cpuacct" in paths:
            info.version = 1
            info.path = paths.get("memory") or paths.get("cpu")
            self._read_v1(paths, info)
        else:
            info.problems.append("no cgroup with memory or CPU accounting for this process")
        info.memory_bytes, info.cpu_usage_seconds = self.read_usage(info)
        return info

    @staticmethod
    def read_usage(info: CgroupInfo) -> tuple[int | None, float | None]:
        """(memory bytes, CPU seconds) of the cgroups :meth:`read` found: two small files.

        The limits and the cgroups holding them change seldom; a poll reads
        only these two numbers. ``(None, None)`` where no limit applies.
        """
        memory: int | None = None
        cpu: float | None = None
        if info.version == 2:
            if info.memory_cgroup is not None:
                memory = _int(_read(Path(info.memory_cgroup) / "memory.current"))
            if info.cpu_cgroup is not None:
                cpu = _v2_usage(_read(Path(info.cpu_cgroup) / "cpu.stat"))
        elif info.version == 1:
            if info.memory_cgroup is not None:
                memory = _int(_read(Path(info.memory_cgroup) / "memory.usage_in_bytes"))
            if info.cpu_cgroup is not None:
                raw = _int(_read(Path(info.cpu_cgroup) / "cpuacct.usage"))
                cpu = raw / 1e9 if raw is not None else None
        return memory, cpu

    # -- v2 --------------------------------------------------------------------
    def _read_v2(self, mount: Path, path: str, info: CgroupInfo) -> None:
        chain = _chain(mount, path)
        if not chain:
            info.problems.append(f"cgroup {path} not found under {mount}")
            return
        for d in chain:
            raw = _read(d / "memory.max")
            value = None if raw is None or raw.strip() == "max" else _int(raw)
            if value is not None and (
                info.memory_limit_bytes is None or value < info.memory_limit_bytes
            ):
                info.memory_limit_bytes, info.memory_cgroup = value, str(d)
            cpus = _v2_cpu_max(_read(d / "cpu.max"))
            if cpus is not None and (info.cpu_limit is None or cpus < info.cpu_limit):
                info.cpu_limit, info.cpu_cgroup = cpus, str(d)
        # A cpuset smaller than the quota is the tighter limit; cpuset.cpus.effective
        # is inherited, so the leaf's value applies.
        # Only a cpuset smaller than the machine's is a limit.
        cpuset = parse_cpuset(_read(chain[0] / "cpuset.cpus.effective") or "")
        host = parse_cpuset(_read(mount / "cpuset.cpus.effective") or "") or os.cpu_count()
        if (
            cpuset is not None
            and chain[0] != mount
            and (host is None or cpuset < host)
            and (info.cpu_limit is None or cpuset < info.cpu_limit)
        ):
            cpuset_dir = self._cpuset_owner_v2(chain)
            info.cpu_limit, info.cpu_cgroup = float(cpuset), str(cpuset_dir)

    @staticmethod
    def _cpuset_owner_v2(chain: list[Path]) -> Path:
        """The highest ancestor whose effective cpuset equals the leaf's."""
        leaf = _read(chain[0] / "cpuset.cpus.effective")
        owner = chain[0]
        for d in chain[1:]:
            if _read(d / "cpuset.cpus.effective") != leaf or d == chain[-1]:
                break
            owner = d
        return owner

    # -- v1 --------------------------------------------------------------------
    def _read_v1(self, paths: dict[str, str], info: CgroupInfo) -> None:
        mem_mount = self._v1_mount("memory")
        if "memory" in paths and mem_mount is not None:
            for d in _chain(mem_mount, paths["memory"]):
                value = _int(_read(d / "memory.limit_in_bytes"))
                if (
                    value is not None
                    and value < _V1_UNLIMITED
                    and (info.memory_limit_bytes is None or value < info.memory_limit_bytes)
                ):
                    info.memory_limit_bytes, info.memory_cgroup = value, str(d)
        cpu_mount = self._v1_mount("cpu")
        cpu_path = paths.get("cpu")
        cpu_dir: Path | None = None
        if cpu_path is not None and cpu_mount is not None:
            for d in _chain(cpu_mount, cpu_path):
                quota = _int(_read(d / "cpu.cfs_quota_us"))
                period = _int(_read(d / "cpu.cfs_period_us"))
                if quota is not None and period and quota > 0:
                    cpus = quota / period
                    if info.cpu_limit is None or cpus < info.cpu_limit:
                        info.cpu_limit, cpu_dir = cpus, d
        cpuset_mount = self._v1_mount("cpuset")
        if "cpuset" in paths and cpuset_mount is not None:
            chain = _chain(cpuset_mount, paths["cpuset"])
            if chain and chain[0] != cpuset_mount:
                leaf = chain[0]
                n = parse_cpuset(
                    _read(leaf / "cpuset.effective_cpus") or _read(leaf / "cpuset.cpus") or ""
                )
                host = (
                    parse_cpuset(
                        _read(cpuset_mount / "cpuset.effective_cpus")
                        or _read(cpuset_mount / "cpuset.cpus")
                        or ""
                    )
                    or os.cpu_count()
                )
                if (
                    n is not None
                    and (host is None or n < host)
                    and (info.cpu_limit is None or n < info.cpu_limit)
                ):
                    info.cpu_limit, cpu_dir = float(n), None
        if info.cpu_limit is None:
            return
        # CPU time: cpuacct of the limited cgroup when cpu and cpuacct share a
        # mount, else the process's own cpuacct cgroup.
        acct_mount = self._v1_mount("cpuacct")
        acct_path = paths.get("cpuacct")
        if cpu_dir is not None and cpu_mount is not None and cpu_mount == acct_mount:
            target: Path | None = cpu_dir
        elif acct_mount is not None and acct_path is not None:
            chain = _chain(acct_mount, acct_path)
            target = chain[0] if chain else None
        else:
            target = None
        if target is not None:
            info.cpu_cgroup = str(target)


def _v2_cpu_max(text: str | None) -> float | None:
    """CPUs granted by a v2 ``cpu.max`` (``200000 100000`` -> 2.0; ``max 100000`` -> None)."""
    if text is None:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v2_usage(text: str | None) -> float | None:
    """Seconds of CPU in a v2 ``cpu.stat`` (its ``usage_usec`` line)."""
    if text is None:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            v = _int(value)
            return v / 1e6 if v is not None else None
    return None
