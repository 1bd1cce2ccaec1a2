"""``sdcc-lab demo``: a complete local portal on one machine.

It writes a ``jupyterhub_config.py`` under the data folder, starts a real
JupyterHub (which starts configurable-http-proxy and one JupyterLab server per
user who logs in), prints how to log in, and on Ctrl-C or SIGTERM stops the
hub and every process the hub started, leaving none behind.

Layout of the data folder::

    DATA/hub/       (mode 700) jupyterhub_config.py, hub database, cookie secret,
                    share keys, the demo password (demo-password), proxy pid
    DATA/home/NAME/ each demo user's folder, when not run as root (a starter
                    notebook on first run)

Run as root, the demo runs each user's local session as that user's own Unix
account (JupyterHub's LocalProcessSpawner), in their home, or in
``--home-root DIR``/NAME (owned by them, mode 700); it refuses a user without
an account unless ``--create-users`` lets it create one. Not as root,
everything runs as the user who started it, in DATA/home/NAME.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pprint
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from .netutil import free_port

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
STARTER_NOTEBOOK = "welcome.ipynb"
# The interface a user's server opens (and a share link continues to): JupyterLab.
DEFAULT_URL = "/lab"
PASSWORD_FILE = "demo-password"
PASSWORD_ENV = "SDCC_LAB_DEMO_PASSWORD"
# SharedPasswordAuthenticator's own minimum.
PASSWORD_MIN_LENGTH = 8


class DemoError(Exception):
    """A problem the person running the demo can fix; the message says how."""


# The demo's hub groups and their members (those among --users): shares can be
# addressed to a group (sdcc_lab.share.audience).
DEMO_GROUPS: dict[str, tuple[str, ...]] = {"physics": ("alice", "bob")}


@dataclass(frozen=True)
class DemoSettings:
    """Everything the demo's hub configuration depends on."""

    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    share_port: int
    users: tuple[str, ...]
    data_dir: str
    bin_dir: str
    proxy_command: str
    as_root: bool
    # Empty when sessions may run as Slurm jobs; else why they may not.
    slurm_unavailable: str = "local sessions were asked for (--local-only)"
    job_env: str = ""
    extra_config: str = ""
    # The folder with one folder per user; "" (as root only): the users' own homes.
    home_root: str = ""
    # Where the single-user servers' jupyterhub-singleuser is (the demo's own
    # environment, or the job environment when the users cannot run that one).
    server_bin: str = ""
    # --mfa: the front's URL (Apache + Keycloak), and what the hub checks its
    # tokens with (sdcc_lab.front.MfaFront.hub_settings); "" / {} otherwise.
    front_url: str = ""
    token_auth: dict[str, str] | None = None

    @property
    def portal_url(self) -> str:
        """The URL users open: the front's with --mfa, else the proxy's."""
        return self.front_url or self.url

    @property
    def hub_dir(self) -> Path:
        return Path(self.data_dir) / "hub"

    @property
    def password_file(self) -> Path:
        return self.hub_dir / PASSWORD_FILE

    @property
    def url(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"http://{host}:{self.port}/"


def parse_users(users: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(u.strip() for u in users.split(",") if u.strip()))
    if not names:
        raise DemoError("--users names no user")
    for name in names:
        if not USERNAME_RE.match(name):
            raise DemoError(
                f"user name {name!r} is not allowed: use lower-case letters, digits, '-' or '_', "
                "starting with a letter"
            )
    return names


def internal_ports(hub_dir: Path) -> tuple[int, int, int]:
    """The hub's, the proxy API's and the share service's ports: the last run's when free.

    Servers that outlive a hub restart (batch jobs) call the hub's API at the
    address they were started with, so a restarted demo keeps it.
    """
    saved = hub_dir / "ports.json"
    try:
        ports = json.loads(saved.read_text())
        hub_port, proxy_api_port = int(ports["hub"]), int(ports["proxy_api"])
        share_port = int(ports["share"])
        for port in (hub_port, proxy_api_port, share_port):
            with socket.socket() as s:
                # As the hub will bind it: a port in TIME_WAIT after a crash is free.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
    except (OSError, ValueError, KeyError, TypeError):
        hub_port, proxy_api_port, share_port = free_port(), free_port(), free_port()
    hub_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    saved.write_text(
        json.dumps({"hub": hub_port, "proxy_api": proxy_api_port, "share": share_port})
    )
    return hub_port, proxy_api_port, share_port


def check_ip(ip: str, insecure_allow_remote: bool) -> None:
    if ip == "localhost":
        return
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise DemoError(f"--ip {ip!r} is not an IP address") from None
    if not address.is_loopback and not insecure_allow_remote:
        raise DemoError(
            f"--ip {ip} is reachable from other machines, and the demo's one password logs in "
            "as any demo user. "
            "Use 127.0.0.1, or add --insecure-allow-remote if you really mean it."
        )


def find_proxy(bin_dir: Path) -> str:
    """configurable-http-proxy: next to this Python first, then on PATH."""
    candidate = bin_dir / "configurable-http-proxy"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    raise DemoError(
        "configurable-http-proxy was not found. Install it with "
        f"'npm install -g --prefix {sys.prefix} configurable-http-proxy' "
        "(the README's set-up command does)."
    )


def write_starter_notebook(home: Path, user: str, text: str | None = None) -> None:
    """A first notebook in each home; an existing one (maybe edited) is kept.

    ``text`` is :func:`starter_notebook_text`, made beforehand by the caller when
    this runs as the user (who may not read a private checkout's modules).
    """
    path = home / STARTER_NOTEBOOK
    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text if text is not None else starter_notebook_text(user), encoding="utf-8")
    tmp.replace(path)


def starter_notebook_text(user: str) -> str:
    """The starter notebook of ``user``, as notebook (nbformat 4.5) JSON text."""
    welcome = (
        f"# Welcome to the sdcc_lab demo portal, {user}\n\n"
        "This JupyterLab runs as a session of the portal. "
        "*Help → About this Session…* shows where it runs and with which options.\n\n"
        "Every demo user has a home folder of their own; log in as another demo user "
        "in a private window to try what you do together."
    )
    notebook = {
        "cells": [
            {"cell_type": "markdown", "id": "welcome", "metadata": {}, "source": welcome},
            {
                "cell_type": "code",
                "id": "where",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": "import platform\nprint(f'Running on {platform.node()}')",
            },
        ],
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def slurm_unavailable_reason(job_env: Path) -> str:
    """Why the demo cannot run sessions as Slurm jobs here, or "" if it can."""
    if os.geteuid() != 0:
        return "the demo runs Slurm sessions only when started as root (to submit as each user)"
    for command in ("/usr/bin/sbatch", "/usr/bin/sacctmgr", "/usr/bin/scontrol"):
        if not Path(command).exists():
            return f"{command} is not installed"
    if not (job_env / "bin" / "sdcc-lab-singleuser").exists():
        return f"no job environment at {job_env} (scripts/slurm/jobenv.sh builds it)"
    try:
        subprocess.run(["/usr/bin/scontrol", "ping"], check=True, capture_output=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return "the Slurm controller does not answer (scripts/slurm/cluster.sh up starts one)"
    return ""


def write_demo_lab_settings(home: Path) -> None:
    """Spare demo users JupyterLab's question about fetching news from the internet."""
    path = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    settings = path / "notification.jupyterlab-settings"
    if not settings.exists():
        path.mkdir(parents=True, exist_ok=True)
        settings.write_text('{"fetchNews": "false", "checkForUpdates": false}\n')


def check_password(password: str) -> None:
    if password and len(password) < PASSWORD_MIN_LENGTH:
        raise DemoError(f"the demo password must be at least {PASSWORD_MIN_LENGTH} characters long")
    if password != password.strip():
        # It is kept in a file, one line; blanks at its ends would not survive.
        raise DemoError("the demo password must not start or end with a blank or a line break")


def demo_password(password_file: Path, given: str = "") -> str:
    """The demo's login password: ``given`` (--password or the environment), else the
    one kept in ``password_file``, else a new random one; kept there, mode 600."""
    check_password(given)
    password = given
    if not password:
        try:
            password = password_file.read_text().strip()
        except FileNotFoundError:
            password = ""
        if len(password) < PASSWORD_MIN_LENGTH:
            password = secrets.token_urlsafe(18)
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # a file kept from an older demo may have had another mode
        f.write(password + "\n")
    return password


# --- as root: the demo users' Unix accounts ------------------------------------------------


def regular_uid_range() -> tuple[int, int]:
    """UID_MIN and UID_MAX of /etc/login.defs: the uids of people's accounts."""
    limits = {"UID_MIN": 1000, "UID_MAX": 60000}
    try:
        for line in Path("/etc/login.defs").read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in limits and parts[1].isdigit():
                limits[parts[0]] = int(parts[1])
    except OSError:
        pass
    return limits["UID_MIN"], limits["UID_MAX"]


def check_account(entry: pwd.struct_passwd) -> None:
    """A demo user's account must be a person's account with a home of its own."""
    low, high = regular_uid_range()
    if not low <= entry.pw_uid <= high:
        raise DemoError(
            f"{entry.pw_name} is a system account (uid {entry.pw_uid}): demo users run their "
            f"sessions as their own account, which must be a regular one (uid {low}-{high})"
        )
    home = Path(entry.pw_dir)
    try:
        info = home.stat()
    except OSError:
        raise DemoError(f"{entry.pw_name}'s home {home} does not exist") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != entry.pw_uid:
        raise DemoError(f"{entry.pw_name}'s home {home} is not a folder owned by {entry.pw_name}")


def demo_accounts(names: tuple[str, ...], create: bool) -> list[pwd.struct_passwd]:
    """The demo users' accounts; missing ones are created when ``create``, else refused.

    Every check runs before anything is created, so a refusal changes nothing.
    """
    entries: dict[str, pwd.struct_passwd] = {}
    missing: list[str] = []
    for name in names:
        try:
            entries[name] = pwd.getpwnam(name)
        except KeyError:
            missing.append(name)
    for entry in entries.values():
        check_account(entry)
    if missing and not create:
        raise DemoError(
            "as root, the demo runs each user's sessions as their own Unix account, and "
            + "; ".join(f"{name} has no Unix account" for name in missing)
            + ": create it (useradd --create-home NAME), or pass --create-users to let the "
            "demo create it (locked password, private home)"
        )
    for name in missing:
        entries[name] = create_account(name)
    return [entries[name] for name in names]


def create_account(name: str) -> pwd.struct_passwd:
    """A Unix account for a demo user: locked password (sessions only), private home."""
    # The name passed parse_users' pattern; it goes to useradd as one argument.
    r = subprocess.run(
        [
            "useradd",
            "--create-home",
            "--user-group",
            "--shell",
            "/bin/bash",
            "-K",
            "HOME_MODE=0700",
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise DemoError(f"useradd {name} failed: {r.stderr.strip() or r.returncode}")
    entry = pwd.getpwnam(name)
    print(
        f"sdcc-lab demo: created the Unix account {name} (locked password, home {entry.pw_dir})",
        flush=True,
    )
    return entry


def as_user(entry: pwd.struct_passwd, action: Callable[[], None]) -> None:
    """Run ``action`` in a child process with the user's uid, gid and groups.

    What it writes is the user's, and it can reach only what the user can; a
    symbolic link the user planted leads nowhere the user could not go.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        code = 0
        try:
            os.setgroups(os.getgrouplist(entry.pw_name, entry.pw_gid))
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            os.umask(0o077)
            action()
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            os.write(write_end, str(e).encode()[:4000])
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise DemoError(message or f"a step run as {entry.pw_name} failed")


def server_paths(bin_dir: Path) -> list[Path]:
    """What a user must be able to read and run to start a server from ``bin_dir``."""
    paths = [bin_dir / "jupyterhub-singleuser", bin_dir / "python"]
    if bin_dir == Path(sys.executable).parent:
        # The packages of this environment (an editable install lives in the clone).
        import jupyterhub

        paths += [Path(__file__).parent, Path(jupyterhub.__file__).parent]
    return paths


def unreadable_for(entries: list[pwd.struct_passwd], paths: list[Path]) -> str:
    """ "" when every user can read and run ``paths``, else which user cannot, and what."""

    def check() -> None:
        for path in paths:
            if not os.access(path, os.R_OK | os.X_OK):
                raise DemoError(str(path))

    for entry in entries:
        try:
            as_user(entry, check)
        except DemoError as e:
            return f"{entry.pw_name} cannot run {e}"
    return ""


def choose_server_bin(entries: list[pwd.struct_passwd], bin_dir: Path, job_env: Path) -> Path:
    """The environment the users' servers run from: the demo's own, else the job environment."""
    problem = unreadable_for(entries, server_paths(bin_dir))
    if not problem:
        return bin_dir
    job_bin = job_env / "bin"
    if (job_bin / "jupyterhub-singleuser").exists() and not unreadable_for(
        entries, server_paths(job_bin)
    ):
        print(
            f"sdcc-lab demo: {problem}; local sessions run the server from the job "
            f"environment {job_env}",
            flush=True,
        )
        return job_bin
    raise DemoError(
        f"{problem}, and local sessions run as each user: clone the repository where every "
        f"user can read it, or build the job environment {job_env} (scripts/slurm/jobenv.sh)"
    )


def jupyter_config_dir(home_root: str, spawner: Any) -> str:
    """The Jupyter config folder of the spawner's user in the demo's homes."""
    return str(Path(home_root) / spawner.user.name / ".jupyter")


def check_home_root(home_root: Path) -> None:
    """--home-root, as root: a folder no other user can add entries to."""
    if home_root.exists():
        info = home_root.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
            raise DemoError(
                f"--home-root {home_root} must be a folder owned by root that only root can "
                "write to (the demo creates one folder per user in it)"
            )


def prepare_account_folder(settings: DemoSettings, entry: pwd.struct_passwd) -> None:
    """As root: the user's private folder, starter notebook and JupyterLab settings, as the user."""
    home = Path(entry.pw_dir)
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        # Other demo users' sessions could read it; a demo user expects a home of their own.
        home.chmod(mode & 0o700)
        print(
            f"sdcc-lab demo: made {entry.pw_name}'s home {home} private "
            f"(mode {mode & 0o700:o}, was {mode:o})",
            flush=True,
        )
    folder = home
    if settings.home_root:
        root = Path(settings.home_root)
        if not root.exists():
            root.mkdir(parents=True)
            root.chmod(0o711)  # users pass through to their own folder; none lists the others
        folder = root / entry.pw_name
        if not folder.exists():
            folder.mkdir(mode=0o700)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode):
            raise DemoError(f"{folder} is not a folder")
        os.chown(folder, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        folder.chmod(0o700)

    notebook = starter_notebook_text(entry.pw_name)  # as root, before the switch to the user

    def write() -> None:
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise DemoError(
                f"{entry.pw_name} cannot reach {folder}: --home-root must be a folder every "
                "user can pass through"
            )
        write_starter_notebook(folder, entry.pw_name, notebook)
        write_demo_lab_settings(home)

    as_user(entry, write)


def prepare(settings: DemoSettings) -> Path:
    """Create the data folder and the users' folders, write the hub's configuration; return its path."""
    data = Path(settings.data_dir)
    if not data.exists():
        data.mkdir(mode=0o700, parents=True)
    settings.hub_dir.mkdir(parents=True, exist_ok=True)
    # The hub's database, cookie secret, share keys and password: for the hub's user only.
    settings.hub_dir.chmod(0o700)
    if settings.as_root:
        for user in settings.users:
            prepare_account_folder(settings, pwd.getpwnam(user))
    else:
        for user in settings.users:
            home = Path(settings.home_root) / user
            home.mkdir(parents=True, exist_ok=True)
            write_starter_notebook(home, user)
            write_demo_lab_settings(home)
    config = settings.hub_dir / "jupyterhub_config.py"
    config.write_text(
        "# Written by `sdcc-lab demo` at each start; edits here are overwritten.\n"
        "from sdcc_lab.demo import configure\n\n"
        f"configure(c, {pprint.pformat(asdict(settings))})\n"
        + (
            f"\n# --config: the admin's own settings, applied last.\n"
            f"load_subconfig({settings.extra_config!r})\n"
            if settings.extra_config
            else ""
        )
    )
    return config


def configure(c: Any, raw: dict[str, Any]) -> None:
    """Apply the demo's settings to a JupyterHub config object ``c``."""
    s = DemoSettings(**{**raw, "users": tuple(raw["users"])})

    c.JupyterHub.bind_url = s.url
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s.hub_port}"
    c.JupyterHub.db_url = f"sqlite:///{s.hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(s.hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True

    c.ConfigurableHTTPProxy.command = [s.proxy_command]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(s.hub_dir / "proxy.pid")

    if s.token_auth:
        configure_token_auth(c, s.token_auth)
    else:
        # One shared password, read from the data folder (never written into this config).
        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.user_password = s.password_file.read_text().strip()
    c.Authenticator.allowed_users = set(s.users)
    # Hub groups a share can be addressed to: each demo group's members among --users.
    c.JupyterHub.load_groups = {
        group: {"users": [u for u in members if u in s.users]}
        for group, members in DEMO_GROUPS.items()
    }

    c.JupyterHub.spawner_class = "sdcc_lab.hub.SDCCSpawner"
    c.JupyterHub.template_paths = [str(Path(__file__).parent / "hub" / "templates" / "jupyterhub")]
    # The home page says how the last batch session ended (sdcc_lab.hub.ends).
    from .hub.ends import session_end_for

    c.JupyterHub.template_vars = {"sdcc_session_end": session_end_for}
    if s.as_root:
        # Each user's own Unix account: the hub setuid's to it (LocalProcessSpawner).
        c.SDCCSpawner.local_spawner_class = "sdcc_lab.hub.LocalSessionSpawner"
        if s.home_root:
            c.LocalProcessSpawner.notebook_dir = str(Path(s.home_root) / "{username}")
    else:
        c.SDCCSpawner.local_spawner_class = "sdcc_lab.hub.SimpleLocalSessionSpawner"
        c.SimpleLocalProcessSpawner.home_dir_template = str(Path(s.home_root) / "{username}")
    c.SDCCSpawner.environments = {
        "default": {"description": "the demo's Python environment", "setup": ""},
    }
    if s.slurm_unavailable:
        c.SDCCSpawner.batch_disabled_reason = (
            f"Batch sessions are off in this demo: {s.slurm_unavailable}."
        )
    else:
        job_bin = Path(s.job_env) / "bin"
        c.SlurmSessionSpawner.cmd = [str(job_bin / "sdcc-lab-singleuser")]
        c.SlurmSessionSpawner.environment = {
            "PATH": os.pathsep.join([str(job_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
            "LANG": "C.UTF-8",
        }
        c.SlurmSessionSpawner.job_bind_ip = "127.0.0.1"
        c.SlurmSessionSpawner.host_map = {socket.gethostname().split(".")[0]: "127.0.0.1"}
        c.SlurmSessionSpawner.pending_timeout = 300
    server_bin = Path(s.server_bin or s.bin_dir)
    c.Spawner.cmd = [str(server_bin / "jupyterhub-singleuser")]
    c.Spawner.default_url = DEFAULT_URL
    # JupyterHub >= 5.2 passes almost no environment to servers: give them a PATH.
    c.Spawner.environment = {
        "PATH": os.pathsep.join([str(server_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
    }
    if s.as_root and s.home_root:
        # The users' JupyterLab settings and workspaces live in the demo's homes too, not
        # in their real ones: a demo with its own homes starts from, and leaves, nothing.
        # (Batch sessions run in the cluster's homes: their spawner has its own environment.)
        c.Spawner.environment["JUPYTER_CONFIG_DIR"] = partial(jupyter_config_dir, s.home_root)
    # No --allow-root: as root, every server runs as its user, never as root.
    c.Spawner.args = []
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    configure_share_service(c, s)


def configure_token_auth(c: Any, t: dict[str, str]) -> None:
    """--mfa: the hub believes the Keycloak access token the front passes, once checked."""
    c.JupyterHub.authenticator_class = "sdcc_lab.hub.OIDCTokenAuthenticator"
    a = c.OIDCTokenAuthenticator
    a.issuer = t["issuer"]
    a.jwks_url = t["jwks_url"]
    a.audience = t["audience"]
    a.authorized_party = t["authorized_party"]
    # Apache runs on this machine and sends /hub/ straight to the hub's port.
    a.trusted_proxy_ips = ["127.0.0.1"]
    a.portal_url = t["portal_url"]
    # The hub's logout ends the front's session and Keycloak's (end-session endpoint).
    a.proxy_logout_url = t["logout_url"]


def configure_share_service(c: Any, s: DemoSettings) -> None:
    """The share service as a hub-managed service; its keys stay on the hub's side."""
    keys_file = s.hub_dir / "share-keys"
    if not keys_file.exists():
        keys_file.touch(mode=0o600)
        keys_file.write_text(secrets.token_urlsafe(48) + "\n")
    port = s.share_port
    # The service reads the demo's settings, then the admin's --config (its
    # c.ShareService lines: a shared database, keys, the portal's URL…).
    service_config = s.hub_dir / "share_config.py"
    service_config.write_text(
        "# Written by `sdcc-lab demo` at each start; edits here are overwritten.\n"
        f"c.ShareService.keys_file = {str(keys_file)!r}\n"
        f"c.ShareService.data_dir = {str(s.hub_dir)!r}\n"
        f"c.ShareService.public_url = {s.portal_url!r}\n"
        + (f"load_subconfig({s.extra_config!r})\n" if s.extra_config else "")
        # A link's Continue goes to the demo's default interface: JupyterLab, or what
        # the admin's --config made it (c.Spawner.default_url = "/tree": Notebook 7).
        + "if 'continue_url' not in c.ShareService:\n"
        + f"    c.ShareService.continue_url = c.Spawner.get('default_url', {DEFAULT_URL!r}).strip('/')\n"
    )
    c.JupyterHub.services = [
        {
            "name": "share",
            "url": f"http://127.0.0.1:{port}",
            "command": [
                sys.executable,
                "-m",
                "sdcc_lab.share",
                f"--ShareService.config_file={service_config}",
            ],
            "cwd": str(s.hub_dir),
            # The admin's config may read SDCC_* variables (the tests' ports and folders).
            "environment": {k: v for k, v in os.environ.items() if k.startswith("SDCC_")},
            "oauth_no_confirm": True,
            "display": False,
        }
    ]
    # Users reach the service in their browsers, and their servers with their tokens.
    c.JupyterHub.load_roles = [
        {"name": "user", "scopes": ["self", "access:services!service=share"]},
        # The service checks the names a share is addressed to and who is in which
        # group, and lists names for the dialog's completion: names and group
        # memberships only, nobody's servers or tokens.
        {
            "name": "share-directory",
            "scopes": [
                "read:users:name",
                "read:users:groups",
                "read:groups:name",
                "list:users",
                "list:groups",
            ],
            "services": ["share"],
        },
        {
            "name": "server",
            "scopes": [
                "users:activity!user",
                "access:servers!server",
                "access:services!service=share",
            ],
        },
    ]
    share_url = f"http://127.0.0.1:{port}/services/share/"
    c.Spawner.environment["SDCC_LAB_SHARE_URL"] = share_url
    for name in ("SlurmSessionSpawner", "HTCondorSessionSpawner"):
        if "environment" in c[name]:
            c[name].environment["SDCC_LAB_SHARE_URL"] = share_url


def wait_until_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"JupyterHub exited with code {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url + "hub/api", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise DemoError(f"JupyterHub did not answer at {url} within {timeout:.0f} s")


class ProcessTree:
    """Remembers every process the hub started, so none outlives the demo."""

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self.seen: dict[int, psutil.Process] = {}

    def refresh(self) -> None:
        try:
            for child in self.root.children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def end_leftovers(self, grace: float = 10) -> None:
        alive = [p for p in self.seen.values() if p.is_running()]
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _, alive = psutil.wait_procs(alive, timeout=grace)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=grace)


def check_mfa(ip: str, names: tuple[str, ...], enrol: tuple[str, ...]) -> None:
    """--mfa: refuse what cannot work before anything starts."""
    if ip not in ("127.0.0.1", "localhost"):
        raise DemoError("--mfa runs the front (Apache, Keycloak) on 127.0.0.1 only: leave --ip out")
    unknown = [n for n in enrol if n not in names]
    if unknown:
        raise DemoError(f"--mfa-enrol names {', '.join(unknown)}, who are not in --users")
    if os.geteuid() != 0:
        raise DemoError("--mfa starts Apache, which runs as root: run the demo as root")
    needed = {
        "/usr/sbin/apachectl": "apache2",
        "/usr/lib/apache2/modules/mod_auth_openidc.so": "libapache2-mod-auth-openidc",
    }
    for path, package in needed.items():
        if not Path(path).exists():
            raise DemoError(f"{path} is missing: install {package} (scripts/setup.sh does)")
    if not shutil.which("java"):
        raise DemoError("Keycloak needs Java (17 or later): install openjdk-17-jre-headless")
    try:
        import qrcode  # noqa: F401
    except ImportError:
        raise DemoError("--mfa draws QR codes with 'qrcode': pip install 'sdcc_lab[mfa]'") from None


def prepare_front(front: Any, settings: DemoSettings) -> DemoSettings:
    """Fetch Keycloak (once) and choose its port; return the settings with the hub's side."""
    from .front.keycloak import KeycloakError

    try:
        front.prepare_keycloak()
    except KeycloakError as e:
        raise DemoError(str(e)) from None
    return replace(settings, front_url=front.url, token_auth=front.hub_settings())


def finish_front(
    front: Any, settings: DemoSettings, hub_port: int, interrupted: Callable[[], bool]
) -> None:
    """Wait for Keycloak, import the realm, start Apache; write the users' credentials."""
    from .front.apache import FrontError
    from .front.keycloak import KeycloakError
    from .front.stack import CREDENTIALS_FILE, write_credentials

    try:
        front.finish_keycloak(interrupted=interrupted)
        front.start_apache(settings.url, f"http://127.0.0.1:{hub_port}")
    except (KeycloakError, FrontError) as e:
        raise DemoError(str(e)) from None
    write_credentials(front.folder / CREDENTIALS_FILE, front.users)


def mfa_login_text(front: Any) -> str:
    """Each user's password and one-time-code secret, with a QR code to scan."""
    import io

    import qrcode

    from .front.stack import CREDENTIALS_FILE, provisioning_uri

    lines = []
    for user in front.users:
        lines.append(f"\n{user.name}: password {user.password}")
        if user.enrols:
            lines.append("  no one-time code yet: Keycloak shows a QR code to scan at first login")
            continue
        lines.append(f"  one-time code secret {user.totp_secret} (TOTP, SHA1, 6 digits, 30 s)")
        qr = qrcode.QRCode(border=1)
        qr.add_data(provisioning_uri(user))
        out = io.StringIO()
        qr.print_ascii(out=out, invert=True)
        lines.append(out.getvalue().rstrip("\n"))
    return (
        "Log in with Keycloak: a password, then a one-time code from an authenticator app "
        "(scan the QR code).\n"
        + "\n".join(lines)
        + f"\n\n(kept in {front.folder / CREDENTIALS_FILE}, mode 600; Keycloak's log: "
        f"{front.keycloak.log_path})\n"
        f"Keycloak's admin API: {front.keycloak.url}/admin/ (user admin, password in "
        f"{front.keycloak.work_dir / 'admin-password'})\n"
    )


def run_demo(
    port: int = 8000,
    ip: str = "127.0.0.1",
    users: str = "alice,bob,carol",
    data_dir: str = "./.sdcc-lab-demo",
    insecure_allow_remote: bool = False,
    local_only: bool = False,
    job_env: str = "/opt/sdcc-lab/jobenv",
    extra_config: str = "",
    password: str = "",
    create_users: bool = False,
    home_root: str = "",
    mfa: bool = False,
    mfa_enrol: str = "",
) -> int:
    check_ip(ip, insecure_allow_remote)
    if extra_config and not Path(extra_config).is_file():
        raise DemoError(f"--config {extra_config}: no such file")
    names = parse_users(users)
    if not 0 < port < 65536:
        raise DemoError(f"--port {port} is not a port number")
    check_password(password)
    enrol = parse_users(mfa_enrol) if mfa_enrol else ()
    if mfa:
        check_mfa(ip, names, enrol)
    elif enrol:
        raise DemoError("--mfa-enrol goes with --mfa")
    bin_dir = Path(sys.executable).parent
    as_root = os.geteuid() == 0
    server_bin = bin_dir
    if as_root:
        # Every refusal comes before anything is written or created.
        if home_root:
            check_home_root(Path(home_root).resolve())
        entries = demo_accounts(names, create_users)
        server_bin = choose_server_bin(entries, bin_dir, Path(job_env))
    data = Path(data_dir).resolve()
    if not data.exists():
        data.mkdir(mode=0o700, parents=True)
    hub_port, proxy_api_port, share_port = internal_ports(data / "hub")
    front = None
    if mfa:
        from .front.realm import new_user
        from .front.stack import CREDENTIALS_FILE, MfaFront, read_credentials

        kept = read_credentials(data / "mfa" / CREDENTIALS_FILE)
        front = MfaFront(
            data / "mfa",
            port,
            # A user keeps their secret across restarts (their app has it); users who
            # enrol do so again (Keycloak keeps the realm in memory only).
            [
                kept[n]
                if n in kept and n not in enrol and kept[n].totp_secret
                else new_user(n, n in enrol)
                for n in names
            ],
        )
        # Behind the front, configurable-http-proxy listens on a port of its own.
        port = free_port()
    settings = DemoSettings(
        ip=ip,
        port=port,
        hub_port=hub_port,
        proxy_api_port=proxy_api_port,
        share_port=share_port,
        users=names,
        data_dir=str(data),
        bin_dir=str(bin_dir),
        proxy_command=find_proxy(bin_dir),
        as_root=as_root,
        slurm_unavailable=(
            "local sessions were asked for (--local-only)"
            if local_only
            else slurm_unavailable_reason(Path(job_env))
        ),
        job_env=job_env,
        extra_config=str(Path(extra_config).resolve()) if extra_config else "",
        home_root=(
            str(Path(home_root).resolve()) if home_root else "" if as_root else str(data / "home")
        ),
        server_bin=str(server_bin),
    )
    if front is not None:
        settings = prepare_front(front, settings)
    config = prepare(settings)
    login_password = demo_password(settings.password_file, password)

    stop_requested: list[int] = []

    def request_stop(signum: int, _frame: Any) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    # A session of its own: the terminal's Ctrl-C reaches only us; we stop the hub in order.
    hub = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=settings.hub_dir,
        start_new_session=True,
    )
    tree = ProcessTree(hub.pid)
    try:
        if front is not None:
            # Keycloak takes tens of seconds: it starts while the hub does.
            print("sdcc-lab demo: starting Keycloak (up to a minute)...", flush=True)
            front.launch_keycloak()
        wait_until_ready(settings.url, hub)
        if front is not None:
            finish_front(front, settings, hub_port, lambda: bool(stop_requested))
        print(
            f"\nThe sdcc_lab demo portal is running at {settings.portal_url}\n"
            + (
                mfa_login_text(front)
                if front is not None
                else f"Log in as {' or '.join(names)}, with the password {login_password}\n"
                f"(kept in {settings.password_file}; --password or ${PASSWORD_ENV} sets another).\n"
            )
            + (
                "Each user's local session runs as their own Unix account, in "
                + (f"{settings.home_root}/NAME.\n" if settings.home_root else "their home.\n")
                if settings.as_root
                else ""
            )
            + (
                f"Sessions run locally only: {settings.slurm_unavailable}.\n"
                if settings.slurm_unavailable
                else "Sessions can run as Slurm jobs, or locally.\n"
            )
            + f"All its state is in {settings.data_dir}. Press Ctrl-C to stop it.\n",
            flush=True,
        )
        while not stop_requested and hub.poll() is None:
            tree.refresh()
            time.sleep(0.5)
    except DemoError:
        if not stop_requested:
            raise
    finally:
        if front is not None:
            front.stop()
        tree.refresh()
        if hub.poll() is None:
            # JupyterHub stops its servers and the proxy on SIGTERM.
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(timeout=60)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait()
        tree.end_leftovers()
    if stop_requested:
        print("sdcc_lab demo portal stopped.", flush=True)
        return 0
    return hub.returncode or 0
