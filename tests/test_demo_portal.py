"""The demo portal end to end: a real JupyterHub, proxy and JupyterLab servers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient, page_config

pytestmark = [pytest.mark.hub, pytest.mark.slow]

BIN_DIR = Path(sys.executable).parent


@pytest.fixture(scope="module")
def alice(demo_portal: Portal) -> HubClient:
    client = HubClient(demo_portal.url, "alice")
    client.login()
    client.start_server(local=True)
    return client


def test_alice_reaches_her_jupyterlab_with_the_extension(alice: HubClient) -> None:
    page = alice.open_lab()
    assert page.status_code == 200
    assert page.url.endswith("/user/alice/lab")
    config = page_config(page.text)
    assert config["hubUser"] == "alice"
    names = [ext["name"] for ext in config["federated_extensions"]]
    assert "sdcc-lab" in names

    info = alice.server_api("GET", "sdcc-lab/api/info")
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["user"] == "alice"
    session = body["session"]
    assert (session["scheduler"], session["options"]) == (
        "local",
        {"local": True, "environment": "default"},
    )
    # The hub wrote the identity, and no batch job disagrees with it.
    assert (session["source"], session["job_id"], session["problem"]) == ("identity", None, None)


def test_alice_finds_her_starter_notebook(alice: HubClient) -> None:
    alice.open_lab()
    r = alice.server_api("GET", "api/contents/welcome.ipynb")
    assert r.status_code == 200, r.text
    cells = r.json()["content"]["cells"]
    assert "Welcome to the sdcc_lab demo portal, alice" in cells[0]["source"]


def test_bob_cannot_call_alices_server(demo_portal: Portal, alice: HubClient) -> None:
    bob = HubClient(demo_portal.url, "bob")
    bob.login()
    # As a browser would: bob follows links into alice's server.
    r = bob.session.get(demo_portal.url + "user/alice/sdcc-lab/api/info")
    assert r.status_code in (403, 404) or "/user/bob/" in r.url or "/hub/" in r.url
    assert '"user": "alice"' not in r.text and '"user":"alice"' not in r.text
    r = bob.server_api("GET", "sdcc-lab/api/info", owner="alice")
    assert r.status_code in (302, 403), r.text
    assert "alice" not in r.text or r.status_code == 302

    # With an API token of his own, straight to alice's server.
    token = bob.hub_api("POST", "users/bob/tokens", json={"note": "test"}).json()["token"]
    r = requests.get(
        demo_portal.url + "user/alice/sdcc-lab/api/info",
        headers={"Authorization": f"token {token}"},
        allow_redirects=False,
    )
    assert r.status_code == 403
    # The same token works on bob's own hub identity: the refusal is about alice's server.
    me = requests.get(demo_portal.url + "hub/api/user", headers={"Authorization": f"token {token}"})
    assert me.json()["name"] == "bob"


def test_a_user_not_in_the_demo_cannot_log_in(demo_portal: Portal) -> None:
    mallory = HubClient(demo_portal.url, "mallory")
    with pytest.raises(requests.HTTPError) as e:
        mallory.login()
    assert e.value.response.status_code == 403
    assert not any(c.name.startswith("jupyterhub-session") for c in mallory.session.cookies)


def test_stopping_the_demo_leaves_no_process(start_demo: Callable[..., Portal]) -> None:
    portal = start_demo(users="carol")
    carol = HubClient(portal.url, "carol")
    carol.login()
    carol.start_server(local=True)
    assert carol.open_lab().status_code == 200

    demo = psutil.Process(portal.process.pid)
    tree = demo.children(recursive=True)
    commands = [" ".join(p.cmdline()) for p in tree]
    # The hub, the proxy and carol's JupyterLab server are all there before the stop.
    assert any("jupyterhub" in c and "-f" in c for c in commands), commands
    assert any("configurable-http-proxy" in c for c in commands), commands
    assert any("jupyterhub-singleuser" in c for c in commands), commands

    assert portal.stop() == 0
    _, alive = psutil.wait_procs(tree, timeout=15)
    assert alive == [], [p.cmdline() for p in alive]
    assert "demo portal stopped" in portal.log()
    with pytest.raises(requests.ConnectionError):
        requests.get(portal.url + "hub/api", timeout=5)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN_DIR / "sdcc-lab"), *args], capture_output=True, text=True, timeout=60
    )


def test_demo_refuses_a_public_address_without_the_insecure_flag(tmp_path: Path) -> None:
    r = run_cli("demo", "--ip", "0.0.0.0", "--data-dir", str(tmp_path / "d"))
    assert r.returncode == 2
    assert "--insecure-allow-remote" in r.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "Alice;rm"], "user name"),
        (["--users", " , "], "names no user"),
        (["--ip", "not-an-ip"], "not an IP address"),
        (["--port", "70000"], "not a port"),
        (["--password", "short"], "at least 8 characters"),
        (["--password", " long enough "], "must not start or end with a blank"),
    ],
)
def test_demo_refuses_bad_arguments_with_a_clear_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    r = run_cli("demo", "--data-dir", str(tmp_path / "d"), *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert not (tmp_path / "d").exists()


def test_the_demo_keeps_a_starter_notebook_the_user_edited(tmp_path: Path) -> None:
    from sdcc_lab.demo import write_starter_notebook

    home = tmp_path / "home"
    home.mkdir()
    (home / "welcome.ipynb").write_text(json.dumps({"edited": True}))
    write_starter_notebook(home, "alice")
    assert json.loads((home / "welcome.ipynb").read_text()) == {"edited": True}


def test_the_demo_password_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    from sdcc_lab.demo import DemoError, demo_password

    kept = tmp_path / "demo-password"
    first = demo_password(kept)
    assert len(first) >= 16
    assert kept.stat().st_mode & 0o777 == 0o600
    assert demo_password(kept) == first  # the next start keeps it
    assert demo_password(kept, "chosen-password") == "chosen-password"
    assert demo_password(kept) == "chosen-password"
    with pytest.raises(DemoError, match="at least 8"):
        demo_password(kept, "short")
    assert kept.read_text().strip() == "chosen-password"


def test_the_password_from_the_environment_logs_in_and_is_printed(tmp_path: Path) -> None:
    portal = _start_portal(
        tmp_path / "d", users="carol", env={"SDCC_LAB_DEMO_PASSWORD": "carols-demo-pw"}
    )
    try:
        assert portal.password == "carols-demo-pw"
        assert "with the password carols-demo-pw" in portal.log()
        HubClient(portal.url, "carol", password="carols-demo-pw").login()
        with pytest.raises(requests.HTTPError):
            HubClient(portal.url, "carol", password="any password").login()
    finally:
        portal.stop()


def config_for(as_root: bool, tmp_path: Path, home_root: str | None = None) -> Any:
    from traitlets.config import Config

    from sdcc_lab.demo import DemoSettings, configure

    settings = DemoSettings(
        ip="127.0.0.1",
        port=8000,
        hub_port=8001,
        proxy_api_port=8002,
        share_port=8003,
        users=("alice",),
        data_dir=str(tmp_path),
        bin_dir=str(BIN_DIR),
        proxy_command="configurable-http-proxy",
        as_root=as_root,
        home_root=home_root if home_root is not None else "" if as_root else str(tmp_path / "home"),
    )
    settings.hub_dir.mkdir(parents=True)
    settings.password_file.write_text("a-demo-password\n")
    c = Config()
    configure(c, asdict(settings))
    return c


def test_as_root_local_sessions_run_as_the_user_never_as_root(tmp_path: Path) -> None:
    c = config_for(True, tmp_path)
    assert c.SDCCSpawner.local_spawner_class == "sdcc_lab.hub.LocalSessionSpawner"
    assert "--allow-root" not in c.Spawner.args
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "a-demo-password"


def test_as_root_with_its_own_homes_jupyter_settings_stay_in_them(tmp_path: Path) -> None:
    """Workspaces and JupyterLab settings of local sessions live in the demo's homes."""
    c = config_for(True, tmp_path, home_root=str(tmp_path / "homes"))
    config_dir = c.Spawner.environment["JUPYTER_CONFIG_DIR"]
    from types import SimpleNamespace

    alices = SimpleNamespace(user=SimpleNamespace(name="alice"))  # what it reads of a spawner
    assert config_dir(alices) == str(tmp_path / "homes" / "alice" / ".jupyter")
    # Without homes of its own the users' real homes hold their settings, as always.
    assert "JUPYTER_CONFIG_DIR" not in config_for(True, tmp_path / "real").Spawner.environment


def test_not_as_root_sessions_run_as_the_demos_user_in_its_folder(tmp_path: Path) -> None:
    c = config_for(False, tmp_path)
    assert c.SDCCSpawner.local_spawner_class == "sdcc_lab.hub.SimpleLocalSessionSpawner"
    assert c.SimpleLocalProcessSpawner.home_dir_template == str(tmp_path / "home" / "{username}")
    assert c.SharedPasswordAuthenticator.user_password == "a-demo-password"


def test_not_as_root_everything_runs_as_the_user_who_started_the_demo() -> None:
    """As root (CI), the demo is started as bob; otherwise as the test's own user."""
    import os
    import pwd
    import shutil
    import tempfile

    from hubclient import run_code

    as_root = os.geteuid() == 0
    starter = pwd.getpwnam("bob") if as_root else pwd.getpwuid(os.getuid())
    base = Path(tempfile.mkdtemp(prefix="sdcc-demo-user-", dir="/tmp"))
    os.chown(base, starter.pw_uid, starter.pw_gid)
    portal = _start_portal(base / "data", users="carol", run_as=starter.pw_name if as_root else "")
    try:
        carol = HubClient(portal.url, "carol")
        carol.login()
        carol.start_server(local=True)
        assert run_code(carol, "import os\nos.getuid()") == str(starter.pw_uid)
        home = base / "data" / "home" / "carol"
        assert run_code(carol, "import os\nos.getcwd()") == repr(str(home))
        assert (home / "welcome.ipynb").stat().st_uid == starter.pw_uid
        assert "runs as their own Unix account" not in portal.log()
    finally:
        portal.stop()
        shutil.rmtree(base, ignore_errors=True)
