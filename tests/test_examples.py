"""The example configurations load, and the site class picks the right spawner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from sdcc_lab.hub import LocalSessionSpawner, SlurmSessionSpawner
from sdcc_lab.netutil import free_port

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_site_spawner_example_selects_by_validated_options() -> None:
    config = PyFileConfigLoader(
        "jupyterhub_config.py", path=str(EXAMPLES / "site-spawner")
    ).load_config()
    spawner = config.JupyterHub.spawner_class(config=config)
    base = {
        "local": False,
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "gpus": 1,
        "runtime": 30,
        "environment": "default",
    }
    # child_class_for: the configured hook, checked against allowed_child_classes.
    assert spawner.child_class_for({**base, "local": True}) is LocalSessionSpawner
    assert spawner.child_class_for({**base, "gpu": "none"}) is SlurmSessionSpawner
    gpu_class = spawner.child_class_for({**base, "gpu": "any"})
    assert issubclass(gpu_class, SlurmSessionSpawner) and gpu_class is not SlurmSessionSpawner


# --- the front proxy's helpers (examples/apache-header-auth, examples/two-hubs) ---

SINGLE_RUN = EXAMPLES / "apache-header-auth" / "run.sh"


@contextmanager
def listener(argv_tail: list[str], user: str | None = None) -> Iterator[int]:
    """A process listening on 127.0.0.1:PORT with ``argv_tail`` on its command line."""
    port = free_port()
    code = (
        "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',int(sys.argv[1])));"
        "s.listen(); print('up', flush=True); time.sleep(120)"
    )
    # Debian's Python: another user may not read this checkout's venv (CI's clone is private).
    process = subprocess.Popen(
        ["/usr/bin/python3", "-c", code, str(port), *argv_tail], stdout=subprocess.PIPE, user=user
    )
    try:
        assert process.stdout and process.stdout.readline() == b"up\n"
        yield port
    finally:
        process.kill()
        process.wait()


def hub_url(port: int, secret_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SINGLE_RUN), "hub-url", f"http://127.0.0.1:{port}", str(secret_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "proxy-secret"
    path.write_text("s" * 32)
    path.chmod(0o600)
    return path


def test_run_sh_reads_the_hubs_address_from_its_proxy(secret_file: Path) -> None:
    with listener(["--error-target", "http://127.0.0.1:4711/hub/error"]) as port:
        r = hub_url(port, secret_file)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "http://127.0.0.1:4711"


def test_run_sh_refuses_a_proxy_of_another_user(secret_file: Path) -> None:
    """Anyone could start a process that names an address: only the hub's user counts."""
    assert os.geteuid() == 0, "run.sh runs as root (Apache starts as root)"
    with listener(["--error-target", "http://127.0.0.1:4711/hub/error"], user="nobody") as port:
        r = hub_url(port, secret_file)
    assert r.returncode != 0
    assert "not the hub's user" in r.stderr and "HUB_DIRECT_URL" in r.stderr


def test_run_sh_refuses_what_is_not_a_hubs_proxy(secret_file: Path) -> None:
    with listener(["--error-target", "http://127.0.0.1:4711/elsewhere"]) as port:
        r = hub_url(port, secret_file)
    assert r.returncode != 0
    assert "not a hub's configurable-http-proxy" in r.stderr
    r = hub_url(free_port(), secret_file)
    assert r.returncode != 0
    assert "nothing listens" in r.stderr


def test_the_routing_program_answers_both_addresses_of_a_users_hub() -> None:
    program = EXAMPLES / "two-hubs" / "hub_for_user.py"
    hubs = ["127.0.0.1:8001=127.0.0.1:9001", "127.0.0.1:8002=127.0.0.1:9002"]
    r = subprocess.run(
        [sys.executable, str(program), *hubs],
        input="alice\nbob\nalice\n\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    answers = r.stdout.splitlines()
    assert len(answers) == 4
    assert all(
        a in ("127.0.0.1:8001 127.0.0.1:9001", "127.0.0.1:8002 127.0.0.1:9002") for a in answers
    )
    assert answers[0] == answers[2]  # one user, one hub
    assert answers[3] == "127.0.0.1:8001 127.0.0.1:9001"  # before login: the first hub
    for bad in (["127.0.0.1:8001"], ["=127.0.0.1:9001"], []):
        r = subprocess.run(
            [sys.executable, str(program), *bad],
            input="alice\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert r.returncode != 0 and "usage" in r.stderr, bad
