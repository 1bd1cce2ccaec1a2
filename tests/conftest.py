"""Fixtures of sdcc_lab's Python tests.

- ``demo_portal`` (session): a real ``sdcc-lab demo`` portal, that is a real
  JupyterHub with configurable-http-proxy, on free ports in a temporary folder,
  started with the project's own configuration. Yields a ``Portal``.
- ``start_demo``: a factory for extra portals a test owns (to stop them itself).
- ``jp_server_config``: pytest-jupyter's server with the sdcc_lab extension on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hubclient import PORTAL_PASSWORDS

from sdcc_lab.demo import PASSWORD_FILE
from sdcc_lab.netutil import free_port

pytest_plugins = ["pytest_jupyter.jupyter_server", "mfa_harness"]

BIN_DIR = Path(sys.executable).parent
JOBENV_BIN = Path("/opt/sdcc-lab/jobenv/bin")
# The portals' --home-root folders (as root), removed when the test session ends.
_HOME_ROOTS: set[Path] = set()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for folder in _HOME_ROOTS:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Portal:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def password(self) -> str:
        """The demo users' login password, as the demo keeps it."""
        return (self.data_dir / "hub" / PASSWORD_FILE).read_text().strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 90) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def _start_portal(
    data_dir: Path,
    users: str = "alice,bob",
    args: tuple[str, ...] = (),
    port: int = 0,
    env: dict[str, str] | None = None,
    own_homes: bool = False,
    run_as: str = "",
) -> Portal:
    """Start ``sdcc-lab demo`` on ``data_dir``; HubClient learns its password.

    As root (CI) the demo runs each user's session as their Unix account:
    missing test users are created (--create-users), and unless ``own_homes``
    the sessions start in a folder of this portal's own (--home-root), so that
    tests find the homes as fresh as the portal. ``run_as`` (as root): start
    the demo as that user instead (runuser), as someone without root would.
    """
    port = port or free_port()
    prefix: tuple[str, ...] = ()
    bin_dir = BIN_DIR
    if run_as and os.geteuid() == 0:
        prefix = ("runuser", "-u", run_as, "--")
        # Another user may not read this checkout (CI's clone is private): the job
        # environment is the install every user can run (scripts/slurm/jobenv.sh).
        bin_dir = JOBENV_BIN
    elif os.geteuid() == 0:
        args = ("--create-users", *args)
        if not own_homes:
            # Outside pytest's tmp folder (mode 700): the users must pass through it.
            digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
            home_root = Path(f"/tmp/sdcc-lab-test-homes-{digest}")
            _HOME_ROOTS.add(home_root)
            args = ("--home-root", str(home_root), *args)
    log_path = data_dir.parent / f"{data_dir.name}.log"
    offset = log_path.stat().st_size if log_path.exists() else 0  # a restart appends
    log = log_path.open("ab")
    process = subprocess.Popen(
        [
            *prefix,
            str(bin_dir / "sdcc-lab"),
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--users",
            users,
            *args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            **(env or {}),
        },
    )
    portal = Portal(f"http://127.0.0.1:{port}/", data_dir, process, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sdcc-lab demo exited with {process.returncode}:\n{portal.log()}")
        if b"demo portal is running" in log_path.read_bytes()[offset:]:
            with urllib.request.urlopen(portal.url + "hub/api", timeout=5) as r:
                assert r.status == 200
            PORTAL_PASSWORDS[portal.url] = portal.password
            return portal
        time.sleep(0.3)
    portal.stop()
    raise RuntimeError(f"sdcc-lab demo did not come up:\n{portal.log()}")


@pytest.fixture(scope="session")
def demo_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = _start_portal(tmp_path_factory.mktemp("portal") / "data")
    yield portal
    portal.stop()


@pytest.fixture
def start_demo(tmp_path: Path) -> Iterator[Callable[..., Portal]]:
    started: list[Portal] = []

    def start(users: str = "alice,bob", args: tuple[str, ...] = ()) -> Portal:
        portal = _start_portal(tmp_path / f"data{len(started)}", users, args)
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.stop()


@pytest.fixture
def jp_server_config() -> dict[str, object]:
    return {"ServerApp": {"jpserver_extensions": {"sdcc_lab": True}}}
