"""Sources of the resources panel: Slurm environment, HTCondor ads, JupyterHub limits, GPUs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import psutil
import pytest

from sdcc_lab.resources.facts import Facts
from sdcc_lab.resources.gpu import NVMLReader, visible_gpus
from sdcc_lab.resources.htcondor import htcondor_from_env, is_htcondor
from sdcc_lab.resources.local import host_facts, jupyterhub_limits
from sdcc_lab.resources.slurm import slurm_from_env
from sdcc_lab.resources.usage import ProcessTree, parse_proc_stat

HTC = Path(__file__).parent / "fixtures" / "htcondor"
JOB_AD = HTC / "condor_q_long_held_job_htcondor-9.9.0.txt"
MACHINE_AD = HTC / "machine_ad_slot1_from_condor_status_long_htcondor-8.9.12.ad"

# What a job of the 22.05 test cluster sees (notes: "What a job sees"), plus 23.02's times.
SLURM_ENV = {
    "SLURM_JOB_ID": "1234",
    "SLURM_JOB_PARTITION": "gpu",
    "SLURM_JOB_ACCOUNT": "tier3",
    "SLURM_JOB_QOS": "gpu-qos",
    "SLURM_JOB_NODELIST": "n12",
    "SLURM_CPUS_ON_NODE": "2",
    "SLURM_MEM_PER_NODE": "8192",
    "SLURM_JOB_GPUS": "0",
    "SLURM_GPUS_ON_NODE": "1",
}


def test_slurm_env_22_05() -> None:
    f = slurm_from_env(SLURM_ENV)
    assert (f.job_id, f.partition, f.account, f.qos, f.nodes) == (
        "1234",
        "gpu",
        "tier3",
        "gpu-qos",
        "n12",
    )
    assert (f.cpus, f.memory_bytes, f.gpus) == (2.0, 8 << 30, 1)
    assert f.end is None and f.limit_seconds is None  # 22.05 sets no end time
    assert f.limits_from == "slurm" and f.problems == ()


def test_slurm_env_23_02_times_and_mem_per_cpu() -> None:
    env = {**SLURM_ENV, "SLURM_JOB_START_TIME": "1700000000", "SLURM_JOB_END_TIME": "1700003600"}
    del env["SLURM_MEM_PER_NODE"], env["SLURM_GPUS_ON_NODE"]
    env["SLURM_MEM_PER_CPU"] = "1000"
    f = slurm_from_env(env)
    assert f.start == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert f.limit_seconds == 3600
    assert f.memory_bytes == 2000 << 20
    assert f.gpus == 1  # counted from SLURM_JOB_GPUS


@pytest.mark.parametrize(
    "name,value",
    [
        ("SLURM_CPUS_ON_NODE", "two"),
        ("SLURM_MEM_PER_NODE", "8G"),
        ("SLURM_JOB_END_TIME", "-5"),
        ("SLURM_GPUS_ON_NODE", "1.5"),
        ("SLURM_JOB_START_TIME", "99999999999999999999"),
    ],
)
def test_slurm_env_malformed_values_are_null_with_a_problem(name: str, value: str) -> None:
    f = slurm_from_env({**SLURM_ENV, name: value})
    assert f.problems and name in f.problems[0]
    assert f.job_id == "1234"


def test_htcondor_recorded_job_and_machine_ads() -> None:
    env = {
        "_CONDOR_JOB_AD": str(JOB_AD),
        "_CONDOR_MACHINE_AD": str(MACHINE_AD),
        "BATCH_SYSTEM": "HTCondor",
    }
    assert is_htcondor(env)
    f = htcondor_from_env(env)
    assert f.job_id == "15872426.5189"
    assert f.cpus == 4.0  # RequestCpus wins over the slot's Cpus = 1
    assert f.memory_bytes == 16384 << 20
    assert f.gpus == 0  # no RequestGPUs in the ad
    assert f.start == datetime.fromtimestamp(1653506929, timezone.utc)
    assert f.limit_seconds == 1209600  # AllowedExecuteDuration (no AllowedJobDuration)
    assert f.end is not None and (f.end - f.start).total_seconds() == 1209600
    assert (
        f.nodes == "slot1@exechost.localdomain"
    )  # the machine ad's Name (a held job has no RemoteHost)
    assert f.problems == ()


def test_htcondor_machine_ad_alone() -> None:
    f = htcondor_from_env({"_CONDOR_MACHINE_AD": str(MACHINE_AD)})
    assert (f.cpus, f.memory_bytes, f.job_id, f.end) == (1.0, 1957 << 20, None, None)


def test_htcondor_missing_and_malformed_ads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ad"
    bad.write_text("this is not a classad\n")
    f = htcondor_from_env(
        {"_CONDOR_JOB_AD": str(tmp_path / "gone.ad"), "_CONDOR_MACHINE_AD": str(bad)}
    )
    assert f.job_id is None and f.cpus is None and len(f.problems) == 2


def test_jupyterhub_limits() -> None:
    f = jupyterhub_limits({"MEM_LIMIT": "2147483648", "CPU_LIMIT": "0.5"})
    assert (f.memory_bytes, f.cpus, f.limits_from) == (2 << 30, 0.5, "jupyterhub")
    g = jupyterhub_limits({"MEM_LIMIT": "2G", "CPU_LIMIT": "-1"})
    assert (g.memory_bytes, g.cpus, len(g.problems)) == (None, None, 2)
    assert jupyterhub_limits({}) == Facts()


def test_host_facts_are_this_machine() -> None:
    h = host_facts()
    assert h.cpus == float(len(os.sched_getaffinity(0)))
    assert h.memory_bytes == psutil.virtual_memory().total
    assert h.nodes == socket.gethostname() and h.limits_from == "host"


def test_parse_proc_stat_with_a_hostile_command_name() -> None:
    # a process may name itself "a) R 1 (b": the fields are counted from the last ")"
    fields = ["S", "77", *["0"] * 9, "250", "50", *["0"] * 6, "12345", "0", "1000"]
    st = parse_proc_stat("4242 (a) R 1 (b) " + " ".join(fields) + " 0 0\n")
    assert st is not None
    assert (st.ppid, st.start_ticks) == (77, 12345)
    assert st.rss_bytes == 1000 * os.sysconf("SC_PAGE_SIZE")
    assert st.cpu_seconds == 300 / os.sysconf("SC_CLK_TCK")
    assert parse_proc_stat("garbage") is None and parse_proc_stat("1 (x) S 1 2") is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _child(megabytes: int) -> subprocess.Popen[str]:
    code = (
        f"held = bytearray({megabytes} << 20)\nfor i in range(0, len(held), 4096): held[i] = 1\n"
        "print('ready', flush=True)\nimport sys; sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    return child


def test_process_tree_counts_children_from_the_next_scan_and_drops_exited_at_once() -> None:
    clock = Clock()
    tree = ProcessTree(scan_interval=10.0, clock=clock)
    alone, _ = tree.sample()
    child = _child(150)
    try:
        assert abs(tree.sample()[0] - alone) < 20 << 20  # before the next scan: not counted yet
        clock.now += 10
        with_child, _ = tree.sample()
        assert 145 << 20 <= with_child - alone <= 200 << 20  # its 150 MiB
    finally:
        child.kill()
        child.wait()
    assert abs(tree.sample()[0] - alone) < 20 << 20  # gone without waiting for a scan


def test_facts_merge_keeps_known_values() -> None:
    a = Facts(job_id="1", cpus=2.0, problems=("x",))
    b = Facts(cpus=4.0, partition="gpu", problems=("y",))
    assert a.merged(b) == Facts(job_id="1", cpus=4.0, partition="gpu", problems=("x", "y"))


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"CUDA_VISIBLE_DEVICES": "0,1"}, ["0", "1"]),
        ({"CUDA_VISIBLE_DEVICES": ""}, []),
        ({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, []),
        ({"SLURM_JOB_GPUS": "3"}, ["3"]),
        ({}, None),
        ({"CUDA_VISIBLE_DEVICES": "GPU-5b3f,GPU-77aa"}, ["GPU-5b3f", "GPU-77aa"]),
    ],
)
def test_visible_gpus(env: dict[str, str], expected: list[str] | None) -> None:
    assert visible_gpus(env) == expected


def test_nvml_missing_is_a_problem_not_an_error() -> None:
    reader = NVMLReader(["0"])
    if reader.available:  # pragma: no cover - a machine with a driver
        assert isinstance(reader.read(), list)
    else:
        assert reader.read() is None and reader.problem
