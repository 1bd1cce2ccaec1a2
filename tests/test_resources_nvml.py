"""sdcc_lab's NVML reader against values recorded on a real NVIDIA H200.

No GPU here: ``recorded_nvml`` replays what the real ``nvidia-ml-py`` returned
on a lent H200 (idle, and while a PyTorch process held 3.4 GiB and kept the GPU
busy); the reader's own code runs unchanged. The same reader was run on that
machine and gave the values asserted here (recorded in the fixtures'
``sdcc_reader`` section).
"""

from __future__ import annotations

import json
import sys

import pytest
from recorded_nvml import FIXTURES, replaying

from sdcc_lab.resources.gpu import NVMLReader, physical_gpus, visible_gpus

H200_UUID = "GPU-eb8f8136-f5e5-ea40-85da-2bcdc209b8f5"


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", replaying("h200_torch_load_nvml.json"))


@pytest.mark.parametrize(
    "env",
    [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": H200_UUID}, {"SLURM_JOB_GPUS": "0"}],
)
def test_busy_gpu_is_read_by_index_or_uuid(nvml: None, env: dict[str, str]) -> None:
    reader = NVMLReader(visible_gpus(env))
    [gpu] = reader.read() or []
    assert gpu["name"] == "NVIDIA H200"
    assert gpu["utilization_percent"] == 100.0
    assert gpu["memory_bytes"] == 4254990336  # the torch process's 3.4 GiB plus the driver's share
    assert gpu["memory_total_bytes"] == 150754820096
    assert reader.problem is None


def test_a_gpu_the_machine_does_not_have_leaves_values_empty_and_says_why(nvml: None) -> None:
    reader = NVMLReader(["1"])
    [gpu] = reader.read() or []
    assert gpu["name"] is None and gpu["memory_bytes"] is None
    assert reader.problem == "NVML could not read GPU 1: Invalid Argument"


def test_no_gpu_visible_means_no_nvml_call(nvml: None) -> None:
    reader = NVMLReader(visible_gpus({}))
    assert reader.read() is None
    assert reader.problem == "no GPU visible to this session"


@pytest.mark.parametrize("recording", ["h200_idle_nvml.json", "h200_torch_load_nvml.json"])
def test_replay_agrees_with_the_reader_run_on_the_real_gpu(
    monkeypatch: pytest.MonkeyPatch, recording: str
) -> None:
    """What the reader returns here equals what it returned on the H200 itself."""
    monkeypatch.setitem(sys.modules, "pynvml", replaying(recording))
    on_gpu = json.loads((FIXTURES / recording).read_text())["sdcc_reader"]
    for case in on_gpu.values():
        reader = NVMLReader(visible_gpus(case["env"]))
        read = reader.read()
        # The compute-process list was added to the reader after that run: compared
        # with the recording's own compute_processes below.
        if read is not None:
            read = [{k: v for k, v in g.items() if k != "processes"} for g in read]
        assert read == case["read"]
        assert reader.problem == case["problem"]
    device = json.loads((FIXTURES / recording).read_text())["devices"][0]
    reader = NVMLReader(["0"])
    [gpu] = reader.read() or []
    assert gpu["processes"] == [
        {"pid": p["pid"], "memory_bytes": p["used_gpu_memory"]} for p in device["compute_processes"]
    ]


def test_the_torch_process_is_listed_with_its_gpu_memory(nvml: None) -> None:
    [gpu] = NVMLReader(["0"]).read() or []
    assert gpu["processes"] == [{"pid": 506, "memory_bytes": 3600809984}]


NODE = "constructed_4xh200_node.json"  # built by hand: see tests/recorded_nvml.py


@pytest.mark.parametrize(
    "env",
    [
        # devices not confined: NVML sees the node's 4 GPUs; CUDA's 0,1 are the node's 1,3
        {"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_JOB_GPUS": "1,3"},
        {"CUDA_VISIBLE_DEVICES": "0,1", "SLURM_STEP_GPUS": "1,3", "SLURM_JOB_GPUS": "0,1,2,3"},
        {"SLURM_JOB_GPUS": "1,3"},
        {
            "CUDA_VISIBLE_DEVICES": "GPU-00000000-0000-4000-8000-000000000001,"
            "GPU-00000000-0000-4000-8000-000000000003"
        },
    ],
)
def test_only_the_jobs_gpus_of_a_shared_node_appear(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", replaying(NODE))
    reader = NVMLReader(visible_gpus(env), physical_gpus(env))
    gpus = reader.read() or []
    assert len(gpus) == 2
    busy, idle = gpus
    assert busy["utilization_percent"] == 100.0 and busy["processes"] == [
        {"pid": 506, "memory_bytes": 3600809984}
    ]
    assert idle["utilization_percent"] == 0.0 and idle["processes"] == []
    # GPU 2 (another job's process 9999) is never read
    assert all(p["pid"] != 9999 for g in gpus for p in g["processes"] or [])
    assert reader.problem is None


def test_confined_devices_keep_cudas_numbering(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ConstrainDevices NVML sees only the job's GPUs: CUDA's index is NVML's."""
    monkeypatch.setitem(sys.modules, "pynvml", replaying("h200_torch_load_nvml.json"))
    env = {"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_GPUS": "3"}
    [gpu] = NVMLReader(visible_gpus(env), physical_gpus(env)).read() or []
    assert gpu["name"] == "NVIDIA H200" and gpu["utilization_percent"] == 100.0


MIG = "constructed_h200_mig.json"  # built by hand: see tests/recorded_nvml.py


def test_a_mig_instance_is_read_by_its_uuid_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", replaying(MIG))
    env = {"CUDA_VISIBLE_DEVICES": "MIG-11111111-2222-5333-8444-555555555501"}
    reader = NVMLReader(visible_gpus(env), physical_gpus(env))
    [gpu] = reader.read() or []
    assert gpu["name"] == "NVIDIA H200 MIG 1g.18gb"
    assert gpu["memory_total_bytes"] == 17985175552  # the instance's, not the H200's 141 GiB
    assert gpu["utilization_percent"] is None  # NVML: Not Supported on a MIG instance
    assert gpu["processes"] == [{"pid": 506, "memory_bytes": 3600809984}]  # not 7777's
    assert reader.problem is None
