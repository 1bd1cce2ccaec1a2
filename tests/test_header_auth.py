"""Login behind the site's front proxy: a real Apache (Debian's apache2) in front
of a real hub using ``HeaderAuthenticator``, as in examples/apache-header-auth.

Basic auth stands in for the site's Keycloak; everything the hub sees is what
it would see behind the real thing.
"""

from __future__ import annotations

import asyncio
import html
import http.client
import json
import re
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from conftest import Portal, _start_portal
from hubclient import HubClient, run_code
from tornado import web

from sdcc_lab.hub.headerauth import HeaderAuthenticator
from sdcc_lab.netutil import free_port

pytestmark = [pytest.mark.hub, pytest.mark.apache, pytest.mark.slow]

EXAMPLE = Path(__file__).parents[1] / "examples" / "apache-header-auth"
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw"}


@dataclass
class FrontedPortal:
    portal: Portal
    url: str  # Apache's
    secret: str
    run_dir: Path

    @property
    def chp_url(self) -> str:
        return self.portal.url

    @property
    def hub_port(self) -> int:
        ports = json.loads((self.portal.data_dir / "hub" / "ports.json").read_text())
        return int(ports["hub"])


@pytest.fixture(scope="module")
def fronted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontedPortal]:
    if not Path("/usr/sbin/apachectl").exists():
        pytest.fail("apache2 is not installed (scripts/setup.sh --test installs it)")
    with fronted_running(tmp_path_factory.mktemp("apache")) as fronted:
        yield fronted


@contextmanager
def fronted_running(folder: Path) -> Iterator[FrontedPortal]:
    """A demo hub with HeaderAuthenticator behind the example Apache (also for benchmarks/)."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    secret_file = folder / "proxy-secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    apache_port = free_port()
    apache_url = f"http://127.0.0.1:{apache_port}/"
    portal = _start_portal(
        folder / "data",
        args=("--local-only", "--config", str(EXAMPLE / "jupyterhub_config.py")),
        env={"SDCC_PROXY_SECRET_FILE": str(secret_file), "SDCC_PORTAL_URL": apache_url},
    )
    run_dir = Path(f"/tmp/sdcc-apache-{uuid.uuid4().hex[:8]}")
    try:
        subprocess.run(
            [
                str(EXAMPLE / "run.sh"),
                "start",
                str(run_dir),
                str(apache_port),
                portal.url.rstrip("/"),
                str(secret_file),
                *(f"{u}:{p}" for u, p in PASSWORDS.items()),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        yield FrontedPortal(portal, apache_url, secret, run_dir)
    finally:
        subprocess.run([str(EXAMPLE / "run.sh"), "stop", str(run_dir)], check=False)
        portal.stop()
        subprocess.run(["rm", "-rf", str(run_dir)], check=False)


def through_apache(fronted: FrontedPortal, user: str, password: str | None = None) -> HubClient:
    client = HubClient(fronted.url, user)
    client.session.auth = (user, password or PASSWORDS[user])
    return client


def hub_user(client: HubClient) -> str:
    r = client.session.get(
        client.url + "hub/api/user", headers={"X-XSRFToken": client.xsrf("/hub/")}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["name"])


def test_apache_asks_for_credentials(fronted: FrontedPortal) -> None:
    r = requests.get(fronted.url + "hub/", allow_redirects=False)
    assert r.status_code == 401
    r = requests.get(fronted.url + "hub/", auth=("alice", "wrong"), allow_redirects=False)
    assert r.status_code == 401


def test_alice_logs_in_through_the_proxy_and_runs_a_kernel(fronted: FrontedPortal) -> None:
    alice = through_apache(fronted, "alice")
    home = alice.session.get(alice.url + "hub/home")
    assert home.status_code == 200
    assert hub_user(alice) == "alice"
    alice.start_server(local=True)
    assert run_code(alice, "6 * 7") == "42"


def test_bob_cannot_become_alice_by_sending_the_header(fronted: FrontedPortal) -> None:
    bob = through_apache(fronted, "bob")
    bob.session.headers.update(
        {
            "X-Remote-User": "alice",
            "X-Proxy-Secret": fronted.secret,
            "X-Forwarded-For": "127.0.0.1",
            "X-Real-Ip": "127.0.0.1",
        }
    )
    assert bob.session.get(bob.url + "hub/home").status_code == 200
    assert hub_user(bob) == "bob"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Remote-User": "alice"},
        {"X-Remote-User": "alice", "X-Proxy-Secret": "not-the-secret"},
        {"X-Remote-User": "alice", "X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1"},
        {"X-Remote-User": "alice", "X-Proxy-Secret": ""},
    ],
)
def test_a_forged_header_straight_to_the_hub_is_refused(
    fronted: FrontedPortal, headers: dict[str, str]
) -> None:
    for base in (fronted.chp_url, f"http://127.0.0.1:{fronted.hub_port}/"):
        session = requests.Session()
        r = session.get(base + "hub/login", headers=headers)
        assert r.status_code == 403, (base, r.status_code)
        page = html.unescape(r.text)
        assert "only accepts logins through the site's portal" in page
        assert fronted.url in page  # says how to reach the portal
        assert not any(c.name.startswith("jupyterhub-session") for c in session.cookies)


def get_from(source_ip: str, port: int, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source_ip, 0))
    try:
        conn.request("GET", path, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_secret_from_an_untrusted_address_is_refused(fronted: FrontedPortal) -> None:
    headers = {"X-Remote-User": "alice", "X-Proxy-Secret": fronted.secret}
    assert get_from("127.0.0.2", fronted.hub_port, "/hub/login", headers) == 403
    # The same request from the trusted address logs in: the address check is what refused.
    assert get_from("127.0.0.1", fronted.hub_port, "/hub/login", headers) == 302


def test_the_hub_and_its_proxy_listen_on_loopback_only(fronted: FrontedPortal) -> None:
    """Else other machines reach the hub through the proxy, from 127.0.0.1."""
    tree = [psutil.Process(fronted.portal.process.pid)]
    tree += tree[0].children(recursive=True)
    listening = {
        (c.laddr.ip, c.laddr.port)
        for p in tree
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    ports = json.loads((fronted.portal.data_dir / "hub" / "ports.json").read_text())
    chp_port = int(fronted.chp_url.rstrip("/").rsplit(":", 1)[1])
    assert {("127.0.0.1", chp_port), ("127.0.0.1", int(ports["hub"]))} <= listening
    assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening


def test_when_the_proxys_user_changes_the_old_session_ends(fronted: FrontedPortal) -> None:
    client = through_apache(fronted, "alice")
    client.session.get(client.url + "hub/home")
    assert hub_user(client) == "alice"
    time.sleep(1.2)  # past auth_refresh_age
    # Same browser, same hub cookie; the proxy now says bob.
    client.session.auth = ("bob", PASSWORDS["bob"])
    client.session.get(client.url + "hub/home")
    time.sleep(1.2)
    assert hub_user(client) == "bob"


def test_logout_goes_on_to_the_proxys_logout(fronted: FrontedPortal) -> None:
    client = through_apache(fronted, "alice")
    client.session.get(client.url + "hub/home")
    r = client.session.get(client.url + "hub/logout", allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == fronted.url + "logout"


# --- the authenticator's own checks, without a proxy ---------------------------


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x" * 32)
    secret.chmod(0o644)
    auth = HeaderAuthenticator(secret_file=str(secret))
    with pytest.raises(ValueError, match="chmod 600"):
        auth.read_secret()
    secret.chmod(0o600)
    assert auth.read_secret() == b"x" * 32


def test_a_short_or_missing_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret_file must be set"):
        HeaderAuthenticator().read_secret()
    short = tmp_path / "short"
    short.write_text("abc")
    short.chmod(0o600)
    with pytest.raises(ValueError, match="shorter than 16"):
        HeaderAuthenticator(secret_file=str(short)).read_secret()


class FakeRequest:
    def __init__(self, peer: str, headers: dict[str, str]) -> None:
        self.headers = headers
        self.connection = type("C", (), {"context": type("X", (), {"address": (peer, 1)})()})()


class FakeHandler:
    def __init__(self, peer: str, headers: dict[str, str]) -> None:
        self.request = FakeRequest(peer, headers)

    def get_token(self) -> Any:
        """The hub's API token of the request (JupyterHub's BaseHandler): none here."""
        return None


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("Alice", "", "alice"),
        ("alice@BNL.GOV", r"^(?P<username>[a-z]+)@bnl\.gov$", "alice"),
        ("alice@EVIL.ORG", r"^(?P<username>[a-z]+)@bnl\.gov$", None),
        ("alice", r"^(?P<username>[a-z]+)@bnl\.gov$", None),  # the realm is required
    ],
)
def test_names_are_mapped(tmp_path: Path, name: str, pattern: str, expected: str | None) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 32)
    secret.chmod(0o600)
    auth = HeaderAuthenticator(secret_file=str(secret), header_name_pattern=pattern)
    handler = FakeHandler("127.0.0.1", {"X-Remote-User": name, "X-Proxy-Secret": "s" * 32})
    if expected is None:
        with pytest.raises(Exception, match="portal"):
            auth.user_from_request(handler)
    else:
        name = auth.user_from_request(handler)
        assert name == expected
        # JupyterHub's own check of the mapped name lets it through.
        assert auth.validate_username(auth.normalize_username(name))


def admin_guide_name_pattern() -> str:
    guide = (Path(__file__).parents[1] / "docs" / "admin-guide.md").read_text()
    [pattern] = re.findall(
        r'^c\.HeaderAuthenticator\.header_name_pattern = r"(.*)"$', guide, re.MULTILINE
    )
    return pattern


def test_the_admin_guides_name_pattern_requires_the_realm(tmp_path: Path) -> None:
    """The guide's example must not make ``alice`` and ``alice@bnl.gov`` one user."""
    secret = tmp_path / "secret"
    secret.write_text("s" * 32)
    secret.chmod(0o600)
    auth = HeaderAuthenticator(
        secret_file=str(secret), header_name_pattern=admin_guide_name_pattern()
    )

    def login(name: str) -> str:
        return auth.user_from_request(
            FakeHandler("127.0.0.1", {"X-Remote-User": name, "X-Proxy-Secret": "s" * 32})
        )

    assert login("Alice@BNL.GOV") == "alice"
    for name in ("alice", "alice@evil.org", "alice@bnl.gov.evil.org", "alice@bnlxgov"):
        with pytest.raises(web.HTTPError, match="portal") as refused:
            login(name)
        assert refused.value.status_code == 403


def test_refresh_keeps_token_requests_and_ends_a_changed_user(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 32)
    secret.chmod(0o600)
    auth = HeaderAuthenticator(secret_file=str(secret))
    alice = type("U", (), {"name": "alice"})()
    as_bob = FakeHandler("127.0.0.1", {"X-Remote-User": "bob", "X-Proxy-Secret": "s" * 32})
    assert asyncio.run(auth.refresh_user(alice, as_bob)) is False
    as_alice = FakeHandler("127.0.0.1", {"X-Remote-User": "alice", "X-Proxy-Secret": "s" * 32})
    assert asyncio.run(auth.refresh_user(alice, as_alice)) is True
    token_request: Any = FakeHandler("127.0.0.1", {})
    token_request.get_token = lambda: "the hub's record of a valid API token"
    assert asyncio.run(auth.refresh_user(alice, token_request)) is True
