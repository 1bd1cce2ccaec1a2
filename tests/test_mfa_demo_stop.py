"""Ctrl-C stops all of ``sdcc-lab demo --mfa``: Keycloak, Apache, the hub, the servers."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import psutil
import pytest
from mfa_harness import keycloak_login, start_mfa_portal

pytestmark = [pytest.mark.mfa, pytest.mark.apache, pytest.mark.hub, pytest.mark.slow]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    portal = start_mfa_portal(tmp_path / "data")
    try:
        client = keycloak_login(portal.url, "alice", portal.password("alice"), portal.code("alice"))
        client.start_server(local=True)
        assert client.open_lab().status_code == 200
        demo = psutil.Process(portal.process.pid)
        started = [demo, *demo.children(recursive=True)]
        apache = psutil.Process(int((portal.data_dir / "mfa" / "apache" / "httpd.pid").read_text()))
        started += [apache, *apache.children(recursive=True)]
        names = {p.name() for p in started}
        assert {"java", "apache2"} <= names, names
        assert any("jupyterhub-singleuser" in " ".join(p.cmdline()) for p in started)
        front_port = int(portal.url.rstrip("/").rsplit(":", 1)[1])
        ports = [front_port, portal.keycloak_port]
    finally:
        portal.process.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal sends
        assert portal.process.wait(timeout=120) == 0
    _, alive = psutil.wait_procs(started, timeout=30)
    assert not [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not [port for port in ports if listening(port)]
    assert "sdcc_lab demo portal stopped." in portal.log_path.read_text()
