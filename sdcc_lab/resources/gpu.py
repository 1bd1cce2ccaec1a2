"""GPUs of the session's job only: which they are, and their use when NVML is installed.

Which GPUs the job was given (Slurm's binding):

- ``CUDA_VISIBLE_DEVICES`` (Slurm and HTCondor set it): indices *as CUDA numbers
  them inside the job*, or GPU/MIG UUIDs (``GPU-…``, ``MIG-…``);
- ``SLURM_STEP_GPUS`` / ``SLURM_JOB_GPUS``: the node's (physical) indices.

NVML numbers the GPUs it can open. Where Slurm confines the job's devices
(``ConstrainDevices=yes``) NVML sees only the job's GPUs and CUDA's indices
are NVML's; where it does not, NVML sees the whole node, and an index in
``CUDA_VISIBLE_DEVICES`` is mapped through Slurm's physical list (``0`` of
``SLURM_JOB_GPUS=2,3`` is the node's GPU 2). UUIDs (and MIG instances, which
only have UUIDs) are looked up by UUID. No other GPU of the node is read.

Usage needs NVML (``pip install sdcc_lab[gpu]``, which brings ``nvidia-ml-py``);
without it, or without a driver, usage is ``None`` and the reason is kept
once for the log. Per GPU, the compute processes NVML lists (pid and memory)
let the collector give each kernel its GPU memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .slurm import gpu_list


def visible_gpus(environ: Mapping[str, str]) -> list[str] | None:
    """The job's GPUs as the job names them (CUDA's list, else Slurm's)."""
    for key in ("CUDA_VISIBLE_DEVICES", "SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        listed = gpu_list(environ.get(key))
        if listed is not None:
            return listed
    return None


def physical_gpus(environ: Mapping[str, str]) -> list[str] | None:
    """The node's indices of the job's GPUs (Slurm's step list, else the job's)."""
    for key in ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        listed = gpu_list(environ.get(key))
        if listed is not None:
            return listed
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NVMLReader:
    """Utilisation, memory and compute processes of the job's GPUs through NVML (optional)."""

    def __init__(self, devices: list[str] | None, physical: list[str] | None = None) -> None:
        self.devices = devices
        self.physical = physical
        self.problem: str | None = None
        self._nvml: Any = None
        self._node_wide: bool | None = None
        if not devices:
            self.problem = "no GPU visible to this session"
            return
        try:
            import pynvml  # type: ignore[import-not-found,unused-ignore]  # optional (sdcc_lab[gpu])

            pynvml.nvmlInit()
            self._nvml = pynvml
        except ImportError:
            self.problem = "GPU usage needs NVML: install nvidia-ml-py (sdcc_lab[gpu])"
        except Exception as e:  # noqa: BLE001 - pynvml.NVMLError and driver errors
            self.problem = f"NVML unavailable: {e}"

    @property
    def available(self) -> bool:
        return self._nvml is not None

    def _sees_whole_node(self) -> bool:
        """NVML lists more GPUs than the job has: the devices are not confined."""
        if self._node_wide is None:
            try:
                count = int(self._nvml.nvmlDeviceGetCount())
            except Exception:  # noqa: BLE001 - unknown: trust the job's own numbering
                count = 0
            self._node_wide = count > len(self.devices or [])
        return self._node_wide

    def _handle(self, position: int, device: str) -> Any:
        nv = self._nvml
        if not device.isdigit():
            return nv.nvmlDeviceGetHandleByUUID(device)  # GPU-… or MIG-…
        index = device
        if (
            self.physical is not None
            and self.physical != self.devices
            and len(self.physical) == len(self.devices or [])
            and self._sees_whole_node()
        ):
            index = self.physical[position]
        return nv.nvmlDeviceGetHandleByIndex(int(index))

    def read(self) -> list[dict[str, Any]] | None:
        """One entry per job GPU (never another), or None when usage cannot be read. Blocking."""
        if self._nvml is None or not self.devices:
            return None
        nv = self._nvml
        out: list[dict[str, Any]] = []
        for position, device in enumerate(self.devices):
            entry: dict[str, Any] = {
                "id": device,
                "name": None,
                "utilization_percent": None,
                "memory_bytes": None,
                "memory_total_bytes": None,
                "processes": None,
            }
            out.append(entry)
            try:
                h = self._handle(position, device)
                entry["name"] = _text(nv.nvmlDeviceGetName(h))
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                entry["memory_bytes"], entry["memory_total_bytes"] = int(mem.used), int(mem.total)
            except Exception as e:  # noqa: BLE001 - one device failing leaves its values null
                self.problem = f"NVML could not read GPU {device}: {e}"
                continue
            # a MIG instance has no utilisation of its own ("Not Supported"): left null
            with contextlib.suppress(Exception):
                entry["utilization_percent"] = float(nv.nvmlDeviceGetUtilizationRates(h).gpu)
            # no process list: no per-kernel GPU memory
            with contextlib.suppress(Exception):
                entry["processes"] = [
                    {
                        "pid": int(p.pid),
                        "memory_bytes": int(p.usedGpuMemory)
                        if p.usedGpuMemory is not None
                        else None,
                    }
                    for p in nv.nvmlDeviceGetComputeRunningProcesses(h)
                ]
        return out
