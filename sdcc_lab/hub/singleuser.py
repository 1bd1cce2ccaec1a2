"""``sdcc-lab-singleuser``: starts the JupyterLab server inside a batch job.

It picks a free port on the node, reports it to the hub (the port and
nothing else; the hub learns the node from the scheduler), then replaces
itself with ``jupyterhub-singleuser`` listening on that port.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..netutil import free_port


def report_port(api_url: str, token: str, port: int) -> None:
    request = urllib.request.Request(
        api_url.rstrip("/") + "/sdcc-lab/port",
        data=json.dumps({"port": port}).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 204:
            raise RuntimeError(f"the hub answered {response.status} to the port report")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    if not api_url or not token:
        sys.exit("sdcc-lab-singleuser: JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN must be set by the hub")
    ip = os.environ.get("SDCC_LAB_BIND_IP", "0.0.0.0")
    port = free_port(ip)
    try:
        report_port(api_url, token, port)
    except (urllib.error.URLError, OSError, RuntimeError) as e:
        sys.exit(f"sdcc-lab-singleuser: could not report the port to the hub: {e}")
    os.environ["JUPYTERHUB_SERVICE_URL"] = f"http://{ip}:{port}{prefix}"
    server = Path(sys.executable).parent / "jupyterhub-singleuser"
    os.execv(str(server), [str(server), f"--ip={ip}", f"--port={port}", *args])


if __name__ == "__main__":
    main()
