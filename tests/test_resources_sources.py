"""Sources of the resources panel: Slurm environment, HTCondor ads, JupyterHub limits, GPUs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from sdcc_lab.resources.facts import Facts
from sdcc_lab.resources.gpu import NVMLReader, visible_gpus
from sdcc_lab.resources.htcondor import htcondor_from_env, is_htcondor
from sdcc_lab.resources.local import ProcessTree, host_facts, jupyterhub_limits
from sdcc_lab.resources.slurm import slurm_from_env

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
    assert (f.job_id, f.partition, f.account, f.qos, f.nodes) == ("1234", "gpu", "tier3", "gpu-qos", "n12")
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
    [("SLURM_CPUS_ON_NODE", "two"), ("SLURM_MEM_PER_NODE", "8G"), ("SLURM_JOB_END_TIME", "-5"),
     ("SLURM_GPUS_ON_NODE", "1.5"), ("SLURM_JOB_START_TIME", "99999999999999999999")],
)
def test_slurm_env_malformed_values_are_null_with_a_problem(name: str, value: str) -> None:
    f = slurm_from_env({**SLURM_ENV, name: value})
    assert f.problems and name in f.problems[0]
    assert f.job_id == "1234"


def test_htcondor_recorded_job_and_machine_ads() -> None:
    env = {"_CONDOR_JOB_AD": str(JOB_AD), "_CONDOR_MACHINE_AD": str(MACHINE_AD), "BATCH_SYSTEM": "HTCondor"}
    assert is_htcondor(env)
    f = htcondor_from_env(env)
    assert f.job_id == "15872426.5189"
    assert f.cpus == 4.0  # RequestCpus wins over the slot's Cpus = 1
    assert f.memory_bytes == 16384 << 20
    assert f.gpus == 0  # no RequestGPUs in the ad
    assert f.start == datetime.fromtimestamp(1653506929, timezone.utc)
    assert f.limit_seconds == 1209600  # AllowedExecuteDuration (no AllowedJobDuration)
    assert f.end is not None and (f.end - f.start).total_seconds() == 1209600
    assert f.nodes == "slot1@exechost.localdomain"  # the machine ad's Name (a held job has no RemoteHost)
    assert f.problems == ()


def test_htcondor_machine_ad_alone() -> None:
    f = htcondor_from_env({"_CONDOR_MACHINE_AD": str(MACHINE_AD)})
    assert (f.cpus, f.memory_bytes, f.job_id, f.end) == (1.0, 1957 << 20, None, None)


def test_htcondor_missing_and_malformed_ads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ad"
    bad.write_text("this is not a classad\n")
    f = htcondor_from_env({"_CONDOR_JOB_AD": str(tmp_path / "gone.ad"), "_CONDOR_MACHINE_AD": str(bad)})
    assert f.job_id is None and f.cpus is None and len(f.problems) == 2


def test_jupyterhub_limits() -> None:
    f = jupyterhub_limits({"MEM_LIMIT": "2147483648", "CPU_LIMIT": "0.5"})
    assert (f.memory_bytes, f.cpus, f.limits_from) == (2 << 30, 0.5, "jupyterhub")
    g = jupyterhub_limits({"MEM_LIMIT": "2G", "CPU_LIMIT": "-1"})
    assert (g.memory_bytes, g.cpus, len(g.problems)) == (None, None, 2)
    assert jupyterhub_limits({}) == Facts()


def test_host_and_process_tree() -> None:
    h = host_facts()
    assert h.cpus and h.cpus >= 1 and h.memory_bytes and h.nodes
    rss, cpu = ProcessTree().sample()
    assert rss > 10 << 20 and cpu > 0


def test_facts_merge_keeps_known_values() -> None:
    a = Facts(job_id="1", cpus=2.0, problems=("x",))
    b = Facts(cpus=4.0, partition="gpu", problems=("y",))
    assert a.merged(b) == Facts(job_id="1", cpus=4.0, partition="gpu", problems=("x", "y"))


@pytest.mark.parametrize(
    "env,expected",
    [({"CUDA_VISIBLE_DEVICES": "0,1"}, ["0", "1"]), ({"CUDA_VISIBLE_DEVICES": ""}, []),
     ({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, []), ({"SLURM_JOB_GPUS": "3"}, ["3"]), ({}, None),
     ({"CUDA_VISIBLE_DEVICES": "GPU-5b3f,GPU-77aa"}, ["GPU-5b3f", "GPU-77aa"])],
)
def test_visible_gpus(env: dict[str, str], expected: list[str] | None) -> None:
    assert visible_gpus(env) == expected


def test_nvml_missing_is_a_problem_not_an_error() -> None:
    reader = NVMLReader(["0"])
    if reader.available:  # pragma: no cover - a machine with a driver
        assert isinstance(reader.read(), list)
    else:
        assert reader.read() is None and reader.problem
