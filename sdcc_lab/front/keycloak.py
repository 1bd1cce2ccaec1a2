"""Keycloak, the real one: fetched once from Maven Central, run on a loopback port.

The server distribution is the Maven artifact
``org.keycloak:keycloak-quarkus-dist`` (zip). :func:`fetch_keycloak` takes it
from the local Maven repository (``mvn dependency:copy`` downloads it there
the first time) and unpacks it into the cache folder once.

:class:`Keycloak` runs it in development mode (plain HTTP, an in-memory
database: every start imports the realm afresh) under the path ``/kc``, with
the front proxy's URL as its public address; the back-channel (metadata,
tokens, keys) answers on the direct loopback address.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from ..netutil import free_port

KEYCLOAK_VERSION = "26.7.3"
ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"
CACHE_ENV = "SDCC_LAB_CACHE"
RELATIVE_PATH = "/kc"
# In Keycloak's home once it was started with this module's options (its build is done).
BUILT_STAMP = ".sdcc-lab-built"


class KeycloakError(Exception):
    """Keycloak could not be fetched, started or configured; the message says why."""


def cache_dir() -> Path:
    """$SDCC_LAB_CACHE, else ~/.cache/sdcc-lab."""
    given = os.environ.get(CACHE_ENV, "")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME", "") or str(Path.home() / ".cache")
    return Path(base) / "sdcc-lab"


def m2_zip() -> Path:
    group = Path.home() / ".m2/repository/org/keycloak/keycloak-quarkus-dist"
    return group / KEYCLOAK_VERSION / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"


def fetch_keycloak(cache: Path | None = None) -> Path:
    """Keycloak's home folder in the cache, unpacked from Maven's copy on first use."""
    cache = cache or cache_dir()
    home = cache / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / "bin" / "kc.sh").exists():
        return home
    archive = m2_zip()
    if not archive.exists():
        mvn = shutil.which("mvn")
        if not mvn:
            raise KeycloakError("Maven (mvn) is not installed: scripts/setup.sh installs it")
        result = subprocess.run(
            [mvn, "-q", "dependency:get", f"-Dartifact={ARTIFACT}", "-Dtransitive=false"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not archive.exists():
            raise KeycloakError(
                f"could not fetch {ARTIFACT} with Maven:\n{result.stdout}{result.stderr}"
            )
    cache.mkdir(parents=True, exist_ok=True)
    unpack = cache / f".keycloak-{KEYCLOAK_VERSION}.{os.getpid()}"
    shutil.rmtree(unpack, ignore_errors=True)
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            target = Path(z.extract(info, unpack))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                target.chmod(stat.S_IMODE(mode))  # zipfile drops the scripts' x bits
    (top,) = list(unpack.iterdir())
    try:
        top.rename(home)
    except OSError:
        if not (home / "bin" / "kc.sh").exists():  # not another process's copy: a real error
            raise
    shutil.rmtree(unpack, ignore_errors=True)
    return home


def _request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Keycloak:
    """One Keycloak server on 127.0.0.1, whose public address is ``public_url``/kc."""

    def __init__(
        self, home: Path, work_dir: Path, public_url: str, port: int | None = None
    ) -> None:
        self.home = home
        self.work_dir = work_dir
        self.public_url = public_url  # the front's URL, ending in /
        self.port = port or free_port()
        self.admin_password = secrets.token_urlsafe(18)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0
        self._started = 0.0

    @property
    def url(self) -> str:
        """The direct (back-channel) address, e.g. http://127.0.0.1:PORT/kc."""
        return f"http://127.0.0.1:{self.port}{RELATIVE_PATH}"

    def issuer(self, realm: str) -> str:
        """The realm's issuer: Keycloak's public address, through the front."""
        return f"{self.public_url.rstrip('/')}{RELATIVE_PATH}/realms/{realm}"

    def metadata_url(self, realm: str) -> str:
        return f"{self.url}/realms/{realm}/.well-known/openid-configuration"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "keycloak.log"

    def start(self, timeout: float = 300) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the server; :meth:`wait_ready` waits for it (other work can go between)."""
        self.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "JAVA_HOME")}
        env["KC_BOOTSTRAP_ADMIN_USERNAME"] = "admin"
        env["KC_BOOTSTRAP_ADMIN_PASSWORD"] = self.admin_password
        # Two cores are enough; Keycloak's default heap is sized for a server of its own.
        env["JAVA_OPTS_KC_HEAP"] = "-XX:MaxRAMPercentage=25 -XX:InitialRAMPercentage=5"
        argv = [
            str(self.home / "bin" / "kc.sh"),
            "start-dev",
            "--db=dev-mem",
            "--http-host=127.0.0.1",
            f"--http-port={self.port}",
            f"--http-management-port={free_port()}",
            f"--http-relative-path={RELATIVE_PATH}",
            f"--hostname={self.public_url.rstrip('/')}{RELATIVE_PATH}",
            "--hostname-backchannel-dynamic=true",
        ]
        self._started = time.monotonic()
        with open(self.log_path, "ab") as log:
            # A session of its own: stopping it reaches the JVM the script starts.
            self.proc = subprocess.Popen(
                argv,
                cwd=self.work_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # For whoever must find it: the tests stop it to see the front's error page.
        (self.work_dir / "keycloak.pid").write_text(f"{self.proc.pid}\n")

    def wait_ready(
        self, timeout: float = 300, interrupted: Callable[[], bool] = lambda: False
    ) -> None:
        """Wait until it answers; give up early when ``interrupted()`` (a Ctrl-C) says so."""
        assert self.proc is not None, "launch() first"
        deadline = self._started + timeout
        while time.monotonic() < deadline and not interrupted():
            if self.proc.poll() is not None:
                raise KeycloakError(
                    f"Keycloak exited with code {self.proc.returncode} while starting; "
                    f"see {self.log_path}"
                )
            with contextlib.suppress(OSError):
                status, _ = _request(f"{self.url}/realms/master")
                if status == 200:
                    self.start_seconds = time.monotonic() - self._started
                    return
            time.sleep(0.5)
        self.stop()
        if interrupted():
            raise KeycloakError("interrupted while Keycloak was starting")
        raise KeycloakError(f"Keycloak did not answer within {timeout:.0f} s; see {self.log_path}")

    def admin_token(self) -> str:
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": self.admin_password,
            }
        ).encode()
        status, body = _request(
            f"{self.url}/realms/master/protocol/openid-connect/token", data=form
        )
        if status != 200:
            raise KeycloakError(f"Keycloak's admin login failed ({status}): {body[:300]!r}")
        return str(json.loads(body)["access_token"])

    def admin_call(self, path: str, body: Any) -> None:
        """POST ``body`` to Keycloak's admin API at ``path`` (after /admin/)."""
        status, answer = _request(
            f"{self.url}/admin/{path}",
            data=json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.admin_token()}",
                "Content-Type": "application/json",
            },
        )
        if status not in (200, 201, 204):
            raise KeycloakError(f"Keycloak refused POST {path} ({status}): {answer[:500]!r}")

    def create_realm(self, realm: dict[str, Any]) -> None:
        self.admin_call("realms", realm)

    def write_admin_password(self) -> Path:
        """Keep the admin console's password (mode 600) for whoever runs this Keycloak."""
        path = self.work_dir / "admin-password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(self.admin_password + "\n")
        return path

    def rss_bytes(self) -> int:
        """Resident memory of the server's processes (the JVM)."""
        if self.proc is None:
            return 0
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.NoSuchProcess:
            return 0

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # The JVM may outlive the script that started it (same group): wait for the group too.
        for _ in range(int(grace * 10)):
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """``main(["fetch"])`` (scripts/setup.sh): fetch Keycloak into the cache and start
    it once, so that Keycloak's one-time build for these options is done (scripts/setup.sh)."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m sdcc_lab.front.keycloak")
    parser.add_argument("command", choices=["fetch"])
    parser.parse_args(argv)
    home = fetch_keycloak()
    with tempfile.TemporaryDirectory() as work:
        server = Keycloak(home, Path(work), "http://127.0.0.1:1/")
        try:
            server.start()
        finally:
            server.stop()
    # scripts/setup.sh skips all this next time.
    (home / BUILT_STAMP).write_text(f"started in {server.start_seconds:.1f} s\n")
    print(
        f"Keycloak {KEYCLOAK_VERSION} is ready in {home} (started in {server.start_seconds:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
