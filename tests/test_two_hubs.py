"""Two hubs, one portal (examples/two-hubs): a real Apache routes each user to
one of two real JupyterHubs; both hubs' share services use one PostgreSQL
store (Debian's postgresql, started by scripts/postgres.sh), one snapshot
folder and one set of signing keys.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from conftest import Portal, _start_portal
from hubclient import HubClient, cell_sources, save_notebook
from mfa_harness import MfaPortal, keycloak_login

from sdcc_lab.front.apache import FRONT_DIR, write_private
from sdcc_lab.front.realm import realm_representation
from sdcc_lab.netutil import free_port

pytestmark = [pytest.mark.hub, pytest.mark.apache, pytest.mark.slow]

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "two-hubs"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
TWO_HUBS_CLIENT = "sdcc-two-hubs"


def load_router() -> object:
    spec = importlib.util.spec_from_file_location("hub_for_user", EXAMPLE / "hub_for_user.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class TwoHubs:
    url: str  # the portal (Apache)
    hubs: dict[str, Portal]  # "host:port" of each hub's proxy -> its portal
    secret: str

    def hub_of(self, user: str) -> Portal:
        router = load_router()
        return self.hubs[router.hub_for(user, list(self.hubs))]  # type: ignore[attr-defined]

    def user_pair(self) -> tuple[str, str]:
        """Two users whom the portal sends to different hubs."""
        first = USERS[0]
        other = next(u for u in USERS[1:] if self.hub_of(u) is not self.hub_of(first))
        return first, other


@contextmanager
def two_hubs_running(folder: Path, keycloak: MfaPortal | None = None) -> Iterator[TwoHubs]:
    """PostgreSQL, two demo hubs and the Apache in front (also used by benchmarks/).

    With ``keycloak`` (the MFA harness's), the front logs in through that Keycloak
    (httpd-keycloak.conf, a client of its own in the realm) and the hubs check its
    tokens (jupyterhub_config_keycloak.py); otherwise Basic auth and the shared secret.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pg_dir = Path(f"/tmp/sdcc-pg-{uuid.uuid4().hex[:8]}")
    run_dir = Path(f"/tmp/sdcc-apache-{uuid.uuid4().hex[:8]}")
    db_url = subprocess.run(
        ["bash", str(ROOT / "scripts/postgres.sh"), "start", str(pg_dir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()
    secret = secrets.token_hex(32)
    secret_file = folder / "proxy-secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    keys_file = folder / "share-keys"
    keys_file.write_text(secrets.token_urlsafe(48) + "\n")
    keys_file.chmod(0o600)
    snapshots = folder / "snapshots"
    snapshots.mkdir()
    portal_port = free_port()
    url = f"http://127.0.0.1:{portal_port}/"
    env = {
        "SDCC_PROXY_SECRET_FILE": str(secret_file),
        "SDCC_PORTAL_URL": url,
        "SDCC_SHARE_DB_URL": db_url,
        "SDCC_SHARE_KEYS_FILE": str(keys_file),
        "SDCC_SHARE_SNAPSHOTS": str(snapshots),
    }
    config = EXAMPLE / "jupyterhub_config.py"
    run_env: dict[str, str] = {}
    if keycloak is not None:
        client_secret = keycloak_client(keycloak, url)
        env.update(
            {
                "SDCC_OIDC_ISSUER": keycloak.issuer,
                "SDCC_OIDC_JWKS_URL": f"{keycloak.keycloak_url}/realms/sdcc/protocol/openid-connect/certs",
                "SDCC_OIDC_CLIENT_ID": TWO_HUBS_CLIENT,
            }
        )
        config = EXAMPLE / "jupyterhub_config_keycloak.py"
        run_dir.mkdir(mode=0o755)
        write_private(
            run_dir / "oidc-secrets.conf",
            f'OIDCClientSecret "{client_secret}"\n'
            f'OIDCCryptoPassphrase "{secrets.token_urlsafe(32)}"\n',
        )
        run_env = {
            "HTTPD_CONF": str(EXAMPLE / "httpd-keycloak.conf"),
            "PORTAL_URL": url,
            "KEYCLOAK_ORIGIN": keycloak.keycloak_url.removesuffix("/kc"),
            "OIDC_METADATA_URL": f"{keycloak.keycloak_url}/realms/sdcc/.well-known/openid-configuration",
            "OIDC_CLIENT_ID": TWO_HUBS_CLIENT,
            "SDCC_FRONT_DIR": str(FRONT_DIR),
        }
    hubs: dict[str, Portal] = {}
    try:
        for name in ("a", "b"):
            portal = _start_portal(
                folder / f"hub-{name}",
                users=",".join(USERS),
                args=("--local-only", "--config", str(config)),
                env=env,
            )
            hubs[portal.url.removeprefix("http://").rstrip("/")] = portal
        subprocess.run(
            [
                str(EXAMPLE / "run.sh"),
                "start",
                str(run_dir),
                str(portal_port),
                "/dev/null" if keycloak else str(secret_file),
                " ".join(hubs),
                *(() if keycloak else (f"{u}:{u}-pw" for u in USERS)),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **run_env},
        )
        yield TwoHubs(url, hubs, secret)
    finally:
        subprocess.run([str(EXAMPLE / "run.sh"), "stop", str(run_dir)], check=False)
        for portal in hubs.values():
            portal.stop()
        subprocess.run(
            ["bash", str(ROOT / "scripts/postgres.sh"), "stop", str(pg_dir)], check=False
        )
        subprocess.run(["rm", "-rf", str(run_dir), str(pg_dir)], check=False)


def keycloak_client(keycloak: MfaPortal, portal_url: str) -> str:
    """Add the two-hubs front's client to the realm (as realm.json's, for its URL)."""
    secret = secrets.token_urlsafe(32)
    (client,) = realm_representation(portal_url, secret, [])["clients"]
    client["clientId"] = TWO_HUBS_CLIENT
    request = urllib.request.Request(
        f"{keycloak.keycloak_url}/admin/realms/sdcc/clients",
        data=json.dumps(client).encode(),
        headers={
            "Authorization": f"Bearer {keycloak.admin_token()}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 201
    return secret


@pytest.fixture(scope="module")
def two_hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoHubs]:
    with two_hubs_running(tmp_path_factory.mktemp("two-hubs")) as two:
        yield two


def through_portal(two: TwoHubs, user: str) -> HubClient:
    client = HubClient(two.url, user)
    client.session.auth = (user, f"{user}-pw")
    assert client.session.get(client.url + "hub/home").status_code == 200
    return client


def with_server(client: HubClient) -> HubClient:
    client.start_server(local=True)
    assert client.open_lab().status_code == 200
    return client


def test_each_user_always_reaches_the_same_hub_and_one_server(two_hubs: TwoHubs) -> None:
    user, _ = two_hubs.user_pair()
    first = with_server(through_portal(two_hubs, user))
    second = through_portal(two_hubs, user)  # another browser of the same user
    server = second.hub_api("GET", f"users/{user}").json()["servers"][""]
    assert server["ready"]
    assert second.open_lab().status_code == 200
    assert second.server_api("GET", "sdcc-lab/api/info").json()["user"] == user
    # Only the user's hub ever started a server for them.
    home = two_hubs.hub_of(user)
    other = next(p for p in two_hubs.hubs.values() if p is not home)
    assert f"Creating oauth client jupyterhub-user-{user}" in home.log()
    assert f"jupyterhub-user-{user}" not in other.log()
    assert first.server_api("GET", "sdcc-lab/api/info").status_code == 200


def test_a_link_made_on_one_hub_opens_and_is_revoked_across_hubs(two_hubs: TwoHubs) -> None:
    sender, recipient = two_hubs.user_pair()
    alice = with_server(through_portal(two_hubs, sender))
    save_notebook(alice, "across.ipynb", "print('made on hub A')")
    r = alice.server_api("POST", "sdcc-lab/api/shares", json={"path": "across.ipynb"})
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["url"].startswith(two_hubs.url)  # links point at the portal, not at a hub

    bob = with_server(through_portal(two_hubs, recipient))
    r = bob.server_api("POST", "sdcc-lab/api/imports", json={"link": link["url"]})
    assert r.status_code == 201, r.text
    assert cell_sources(bob, r.json()["path"]) == ["print('made on hub A')"]

    # The sender revokes through the other hub (as if the portal had sent her there).
    other_hub = two_hubs.hub_of(recipient)
    direct = HubClient(other_hub.url, sender)
    direct.session.headers.update({"X-Remote-User": sender, "X-Proxy-Secret": two_hubs.secret})
    assert direct.session.get(direct.url + "hub/home").status_code == 200
    with_server(direct)
    r = direct.server_api("DELETE", f"sdcc-lab/api/shares/{link['id']}")
    assert r.status_code == 204, r.text

    # Seen at once on the sender's own hub, and on the recipient's.
    r = alice.server_api("POST", "sdcc-lab/api/imports", json={"link": link["url"]})
    assert r.status_code == 410, r.text
    r = bob.server_api("POST", "sdcc-lab/api/imports", json={"link": link["url"]})
    assert r.status_code == 410, r.text


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_share_service_stops_on_sigint_and_sigterm(tmp_path: Path, signum: int) -> None:
    portal = _start_portal(tmp_path / "data", args=("--local-only",))
    try:
        [service] = [
            p
            for p in psutil.Process(portal.process.pid).children(recursive=True)
            if "sdcc_lab.share" in " ".join(p.cmdline())
        ]
        service.send_signal(signum)

        def exited() -> bool:  # gone, or a zombie its hub has not reaped yet
            try:
                return service.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        # A bound, not a speed target: a service that ignores the signal never exits.
        deadline = time.monotonic() + 10
        while not exited() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exited(), f"the share service ignored signal {signum}"
    finally:
        assert portal.stop() == 0


@pytest.mark.mfa
def test_alice_logs_in_once_through_keycloak_and_reaches_her_one_server(
    mfa_portal: MfaPortal, tmp_path: Path
) -> None:
    """examples/two-hubs with the Keycloak login (httpd-keycloak.conf): one login with
    password and code, then her JupyterLab on the hub the portal routes her to."""
    with two_hubs_running(tmp_path / "two-hubs-kc", keycloak=mfa_portal) as two:
        client = keycloak_login(
            two.url, "alice", mfa_portal.password("alice"), mfa_portal.code("alice")
        )
        assert client.session.get(client.url + "hub/home").status_code == 200
        with_server(client)
        assert client.server_api("GET", "sdcc-lab/api/info").json()["user"] == "alice"
        home = two.hub_of("alice")
        other = next(p for p in two.hubs.values() if p is not home)
        assert "User logged in: alice" in home.log()
        assert "jupyterhub-user-alice" not in other.log()
        assert "User logged in: alice" not in other.log()
        client.stop_server()
