"""The resources endpoint of a local session of the ``sdcc-lab demo`` portal.

Through the real hub and proxy, with the browser's cookie and XSRF header,
as JupyterLab's panel calls it.
"""

from __future__ import annotations

import os
import socket

import psutil
import pytest
from conftest import Portal
from hubclient import HubClient

pytestmark = [pytest.mark.hub, pytest.mark.slow]


def test_local_demo_session_shows_limits_usage_and_no_wall_time(demo_portal: Portal) -> None:
    client = HubClient(demo_portal.url, "alice")
    client.login()
    client.start_server(local=True)
    assert client.open_lab().status_code == 200
    r = client.server_api("GET", "sdcc-lab/api/resources")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["scheduler"] == "local"
    assert data["job"]["id"] is None and data["job"]["environment"] == "default"
    assert data["job"]["nodes"] == socket.gethostname()  # the demo's sessions run on this machine
    assert data["time"] == {
        "start": None,
        "end": None,
        "limit_seconds": None,
        "remaining_seconds": None,
    }
    # no MEM_LIMIT/CPU_LIMIT and no cgroup limit in the demo: the session may use this machine
    assert data["allocation"] == {
        "cpus": float(len(os.sched_getaffinity(0))),
        "memory_bytes": psutil.virtual_memory().total,
        "gpus": None,
        "limits_from": "host",
    }
    # the server and its kernel: a Python process resident in memory takes tens of MB
    assert data["usage"]["memory_bytes"] > 20 << 20
    assert data["scheduler_checked_at"] is None  # a local session asks no scheduler
