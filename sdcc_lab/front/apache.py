"""Apache with mod_auth_openidc in front of a hub, run the way examples/ run it.

The configuration is httpd.conf next to this file; it is started and stopped
by examples/apache-header-auth/run.sh (``HTTPD_CONF`` names the file), the
one way the project runs Apache. The secrets Apache needs (the client secret,
the key of its session cookies) go into a mode-600 snippet that Apache reads
as root when it starts.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FRONT_DIR = Path(__file__).resolve().parent
HTTPD_CONF = FRONT_DIR / "httpd.conf"
EXAMPLES = FRONT_DIR.parents[1] / "examples"


class FrontError(Exception):
    """Apache could not be started; the message says why."""


def run_sh(example: str = "apache-header-auth") -> Path:
    script = EXAMPLES / example / "run.sh"
    if not script.exists():
        raise FrontError(
            f"{script} is missing: the MFA front runs from a clone of the repository "
            "(its examples/ start Apache)"
        )
    return script


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (also when it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


@dataclass
class ApacheFront:
    """The front at ``http://127.0.0.1:port/`` for one hub (configurable-http-proxy
    at ``hub_url``, the hub itself at ``hub_direct_url``), logging in with the realm
    whose metadata is at ``metadata_url``."""

    run_dir: Path
    port: int
    hub_url: str
    hub_direct_url: str
    keycloak_origin: str
    metadata_url: str
    client_id: str
    client_secret: str
    crypto_passphrase: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PORTAL_URL": self.url,
                "HUB_DIRECT_URL": self.hub_direct_url.rstrip("/"),
                "KEYCLOAK_ORIGIN": self.keycloak_origin.rstrip("/"),
                "OIDC_METADATA_URL": self.metadata_url,
                "OIDC_CLIENT_ID": self.client_id,
                "SDCC_FRONT_DIR": str(FRONT_DIR),
                "HTTPD_CONF": str(HTTPD_CONF),
            }
        )
        return env

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Apache reads it as root at start; its workers (www-data) never need it.
        write_private(
            self.run_dir / "oidc-secrets.conf",
            f'OIDCClientSecret "{self.client_secret}"\n'
            f'OIDCCryptoPassphrase "{self.crypto_passphrase}"\n',
        )
        # No shared secret: the hub checks the provider's signed token instead
        # (run.sh's proxy-secret.conf is left empty and httpd.conf does not include it).
        result = subprocess.run(
            [
                *("bash", str(run_sh()), "start", str(self.run_dir), str(self.port)),
                *(self.hub_url, "/dev/null"),
            ],
            env=self.environment(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            log = self.run_dir / "error.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise FrontError(f"Apache did not start: {result.stderr.strip()}\n{tail}")

    def stop(self) -> None:
        subprocess.run(
            ["bash", str(run_sh()), "stop", str(self.run_dir)],
            capture_output=True,
        )
