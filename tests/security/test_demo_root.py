"""The demo portal started as root: each user's session runs as that user.

``sdcc-lab demo`` as root (what ``scripts/demo.sh`` does on a fresh machine)
must not hand root to whoever logs in: a local session runs as the user's own
Unix account, the users cannot read each other's files nor the demo's
secrets, and logging in takes the demo's password. These probes start a real
demo as root, with the users' real homes (the demo's default as root), its
data folder in a place every user can reach (like ``./.sdcc-lab-demo`` in a
clone that others can read), and look at the real processes and files.
"""

from __future__ import annotations

import ast
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient, run_code

pytestmark = [pytest.mark.hub, pytest.mark.slow]

BIN_DIR = Path(sys.executable).parent


def uid_of(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


@pytest.fixture(scope="module")
def root_portal() -> Iterator[Portal]:
    if os.geteuid() != 0:
        pytest.fail("these probes start the demo as root (CI runs the tests as root)")
    for user in ("alice", "bob"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.fail(
                f"no Unix account {user} (scripts/slurm/cluster.sh up creates alice and bob)"
            )
    base = Path(tempfile.mkdtemp(prefix="sdcc-demo-root-", dir="/tmp"))
    base.chmod(0o755)  # reachable by every user, as a clone's .sdcc-lab-demo would be
    portal = _start_portal(base / "data", users="alice,bob", own_homes=True)
    yield portal
    portal.stop()
    shutil.rmtree(base, ignore_errors=True)


def logged_in_with_server(portal: Portal, name: str) -> HubClient:
    client = HubClient(portal.url, name)
    client.login()
    client.start_server(local=True)
    assert client.open_lab().status_code == 200
    return client


@pytest.fixture(scope="module")
def alice(root_portal: Portal) -> HubClient:
    return logged_in_with_server(root_portal, "alice")


@pytest.fixture(scope="module")
def bob(root_portal: Portal) -> HubClient:
    return logged_in_with_server(root_portal, "bob")


def server_process(portal: Portal, user: str) -> psutil.Process:
    """The user's JupyterLab server among the processes the demo started."""
    for p in psutil.Process(portal.process.pid).children(recursive=True):
        try:
            if any("jupyterhub-singleuser" in a for a in p.cmdline()) and (
                p.environ().get("JUPYTERHUB_USER") == user
            ):
                return p
        except psutil.Error:
            continue
    raise AssertionError(f"no server process of {user} under the demo")


def status_uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid, as the kernel reports them."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(v) for v in line.split()[1:]]
    raise AssertionError(f"no Uid line for {pid}")


def test_alices_local_server_runs_as_alice(root_portal: Portal, alice: HubClient) -> None:
    assert status_uids(server_process(root_portal, "alice").pid) == [uid_of("alice")] * 4


def test_code_in_alices_session_runs_as_alice(alice: HubClient) -> None:
    out = run_code(
        alice,
        "import subprocess\n"
        "int(subprocess.run(['id', '-u'], capture_output=True, text=True, check=True).stdout)",
    )
    assert out == str(uid_of("alice"))


def test_alices_starter_notebook_is_hers_and_bob_cannot_read_it(
    alice: HubClient, bob: HubClient
) -> None:
    path = ast.literal_eval(run_code(alice, "import os\nos.path.abspath('welcome.ipynb')"))
    assert int(run_code(alice, f"import os\nos.stat({path!r}).st_uid")) == uid_of("alice")
    folder = os.path.dirname(path)
    out = run_code(
        bob,
        "import os\n"
        "def attempt(f):\n"
        "    try:\n"
        "        f()\n"
        "        return 'allowed'\n"
        "    except PermissionError:\n"
        "        return 'refused'\n"
        f"(attempt(lambda: open({path!r}).read()), attempt(lambda: os.listdir({folder!r})))",
    )
    assert out == "('refused', 'refused')"


@pytest.mark.parametrize("password", ["", "not-the-demo-password"])
def test_a_wrong_password_is_refused(root_portal: Portal, password: str) -> None:
    client = HubClient(root_portal.url, "alice", password=password)
    with pytest.raises(requests.HTTPError) as e:
        client.login()
    assert e.value.response.status_code == 403
    assert not any(c.name.startswith("jupyterhub-session") for c in client.session.cookies)


def test_alice_cannot_read_the_demos_secrets(root_portal: Portal, alice: HubClient) -> None:
    hub = root_portal.data_dir / "hub"
    secrets = [
        hub / "jupyterhub_cookie_secret",
        hub / "jupyterhub.sqlite",
        hub / "share-keys",
        hub / "demo-password",
    ]
    readable = [
        str(f)
        for f in secrets
        if subprocess.run(
            ["runuser", "-u", "alice", "--", "test", "-r", str(f)], check=False
        ).returncode
        == 0
    ]
    assert readable == []
    assert [str(f) for f in secrets if not f.exists()] == []
    # The proxy's token is never on disk: only root's hub and proxy hold it.
    assert run_code(alice, "import os\nsorted(k for k in os.environ if 'CONFIGPROXY' in k)") == "[]"


def run_demo_until_refused(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``sdcc-lab demo``; one that starts instead of refusing is stopped and fails the test."""
    proc = subprocess.Popen(
        [str(BIN_DIR / "sdcc-lab"), "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=90)
        raise AssertionError("the demo started instead of refusing") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_demo_user_without_an_account_is_refused(tmp_path: Path) -> None:
    name = "sdccdemo-nobody"
    assert (
        subprocess.run(["getent", "passwd", name], capture_output=True, check=False).returncode == 2
    )
    r = run_demo_until_refused(
        "--users", f"alice,{name}", "--port", "1", "--data-dir", str(tmp_path / "d")
    )
    assert r.returncode == 2, r.stderr
    assert f"{name} has no Unix account" in r.stderr and "--create-users" in r.stderr
    assert not (tmp_path / "d").exists()
    assert (
        subprocess.run(["getent", "passwd", name], capture_output=True, check=False).returncode == 2
    )


def test_a_system_account_cannot_be_a_demo_user(tmp_path: Path) -> None:
    r = run_demo_until_refused(
        "--users", "daemon", "--port", "1", "--data-dir", str(tmp_path / "d")
    )
    assert r.returncode == 2, r.stderr
    assert "daemon is a system account" in r.stderr
    assert not (tmp_path / "d").exists()


def test_create_users_makes_a_locked_account_with_a_private_home(tmp_path: Path) -> None:
    name = "sdccdemo-probe"
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
    base = Path(tempfile.mkdtemp(prefix="sdcc-demo-create-", dir="/tmp"))
    base.chmod(0o755)
    portal = _start_portal(base / "data", users=name, args=("--create-users",), own_homes=True)
    try:
        entry = pwd.getpwnam(name)
        assert f"created the Unix account {name}" in portal.log()
        shadow = subprocess.run(
            ["getent", "shadow", name], capture_output=True, text=True, check=False
        ).stdout
        assert shadow.split(":")[1].startswith("!")  # no password: nobody logs in to it directly
        home = Path(entry.pw_dir)
        assert home.stat().st_uid == entry.pw_uid
        assert home.stat().st_mode & 0o777 == 0o700
        client = logged_in_with_server(portal, name)
        assert run_code(client, "import os\nos.getuid()") == str(entry.pw_uid)
        r = client.server_api("GET", "api/contents/welcome.ipynb")
        assert r.status_code == 200, r.text
    finally:
        portal.stop()
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_a_home_the_user_does_not_own_is_refused() -> None:
    from sdcc_lab.demo import DemoError, check_account

    alice = pwd.getpwnam("alice")
    borrowed = pwd.struct_passwd(("alice", "x", alice.pw_uid, alice.pw_gid, "", "/tmp", "/bin/sh"))
    with pytest.raises(DemoError, match="is not a folder owned by alice"):
        check_account(borrowed)


def test_a_home_root_others_can_write_to_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # another user could plant alice's folder (a link) in it
    r = run_demo_until_refused(
        "--users",
        "alice",
        "--home-root",
        str(shared),
        "--port",
        "1",
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert r.returncode == 2, r.stderr
    assert "only root can write to" in r.stderr
    assert list(shared.iterdir()) == []


def test_a_home_root_the_users_cannot_reach_is_refused(tmp_path: Path) -> None:
    # pytest's tmp folder is mode 700: alice cannot pass through it to her folder.
    r = run_demo_until_refused(
        "--users",
        "alice",
        "--home-root",
        str(tmp_path / "homes"),
        "--port",
        "1",
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert r.returncode == 2, r.stderr
    assert f"alice cannot reach {tmp_path / 'homes' / 'alice'}" in r.stderr


def test_servers_run_from_the_job_environment_when_users_cannot_read_the_clone(
    tmp_path: Path,
) -> None:
    from sdcc_lab.demo import DemoError, choose_server_bin

    hidden = tmp_path / "clone" / ".venv" / "bin"  # like a clone under /root
    hidden.mkdir(parents=True)
    users = [pwd.getpwnam("alice"), pwd.getpwnam("bob")]
    job_env = Path("/opt/sdcc-lab/jobenv")
    assert (job_env / "bin" / "jupyterhub-singleuser").exists(), "scripts/slurm/jobenv.sh builds it"
    assert choose_server_bin(users, hidden, job_env) == job_env / "bin"
    with pytest.raises(DemoError, match=r"alice cannot run .*scripts/slurm/jobenv.sh"):
        choose_server_bin(users, hidden, tmp_path / "no-job-env")
    # The demo's own environment, whenever every user can run it.
    shared = Path(tempfile.mkdtemp(prefix="sdcc-demo-bin-", dir="/tmp"))
    try:
        shared.chmod(0o755)
        for name in ("jupyterhub-singleuser", "python"):
            (shared / name).write_text("#!/bin/sh\n")
            (shared / name).chmod(0o755)
        assert choose_server_bin(users, shared, tmp_path / "no-job-env") == shared
    finally:
        shutil.rmtree(shared)
