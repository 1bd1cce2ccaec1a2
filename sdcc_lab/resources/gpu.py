"""GPUs of the session: which are visible, and their use when NVML is installed.

Visibility comes from ``CUDA_VISIBLE_DEVICES`` (Slurm and HTCondor set it),
else ``SLURM_JOB_GPUS``. Usage needs NVML (``pip install sdcc_lab[gpu]``,
which brings ``nvidia-ml-py``); without it, or without a driver, usage is
``None`` and the reason is kept once for the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .slurm import gpu_list


def visible_gpus(environ: Mapping[str, str]) -> list[str] | None:
    listed = gpu_list(environ.get("CUDA_VISIBLE_DEVICES"))
    if listed is None:
        listed = gpu_list(environ.get("SLURM_JOB_GPUS"))
    return listed


class NVMLReader:
    """Utilisation and memory of the visible GPUs through NVML (optional)."""

    def __init__(self, devices: list[str] | None) -> None:
        self.devices = devices
        self.problem: str | None = None
        self._nvml: Any = None
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

    def _handle(self, device: str) -> Any:
        nv = self._nvml
        if device.isdigit():
            return nv.nvmlDeviceGetHandleByIndex(int(device))
        return nv.nvmlDeviceGetHandleByUUID(device)

    def read(self) -> list[dict[str, Any]] | None:
        """One entry per visible GPU, or None when usage cannot be read. Blocking."""
        if self._nvml is None or not self.devices:
            return None
        nv = self._nvml
        out: list[dict[str, Any]] = []
        for device in self.devices:
            entry: dict[str, Any] = {
                "id": device,
                "name": None,
                "utilization_percent": None,
                "memory_bytes": None,
                "memory_total_bytes": None,
            }
            try:
                h = self._handle(device)
                name = nv.nvmlDeviceGetName(h)
                entry["name"] = name.decode() if isinstance(name, bytes) else str(name)
                entry["utilization_percent"] = float(nv.nvmlDeviceGetUtilizationRates(h).gpu)
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                entry["memory_bytes"], entry["memory_total_bytes"] = int(mem.used), int(mem.total)
            except Exception as e:  # noqa: BLE001 - one device failing leaves its values null
                self.problem = f"NVML could not read GPU {device}: {e}"
            out.append(entry)
        return out
