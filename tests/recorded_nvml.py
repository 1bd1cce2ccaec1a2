"""A stand-in for ``pynvml`` that replays values recorded on a real GPU.

The recordings (tests/fixtures/nvml/, see SOURCES.md) were made with the real
``nvidia-ml-py`` on an NVIDIA H200 lent to the project; this module answers the
same calls with those values, so sdcc_lab's NVML code path runs unchanged on
machines without a GPU. It raises ``NVMLError`` with the driver's own words
where the real library did during the recording ("Invalid Argument" for an
index past the last GPU).

Recordings named ``constructed_*`` are built by hand in the same shape (a
node with several GPUs, MIG instances): no such machine was lent. A device's
``mig_devices`` are found by their ``MIG-`` UUID, and a ``null`` utilisation
raises "Not Supported" as the real library does for a MIG instance.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "nvml"


class NVMLError(Exception):
    pass


def replaying(recording: str) -> types.ModuleType:
    """A module object with the ``pynvml`` calls sdcc_lab makes, answered from ``recording``."""
    data: dict[str, Any] = json.loads((FIXTURES / recording).read_text())
    devices: list[dict[str, Any]] = data["devices"]
    module = types.ModuleType("pynvml")

    def by_index(index: int) -> dict[str, Any]:
        if not 0 <= index < len(devices):
            raise NVMLError("Invalid Argument")
        return devices[index]

    def by_uuid(uuid: str) -> dict[str, Any]:
        for device in devices:
            if device["uuid"] == uuid:
                return device
            for mig in device.get("mig_devices", []):
                if mig["uuid"] == uuid:
                    return mig
        raise NVMLError("Not Found")

    def utilization(h: dict[str, Any]) -> types.SimpleNamespace:
        if h["utilization"] is None:
            raise NVMLError("Not Supported")
        return types.SimpleNamespace(**h["utilization"])

    calls: dict[str, Any] = {
        "NVMLError": NVMLError,
        "nvmlInit": lambda: None,
        "nvmlDeviceGetCount": lambda: len(devices),
        "nvmlDeviceGetHandleByIndex": by_index,
        "nvmlDeviceGetHandleByUUID": by_uuid,
        "nvmlDeviceGetName": lambda h: h["name"],
        "nvmlDeviceGetUUID": lambda h: h["uuid"],
        "nvmlDeviceGetUtilizationRates": utilization,
        "nvmlDeviceGetMemoryInfo": lambda h: types.SimpleNamespace(**h["memory"]),
        "nvmlDeviceGetComputeRunningProcesses": lambda h: [
            types.SimpleNamespace(pid=p["pid"], usedGpuMemory=p["used_gpu_memory"])
            for p in h["compute_processes"]
        ],
    }
    for name, value in calls.items():
        setattr(module, name, value)
    return module
