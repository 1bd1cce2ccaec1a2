"""The MFA front (Apache + mod_auth_openidc, sdcc_lab/front/httpd.conf) hands no one's
login to anything but the hub, and nothing gets past it without a login.

Through the REAL front of ``sdcc-lab demo --mfa`` (tests/mfa_harness.py: real
Keycloak, real Apache, real hub): bob logs in with his password and a one-time
code in Chromium; his front session cookie then goes with raw requests (every
path trick of tests/security/test_front_proxy.py, websockets, headers that
claim a token or a user). A route for bob's server is pointed at a recorder,
as his JupyterLab would receive requests.

What must hold:
- nothing that reaches bob's server carries the access token, any JWT, a login
  header, a bearer credential or the front's session cookie;
- a token or bearer header the browser sends is never what the hub receives:
  the hub still sees bob (a garbage token would be refused);
- without a login, paths that start like Keycloak's (``/kc/``) but mean
  something else to Apache, to configurable-http-proxy or to the hub reach
  neither bob's server nor the hub.
"""

from __future__ import annotations

import asyncio
import base64
import re
import urllib.request
from collections.abc import Iterator

import pytest
from mfa_harness import MfaPortal
from playwright.sync_api import Browser
from test_front_proxy import FORGED_HEADERS, TRICKS, add_route, chp_token, ports, raw_exchange
from test_front_proxy import recorder_running as recorder_running
from test_mfa_front import TIMEOUT, login

pytestmark = [pytest.mark.mfa, pytest.mark.apache, pytest.mark.hub, pytest.mark.slow]

USER = "bob"
TARGET = f"user/{USER}/x"
SESSION_COOKIE = "mod_auth_openidc_session"
# A header the hub would read as a login, or a credential, must not reach a user's server.
LOGIN_HEADERS = ("oidc_access_token", "x-remote-user", "x-proxy-secret", "authorization")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")

KEYCLOAK_TRICKS = [
    "/kc/../{T}",
    "/kc/..\\{T}",
    "/kc/%2e%2e/{T}",
    "/kc/%2E%2E%2F{T}",
    "/kc/..%2f{T}",
    "/kc/..%5c{T}",
    "/kc/..;/{T}",
    "/./kc/../{T}",
    "//kc/../{T}",
    "/kc//../{T}",
    "/KC/../{T}",
    "/kc/../hub/home",
    "/kc/..\\hub\\home",
    "/kc/%2e%2e/hub/home",
    "/kc/..\\hub/api/user",
    "/kc/x/..\\..\\{T}",
]


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """As in tests/test_mfa_front.py: Playwright holds the thread's own loop."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def bob_cookie(mfa_portal: MfaPortal, browser: Browser) -> str:
    """bob's front session, logged in with password and code: the Cookie header value."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    try:
        login(context.new_page(), mfa_portal, USER)
        cookies = {c["name"]: c["value"] for c in context.cookies()}
    finally:
        context.close()
    assert SESSION_COOKIE in cookies
    return f"{SESSION_COOKIE}={cookies[SESSION_COOKIE]}"


@pytest.fixture
def recorder(mfa_portal: MfaPortal) -> Iterator[object]:
    with recorder_running() as recorder:
        add_route(mfa_portal, f"/user/{USER}", recorder.url)  # type: ignore[arg-type]
        try:
            yield recorder
        finally:
            request = urllib.request.Request(
                f"http://127.0.0.1:{ports(mfa_portal)['proxy_api']}/api/routes/user/{USER}",  # type: ignore[arg-type]
                method="DELETE",
                headers={"Authorization": f"token {chp_token(mfa_portal)}"},  # type: ignore[arg-type]
            )
            urllib.request.urlopen(request, timeout=10).close()


def request_bytes(
    method: str, target: str, port: int, headers: dict[str, str], body: bytes = b""
) -> bytes:
    all_headers = {"Host": f"127.0.0.1:{port}", **headers, "Connection": "close"}
    if body or method in ("POST", "PUT"):
        all_headers["Content-Length"] = str(len(body))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in all_headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + body


def leaks(headers: list[tuple[str, str]], path: str) -> list[str]:
    found = [k for k, _ in headers if k.lower() in LOGIN_HEADERS or k.lower().startswith("oidc")]
    found += [k for k, v in headers if JWT.search(v) or SESSION_COOKIE in v]
    return found + (["path"] if JWT.search(path) else [])


def front_port(portal: MfaPortal) -> int:
    return int(portal.url.rstrip("/").rsplit(":", 1)[1])


def test_no_path_trick_gets_bobs_token_or_session_to_his_server(
    mfa_portal: MfaPortal, bob_cookie: str, recorder: object
) -> None:
    port = front_port(mfa_portal)
    forged = {
        **FORGED_HEADERS,
        "OIDC_access_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
        "Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
    }
    websocket = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
    }
    seen = recorder.seen  # type: ignore[attr-defined]
    leaked = []
    for trick in TRICKS:
        path = trick.replace("{T}", TARGET).replace("alice", USER)
        attempts = {
            f"GET {path}": request_bytes("GET", path, port, {"Cookie": bob_cookie}),
            f"POST {path}": request_bytes("POST", path, port, {"Cookie": bob_cookie}, b"x=1"),
            f"GET {path} with forged headers": request_bytes(
                "GET", path, port, {"Cookie": bob_cookie, **forged}
            ),
            f"websocket {path}": request_bytes(
                "GET", path, port, {"Cookie": bob_cookie, **websocket}
            ).replace(b"Connection: close\r\n", b""),
        }
        for what, raw in attempts.items():
            before = len(seen)
            raw_exchange(port, [raw])
            for _, got_path, headers in seen[before:]:
                if leaks(headers, got_path):
                    leaked.append((what, leaks(headers, got_path)))
    assert any(path == f"/{TARGET}" for _, path, _ in seen), "the probe reached nothing"
    assert not leaked, f"bob's server received login material: {leaked}"


def test_a_token_the_browser_sends_never_reaches_the_hub(
    mfa_portal: MfaPortal, bob_cookie: str
) -> None:
    port = front_port(mfa_portal)
    garbage = "eyJhbGciOiJIUzI1NiJ9.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJhbGljZSJ9.forged"
    for headers in (
        {"OIDC_access_token": garbage},
        {"Oidc_Access_Token": garbage},
        {"Authorization": f"Bearer {garbage}"},
        {"X-Remote-User": "alice", "X-Proxy-Secret": "x"},
    ):
        # The hub's login (auto_login): a garbage token would get its 403 page.
        login = raw_exchange(
            port,
            [
                request_bytes(
                    "GET", "/hub/login?next=/hub/home", port, {"Cookie": bob_cookie, **headers}
                )
            ],
        )
        assert login.startswith(b"HTTP/1.1 302"), (headers, login[:300])
        hub_cookies = "; ".join(
            m.decode() for m in re.findall(rb"(?im)^set-cookie: (jupyterhub-[^=]+=[^;]+)", login)
        )
        assert "jupyterhub-session-id" in hub_cookies, login[:500]
        # The session it made is bob's.
        home = raw_exchange(
            port,
            [
                request_bytes(
                    "GET", "/hub/home", port, {"Cookie": f"{bob_cookie}; {hub_cookies}", **headers}
                )
            ],
        )
        assert home.startswith(b"HTTP/1.1 200"), (headers, home[:300])
        assert b"bob" in home and b"alice" not in home, headers


def test_without_a_login_keycloak_lookalike_paths_reach_nothing_else(
    mfa_portal: MfaPortal, recorder: object
) -> None:
    port = front_port(mfa_portal)
    seen = recorder.seen  # type: ignore[attr-defined]
    for trick in KEYCLOAK_TRICKS:
        path = trick.replace("{T}", TARGET)
        for method in ("GET", "POST"):
            reply = raw_exchange(
                port, [request_bytes(method, path, port, {}, b"x=1" if method == "POST" else b"")]
            )
            # No page of the hub: the hub's pages name JupyterHub.
            assert b"jupyterhub" not in reply.lower(), (method, path, reply[:300])
    assert seen == [], f"reached bob's server without a login: {[p for _, p, _ in seen]}"
    # And the plain path, from a browser, gets the login (a redirect to Keycloak): the
    # probe's control. (Without Accept: text/html mod_auth_openidc answers 401.)
    reply = raw_exchange(port, [request_bytes("GET", f"/{TARGET}", port, {"Accept": "text/html"})])
    assert reply.startswith(b"HTTP/1.1 302"), reply[:200]
    assert b"/kc/realms/sdcc/protocol/openid-connect/auth" in reply


MASTER_PATHS = [
    "/kc/admin/",
    "/kc/admin/master/console/",
    "/kc/realms/master/.well-known/openid-configuration",
    "/kc/realms/master/protocol/openid-connect/auth?client_id=security-admin-console",
    "/kc/realms/sdcc/../master/.well-known/openid-configuration",
    "/kc/realms/sdcc/%2e%2e/master/.well-known/openid-configuration",
    "/kc/realms/sdcc/..%2fmaster/.well-known/openid-configuration",
    "/kc/realms/sdcc/..\\master/.well-known/openid-configuration",
    "/kc/resources/../realms/master/.well-known/openid-configuration",
    "/kc/realms/MASTER/.well-known/openid-configuration",
]


def test_keycloaks_administration_is_not_reachable_through_the_front(
    mfa_portal: MfaPortal,
) -> None:
    """The portal's users reach the sdcc realm's pages only: not the master realm (the
    administrator's login, its password grant) nor the admin console."""
    port = front_port(mfa_portal)
    reached = []
    for path in MASTER_PATHS:
        reply = raw_exchange(port, [request_bytes("GET", path, port, {"Accept": "text/html"})])
        status = reply.split(b"\r\n", 1)[0]
        body = reply.split(b"\r\n\r\n", 1)[-1].lower()
        if b" 403 " not in status and (b"master" in body or b" 200 " in status):
            reached.append((path, status))
    token = raw_exchange(
        port,
        [
            request_bytes(
                "POST",
                "/kc/realms/master/protocol/openid-connect/token",
                port,
                {"Content-Type": "application/x-www-form-urlencoded"},
                b"grant_type=password&client_id=admin-cli&username=admin&password=guess",
            )
        ],
    )
    if b" 403 " not in token.split(b"\r\n", 1)[0]:
        reached.append(("POST master token", token.split(b"\r\n", 1)[0]))
    assert not reached, f"Keycloak's administration answered through the front: {reached}"
    # The control: the sdcc realm's own metadata does come through.
    reply = raw_exchange(
        port, [request_bytes("GET", "/kc/realms/sdcc/.well-known/openid-configuration", port, {})]
    )
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
