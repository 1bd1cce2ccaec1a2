"""``sdcc-lab demo``: a complete local portal on one machine.

It writes a ``jupyterhub_config.py`` under the data folder, starts a real
JupyterHub (which starts configurable-http-proxy and one JupyterLab server per
user who logs in), prints how to log in, and on Ctrl-C or SIGTERM stops the
hub and every process the hub started, leaving none behind.

Layout of the data folder::

    DATA/hub/       jupyterhub_config.py, hub database, cookie secret, proxy pid
    DATA/home/NAME/ each demo user's home folder (a starter notebook on first run)
"""

from __future__ import annotations

import ipaddress
import json
import pprint
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
import psutil

from .netutil import free_port

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
STARTER_NOTEBOOK = "welcome.ipynb"


class DemoError(Exception):
    """A problem the person running the demo can fix; the message says how."""


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

    @property
    def hub_dir(self) -> Path:
        return Path(self.data_dir) / "hub"

    @property
    def home_root(self) -> Path:
        return Path(self.data_dir) / "home"

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
    hub_dir.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({"hub": hub_port, "proxy_api": proxy_api_port, "share": share_port}))
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
            f"--ip {ip} is reachable from other machines, and any password logs in to the demo. "
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


def write_starter_notebook(home: Path, user: str) -> None:
    """A first notebook in each home; an existing one (maybe edited) is kept."""
    path = home / STARTER_NOTEBOOK
    if path.exists():
        return
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# Welcome to the sdcc_lab demo portal, {user}\n\n"
            "This JupyterLab runs as a session of the portal. "
            "*Help → About this Session…* shows where it runs and with which options.\n\n"
            "Every demo user has a home folder of their own; log in as another demo user "
            "in a private window to try what you do together."
        ),
        nbformat.v4.new_code_cell("import platform\nprint(f'Running on {platform.node()}')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    tmp = path.with_suffix(".tmp")
    nbformat.write(nb, str(tmp))
    tmp.replace(path)


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
        subprocess.run(
            ["/usr/bin/scontrol", "ping"], check=True, capture_output=True, timeout=10
        )
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


def prepare(settings: DemoSettings) -> Path:
    """Create the data folder and write the hub's configuration; return its path."""
    settings.hub_dir.mkdir(parents=True, exist_ok=True)
    for user in settings.users:
        home = settings.home_root / user
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
    bin_dir = Path(s.bin_dir)

    c.JupyterHub.bind_url = s.url
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s.hub_port}"
    c.JupyterHub.db_url = f"sqlite:///{s.hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(s.hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True

    c.ConfigurableHTTPProxy.command = [s.proxy_command]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(s.hub_dir / "proxy.pid")

    c.JupyterHub.authenticator_class = "dummy"
    c.Authenticator.allowed_users = set(s.users)

    c.JupyterHub.spawner_class = "sdcc_lab.hub.SDCCSpawner"
    c.SDCCSpawner.local_spawner_class = "sdcc_lab.hub.SimpleLocalSessionSpawner"
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
    c.SimpleLocalProcessSpawner.home_dir_template = str(s.home_root / "{username}")
    c.Spawner.cmd = [str(bin_dir / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    # JupyterHub >= 5.2 passes almost no environment to servers: give them a PATH.
    c.Spawner.environment = {
        "PATH": os.pathsep.join([str(bin_dir), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
    }
    c.Spawner.args = ["--allow-root"] if s.as_root else []
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    configure_share_service(c, s)


def configure_share_service(c: Any, s: DemoSettings) -> None:
    """The share service as a hub-managed service; its keys stay on the hub's side."""
    import secrets

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
        f"c.ShareService.public_url = {s.url!r}\n"
        + (f"load_subconfig({s.extra_config!r})\n" if s.extra_config else "")
    )
    c.JupyterHub.services = [
        {
            "name": "share",
            "url": f"http://127.0.0.1:{port}",
            "command": [
                sys.executable, "-m", "sdcc_lab.share",
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
        {
            "name": "server",
            "scopes": ["users:activity!user", "access:servers!server", "access:services!service=share"],
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
            try:
                p.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(alive, timeout=grace)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=grace)


def run_demo(
    port: int = 8000,
    ip: str = "127.0.0.1",
    users: str = "alice,bob",
    data_dir: str = "./.sdcc-lab-demo",
    insecure_allow_remote: bool = False,
    local_only: bool = False,
    job_env: str = "/opt/sdcc-lab/jobenv",
    extra_config: str = "",
) -> int:
    check_ip(ip, insecure_allow_remote)
    if extra_config and not Path(extra_config).is_file():
        raise DemoError(f"--config {extra_config}: no such file")
    names = parse_users(users)
    if not 0 < port < 65536:
        raise DemoError(f"--port {port} is not a port number")
    bin_dir = Path(sys.executable).parent
    hub_port, proxy_api_port, share_port = internal_ports(Path(data_dir).resolve() / "hub")
    settings = DemoSettings(
        ip=ip,
        port=port,
        hub_port=hub_port,
        proxy_api_port=proxy_api_port,
        share_port=share_port,
        users=names,
        data_dir=str(Path(data_dir).resolve()),
        bin_dir=str(bin_dir),
        proxy_command=find_proxy(bin_dir),
        as_root=os.geteuid() == 0,
        slurm_unavailable=(
            "local sessions were asked for (--local-only)"
            if local_only
            else slurm_unavailable_reason(Path(job_env))
        ),
        job_env=job_env,
        extra_config=str(Path(extra_config).resolve()) if extra_config else "",
    )
    config = prepare(settings)

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
        wait_until_ready(settings.url, hub)
        print(
            f"\nThe sdcc_lab demo portal is running at {settings.url}\n"
            f"Log in as {' or '.join(names)}, with any password.\n"
            + (
                f"Sessions run locally only: {settings.slurm_unavailable}.\n"
                if settings.slurm_unavailable
                else "Sessions can run as Slurm jobs, or locally.\n"
            )
            +
            f"All its state is in {settings.data_dir}. Press Ctrl-C to stop it.\n",
            flush=True,
        )
        while not stop_requested and hub.poll() is None:
            tree.refresh()
            time.sleep(0.5)
    except DemoError:
        if not stop_requested:
            raise
    finally:
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
