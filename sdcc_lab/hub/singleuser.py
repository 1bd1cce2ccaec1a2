"""``sdcc-lab-singleuser``: starts the JupyterLab server inside a batch job.

It reads the server's API token from the file the hub wrote for this
session (``SDCC_LAB_TOKEN_FILE``: the user's own, mode 600; the token never
travels in the job's submitted environment, which the scheduler records),
picks a free port on the node, reports it to the hub (the port and nothing
else; the hub learns the node from the scheduler), then replaces itself with
``jupyterhub-singleuser`` listening on that port. The hub removes the file
when the session ends.
"""

from __future__ import annotations

import json
import os
import stat
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


class TokenFileError(RuntimeError):
    """The token file is missing, empty, or others could read or replace it."""


def read_token_file(path: str) -> str:
    """The token in ``path``, which must be the user's own and readable by them alone."""
    try:
        # O_NOFOLLOW: the hub named a file, not whatever a link points to.
        # O_NONBLOCK: a FIFO in its place must not hang the job.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise TokenFileError(f"cannot open the token file {path}: {e.strerror or e}") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(f"the token file {path} is not a regular file")
        if info.st_uid != os.getuid():
            raise TokenFileError(f"the token file {path} does not belong to this user")
        if info.st_mode & 0o077:
            raise TokenFileError(
                f"the token file {path} is readable by others"
                f" (mode {stat.S_IMODE(info.st_mode):o}, must be 600)"
            )
        token = os.read(fd, 65536).decode(errors="replace").strip()
    finally:
        os.close(fd)
    if not token:
        raise TokenFileError(f"the token file {path} is empty")
    return token


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    token_file = os.environ.get("SDCC_LAB_TOKEN_FILE")
    if token_file:
        try:
            # The server (jupyterhub-singleuser) reads its token from its environment.
            os.environ["JUPYTERHUB_API_TOKEN"] = read_token_file(token_file)
        except TokenFileError as e:
            sys.exit(f"sdcc-lab-singleuser: {e}")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    if not api_url or not token:
        sys.exit(
            "sdcc-lab-singleuser: the hub must set JUPYTERHUB_API_URL and SDCC_LAB_TOKEN_FILE"
            " (or JUPYTERHUB_API_TOKEN)"
        )
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
