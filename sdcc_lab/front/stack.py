"""The whole MFA front for one portal: Keycloak with the ``sdcc`` realm, and Apache.

Used by ``sdcc-lab demo --mfa``, by the tests' harness and by the benchmark:

    front = MfaFront(DATA / "mfa", port=8000, users=[...])
    front.prepare_keycloak()        # fetch once, choose the port (hub_settings() needs it)
    front.launch_keycloak()         # tens of seconds: start the hub meanwhile
    front.finish_keycloak()         # waits, imports the realm
    front.start_apache(hub_url, hub_direct_url)
    ...
    front.stop()

Layout of its folder (mode 700)::

    keycloak/            Keycloak's working folder and log (keycloak.log)
    apache/              Apache's pid, logs, and its mode-600 secrets snippet
    credentials.json     (mode 600) each user's password and one-time-code secret
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .apache import ApacheFront, write_private
from .keycloak import Keycloak, fetch_keycloak
from .realm import CLIENT_ID, HUB_AUDIENCE, REALM, REDIRECT_PATH, FrontUser, realm_representation

CREDENTIALS_FILE = "credentials.json"


def read_credentials(path: Path) -> dict[str, FrontUser]:
    """The users kept in ``path`` (a damaged or missing file: none)."""
    try:
        raw = json.loads(path.read_text())
        return {
            name: FrontUser(name, str(v["password"]), str(v.get("totp_secret", "")))
            for name, v in raw.items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write_credentials(path: Path, users: list[FrontUser]) -> None:
    write_private(
        path,
        json.dumps(
            {u.name: {"password": u.password, "totp_secret": u.totp_secret} for u in users},
            indent=1,
        )
        + "\n",
    )


def provisioning_uri(user: FrontUser, issuer: str = "SDCC portal") -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    label = urllib.parse.quote(f"{issuer}:{user.name}")
    query = urllib.parse.urlencode(
        {
            "secret": user.totp_secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": 6,
            "period": 30,
        }
    )
    return f"otpauth://totp/{label}?{query}"


@dataclass
class MfaFront:
    """Keycloak and Apache for the portal at ``http://127.0.0.1:port/``."""

    folder: Path
    port: int
    users: list[FrontUser]
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    keycloak: Keycloak | None = None
    apache: ApacheFront | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def logout_url(self) -> str:
        """mod_auth_openidc's logout: ends Keycloak's session, then back to the portal."""
        return f"{self.url}{REDIRECT_PATH}?logout={urllib.parse.quote(self.url, safe='')}"

    def prepare_keycloak(self) -> Keycloak:
        """Fetch Keycloak (once) and choose its port; nothing runs yet."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if self.keycloak is None:
            self.keycloak = Keycloak(fetch_keycloak(), self.folder / "keycloak", self.url)
        return self.keycloak

    def launch_keycloak(self) -> Keycloak:
        keycloak = self.prepare_keycloak()
        keycloak.launch()
        return keycloak

    def finish_keycloak(
        self, timeout: float = 300, interrupted: Callable[[], bool] = lambda: False
    ) -> None:
        assert self.keycloak is not None, "launch_keycloak() first"
        self.keycloak.wait_ready(timeout, interrupted)
        self.keycloak.create_realm(realm_representation(self.url, self.client_secret, self.users))
        self.keycloak.write_admin_password()

    def start_keycloak(self) -> None:
        self.launch_keycloak()
        self.finish_keycloak()

    def hub_settings(self) -> dict[str, Any]:
        """What the hub's OIDCTokenAuthenticator needs to check the front's tokens."""
        assert self.keycloak is not None
        return {
            "issuer": self.keycloak.issuer(REALM),
            # The hub fetches the keys at Keycloak's direct address, not through the front.
            "jwks_url": f"{self.keycloak.url}/realms/{REALM}/protocol/openid-connect/certs",
            "audience": HUB_AUDIENCE,
            "authorized_party": CLIENT_ID,
            "portal_url": self.url,
            "logout_url": self.logout_url,
        }

    def start_apache(self, hub_url: str, hub_direct_url: str) -> ApacheFront:
        assert self.keycloak is not None
        self.apache = ApacheFront(
            run_dir=self.folder / "apache",
            port=self.port,
            hub_url=hub_url,
            hub_direct_url=hub_direct_url,
            keycloak_origin=f"http://127.0.0.1:{self.keycloak.port}",
            metadata_url=self.keycloak.metadata_url(REALM),
            client_id=CLIENT_ID,
            client_secret=self.client_secret,
        )
        self.apache.start()
        return self.apache

    def stop(self) -> None:
        if self.apache is not None:
            self.apache.stop()
        if self.keycloak is not None:
            self.keycloak.stop()
