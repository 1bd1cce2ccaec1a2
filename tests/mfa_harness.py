"""One MFA portal for the whole test session: ``sdcc-lab demo --mfa``, for real.

Keycloak (realm ``sdcc``), Apache with mod_auth_openidc and the demo's hub,
started once (Keycloak takes tens of seconds) by the session fixture
``mfa_portal``; tests log in with Debian's Chromium through Playwright.

Users: alice and bob have a one-time-code secret (credentials.json); carol is
the brute-force protection's victim (no other test may need her); dave has no
second factor and enrols on Keycloak's QR page (his secret, once read from
that page, is kept in ``MfaPortal.enrolled``).

For the hub-side token tests (tests/security/test_token_bypass.py), the
harness adds two test-only clients to the realm, with the direct grant (user
name, password and one-time code in one POST) that the front's client has
off: ``TEST_CLIENT`` gets the hub's audience (but is not the front:
``azp`` differs), ``OTHER_CLIENT`` does not. ``MfaPortal.password_grant``
returns Keycloak's token answer for a user and one of these clients.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from hubclient import HubClient
from playwright.sync_api import Browser, Playwright, sync_playwright

from sdcc_lab.front.keycloak import Keycloak, fetch_keycloak
from sdcc_lab.front.realm import REALM, FrontUser, realm_representation
from sdcc_lab.netutil import free_port

BIN_DIR = Path(sys.executable).parent
MFA_USERS = ("alice", "bob", "carol", "dave")
ENROL_USER = "dave"
BRUTE_FORCE_USER = "carol"
TEST_CLIENT = "sdcc-test-direct"
OTHER_CLIENT = "sdcc-test-other"
CHROMIUM = "/usr/bin/chromium"
# Keycloak's first start on a machine also builds it (about a minute on 2 cores).
START_TIMEOUT = 420


@dataclass
class MfaPortal:
    """The running portal: the front's URL, the users' credentials, Keycloak's addresses."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    credentials: dict[str, dict[str, str]]
    keycloak_port: int
    admin_password: str
    test_client_secrets: dict[str, str] = field(default_factory=dict)
    enrolled: dict[str, str] = field(default_factory=dict)
    # Codes each user has sent: Keycloak accepts a code once (realmReusableOtpCode false).
    used_codes: dict[str, set[str]] = field(default_factory=dict)
    restarted_keycloak: Keycloak | None = None

    @property
    def keycloak_url(self) -> str:
        """Keycloak's direct address (back channel), e.g. http://127.0.0.1:PORT/kc."""
        return f"http://127.0.0.1:{self.keycloak_port}/kc"

    @property
    def issuer(self) -> str:
        return f"{self.url}kc/realms/{REALM}"

    def password(self, user: str) -> str:
        return self.credentials[user]["password"]

    def secret(self, user: str) -> str:
        return self.enrolled.get(user) or self.credentials[user]["totp_secret"]

    def code(self, user: str) -> str:
        """A one-time code of ``user`` not sent before (waits for the next 30 s when needed)."""
        used = self.used_codes.setdefault(user, set())
        totp = pyotp.TOTP(self.secret(user))
        while (code := totp.now()) in used:
            time.sleep(1)
        used.add(code)
        return code

    def wrong_code(self, user: str) -> str:
        """A six-digit code that none of the accepted windows (now, ±1 period) gives."""
        totp = pyotp.TOTP(self.secret(user))
        now = time.time()
        valid = {totp.at(now + d) for d in (-60, -30, 0, 30, 60)}
        return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 7919)) if c not in valid)

    def keycloak_pid(self) -> int:
        return int((self.data_dir / "mfa" / "keycloak" / "keycloak.pid").read_text())

    def admin_token(self) -> str:
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": self.admin_password,
            }
        ).encode()
        with urllib.request.urlopen(
            f"{self.keycloak_url}/realms/master/protocol/openid-connect/token", form, timeout=30
        ) as r:
            return str(json.load(r)["access_token"])

    def add_test_clients(self) -> None:
        token = self.admin_token()
        for client_id, audience in ((TEST_CLIENT, True), (OTHER_CLIENT, False)):
            secret = hashlib.sha256(os.urandom(32)).hexdigest()
            client: dict[str, Any] = {
                "clientId": client_id,
                "enabled": True,
                "publicClient": False,
                "secret": secret,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": True,
                "protocolMappers": [],
            }
            if audience:
                client["protocolMappers"].append(
                    {
                        "name": "the hub's audience",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {
                            "included.custom.audience": "sdcc-hub",
                            "access.token.claim": "true",
                        },
                    }
                )
            request = urllib.request.Request(
                f"{self.keycloak_url}/admin/realms/{REALM}/clients",
                data=json.dumps(client).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as r:
                assert r.status == 201
            self.test_client_secrets[client_id] = secret

    def password_grant(self, user: str, client_id: str = TEST_CLIENT) -> dict[str, Any]:
        """Keycloak's token answer for ``user`` (password and a fresh code) and a test client."""
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": client_id,
                "client_secret": self.test_client_secrets[client_id],
                "username": user,
                "password": self.password(user),
                "totp": self.code(user),
                "scope": "openid profile",
            }
        ).encode()
        with urllib.request.urlopen(
            f"{self.keycloak_url}/realms/{REALM}/protocol/openid-connect/token", form, timeout=30
        ) as r:
            return dict(json.load(r))

    def stop_keycloak(self) -> None:
        """Stop Keycloak as a crash or an administrator would (the demo keeps running)."""
        pid = self.keycloak_pid()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.killpg(pid, signal.SIGKILL)

    def restart_keycloak(self) -> None:
        """A new Keycloak on the same port with the same realm (new signing keys)."""
        secrets_conf = (self.data_dir / "mfa" / "apache" / "oidc-secrets.conf").read_text()
        match = re.search(r'OIDCClientSecret "([^"]+)"', secrets_conf)
        assert match, "the front's client secret"
        users = [
            FrontUser(name, v["password"], self.secret(name))
            for name, v in self.credentials.items()
        ]
        keycloak = Keycloak(
            fetch_keycloak(), self.data_dir / "mfa" / "keycloak2", self.url, self.keycloak_port
        )
        keycloak.admin_password = self.admin_password
        keycloak.start(timeout=START_TIMEOUT)
        keycloak.create_realm(realm_representation(self.url, match.group(1), users))
        self.restarted_keycloak = keycloak
        self.add_test_clients()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        if self.restarted_keycloak is not None:
            self.restarted_keycloak.stop()


FORM_ACTION = re.compile(r'<form[^>]*\baction="([^"]+)"')


def keycloak_login(front_url: str, user: str, password: str, code: str) -> HubClient:
    """Log in through a front as a plain HTTP client: the front's redirect to Keycloak,
    the password form, the one-time-code form, back through mod_auth_openidc."""
    client = HubClient(front_url, user)
    page = client.session.get(front_url)
    page.raise_for_status()
    for form in ({"username": user, "password": password}, {"otp": code}):
        # Keycloak marks its cookies Secure; browsers send them to http://127.0.0.1
        # (a secure context), requests does only when told.
        for cookie in client.session.cookies:
            cookie.secure = False
        action = FORM_ACTION.search(page.text)
        assert action, page.text[:500]
        page = client.session.post(html.unescape(action.group(1)), data=form)
        page.raise_for_status()
    assert page.url.startswith(front_url) and "/kc/" not in page.url, page.url
    return client


def start_mfa_portal(data_dir: Path) -> MfaPortal:
    """``sdcc-lab demo --mfa`` on free ports, as root (Apache), with the test users."""
    from conftest import _HOME_ROOTS

    assert os.geteuid() == 0, "the MFA front starts Apache, as root (CI runs the tests so)"
    port = free_port()
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    home_root = Path(f"/tmp/sdcc-lab-test-homes-{digest}")
    _HOME_ROOTS.add(home_root)
    log_path = data_dir.parent / f"{data_dir.name}.log"
    process = subprocess.Popen(
        [
            str(BIN_DIR / "sdcc-lab"),
            "demo",
            "--mfa",
            "--mfa-enrol",
            ENROL_USER,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--users",
            ",".join(MFA_USERS),
            "--local-only",
            "--create-users",
            "--home-root",
            str(home_root),
        ],
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if process.poll() is not None:
            raise RuntimeError(f"sdcc-lab demo --mfa exited with {process.returncode}:\n{text}")
        if "demo portal is running" in text:
            break
        time.sleep(0.5)
    else:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        raise RuntimeError(f"sdcc-lab demo --mfa did not come up:\n{log_path.read_text()}")
    mfa = data_dir / "mfa"
    config = (data_dir / "hub" / "jupyterhub_config.py").read_text()
    keycloak_port = re.search(r"http://127\.0\.0\.1:(\d+)/kc/realms/sdcc/protocol/openid", config)
    assert keycloak_port, "the hub's configuration names Keycloak's keys"
    portal = MfaPortal(
        url=f"http://127.0.0.1:{port}/",
        data_dir=data_dir,
        process=process,
        log_path=log_path,
        credentials=json.loads((mfa / "credentials.json").read_text()),
        keycloak_port=int(keycloak_port.group(1)),
        admin_password=(mfa / "keycloak" / "admin-password").read_text().strip(),
    )
    portal.add_test_clients()
    return portal


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Per module: Playwright's sync API holds the thread's event loop while it runs,
    which other modules' (pytest-jupyter's) tests need back. A module that uses it
    overrides ``jp_asyncio_loop`` (see tests/test_mfa_front.py)."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium: no browser download. As root it needs --no-sandbox.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def mfa_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MfaPortal]:
    portal = start_mfa_portal(tmp_path_factory.mktemp("mfa") / "data")
    yield portal
    portal.stop()
