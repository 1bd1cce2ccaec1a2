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

from sdcc_lab.resources.gpu import NVMLReader, visible_gpus

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
        assert reader.read() == case["read"]
        assert reader.problem == case["problem"]
