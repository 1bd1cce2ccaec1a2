"""Bypassing the front: a REAL hub with ``OIDCTokenAuthenticator`` refuses what it did not get
from the provider through the front.

The hub is ``sdcc-lab demo`` (real JupyterHub and configurable-http-proxy) with
the authenticator lines of docs/admin-guide.md ("The hub checks the provider's
token"), pointed at a provider of the test's own (tests/oidc_issuer.py's
``Issuer``: RSA keys published as a JWKS behind an OpenID Connect discovery
document, as a Keycloak realm publishes them). Every probe goes straight to the
hub's own port and to configurable-http-proxy, from 127.0.0.1 — where any
process on the hub's node can connect — with what an attacker can make: no
token, garbage, alice's token with its payload changed, an expired token,
another audience's token, a token with alice's name signed by the attacker's
key (under the provider's key id), ``alg: none``, HS256 keyed with the
provider's public key. None of them may give a hub session; a token the
provider signed for alice gives alice's (the control that the probes could
pass). The tests with REAL Keycloak tokens are in the second part.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from conftest import Portal, _start_portal
from mfa_harness import OTHER_CLIENT, TEST_CLIENT, MfaPortal
from oidc_issuer import Issuer, b64, new_key

from sdcc_lab.front.realm import CLIENT_ID, HUB_AUDIENCE, REALM, REDIRECT_PATH
from sdcc_lab.netutil import free_port

pytestmark = [pytest.mark.hub, pytest.mark.slow]

GUIDE = Path(__file__).parents[2] / "docs" / "admin-guide.md"
PORTAL_URL = "https://jupyter.example.org/"
REFUSAL = "only accepts logins through the site's portal"


def guide_snippet() -> str:
    """The authenticator lines of the admin guide's jupyterhub_config.py snippet."""
    section = GUIDE.read_text().split("## The hub checks the provider's token", 1)[1]
    [block] = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    lines = [
        line
        for line in block.splitlines()
        if line.startswith(("c.OIDCTokenAuthenticator.", "c.JupyterHub.authenticator_class"))
    ]
    assert any("authenticator_class" in line for line in lines), block
    return "\n".join(lines) + "\n"


@dataclass
class TokenHub:
    portal: Portal
    issuer: Issuer

    @property
    def hub_port(self) -> int:
        ports = json.loads((self.portal.data_dir / "hub" / "ports.json").read_text())
        return int(ports["hub"])

    @property
    def bases(self) -> list[str]:
        """The hub's own port and configurable-http-proxy's."""
        return [f"http://127.0.0.1:{self.hub_port}/", self.portal.url]


@pytest.fixture(scope="module")
def token_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenHub]:
    folder = tmp_path_factory.mktemp("tokenhub")
    issuer = Issuer(free_port())
    issuer.start()
    config = folder / "jupyterhub_config.py"
    config.write_text(
        "c = get_config()  # noqa: F821\n"
        + guide_snippet()
        # The test's own provider and portal in place of the guide's example.org ones.
        + f"c.OIDCTokenAuthenticator.issuer = {issuer.url!r}\n"
        + f"c.OIDCTokenAuthenticator.portal_url = {PORTAL_URL!r}\n"
        + f"c.OIDCTokenAuthenticator.proxy_logout_url = {PORTAL_URL + 'logout'!r}\n"
        # Fetch the keys again at once for an unknown key id (the provider-down probe).
        + "c.OIDCTokenAuthenticator.jwks_refresh_seconds = 0\n"
    )
    portal = _start_portal(folder / "data", args=("--local-only", "--config", str(config)))
    try:
        yield TokenHub(portal, issuer)
    finally:
        portal.stop()
        issuer.stop()


def has_session(session: requests.Session) -> bool:
    return any(c.name.startswith("jupyterhub-session") for c in session.cookies)


def login(base: str, token: str | None) -> tuple[requests.Response, requests.Session]:
    session = requests.Session()
    if token is not None:
        session.headers["OIDC_access_token"] = token
    return session.get(base + "hub/login", allow_redirects=False, timeout=30), session


def hub_user(base: str, session: requests.Session) -> str:
    session.get(base + "hub/home", timeout=30)
    xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path == "/hub/")
    r = session.get(base + "hub/api/user", headers={"X-XSRFToken": str(xsrf)}, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["name"])


def test_alices_token_from_the_provider_logs_her_in(token_hub: TokenHub) -> None:
    """The control: what the front passes for alice works, at both ports."""
    for base in token_hub.bases:
        r, session = login(base, token_hub.issuer.token())
        assert r.status_code == 302, (base, r.status_code, r.text[:300])
        assert has_session(session)
        assert hub_user(base, session) == "alice"


def forged_tokens(issuer: Issuer) -> dict[str, str | None]:
    now = int(time.time())
    good = issuer.token()
    header, _, signature = good.split(".")
    bob_body = b64(json.dumps(issuer.claims(preferred_username="bob")).encode())
    tokens: dict[str, str | None] = {
        "no token": None,
        "garbage": "eyJhbGciOiJSUzI1NiJ9.garbage.garbage",
        "alice's token with the name changed": f"{header}.{bob_body}.{signature}",
        "expired": issuer.token(iat=now - 900, exp=now - 600),
        "another audience": issuer.token(aud=["account", "another-client"]),
        "another client (azp)": issuer.token(azp="another-client"),
        "alice, signed by the attacker under the provider's kid": issuer.token(key=new_key()),
        "alice, signed by the attacker under a kid of his own": issuer.token(
            key=new_key(), kid="attacker"
        ),
        "alg none": issuer.forged_token("none"),
        "HS256 keyed with the provider's public key": issuer.forged_token(
            "HS256", lambda data: hmac.new(issuer.public_pem(), data, hashlib.sha256).digest()
        ),
    }
    assert list(tokens) == CASES
    return tokens


CASES = [
    "no token",
    "garbage",
    "alice's token with the name changed",
    "expired",
    "another audience",
    "another client (azp)",
    "alice, signed by the attacker under the provider's kid",
    "alice, signed by the attacker under a kid of his own",
    "alg none",
    "HS256 keyed with the provider's public key",
]


@pytest.mark.parametrize("case", CASES)
def test_a_forged_or_foreign_token_straight_to_the_hub_is_refused(
    token_hub: TokenHub, case: str
) -> None:
    token = forged_tokens(token_hub.issuer)[case]
    for base in token_hub.bases:
        r, session = login(base, token)
        assert r.status_code == 403, (base, r.status_code, r.text[:300])
        page = html.unescape(r.text)
        assert REFUSAL in page and PORTAL_URL in page  # says how to reach the portal
        assert not has_session(session)
        # Nothing else of the hub opens either.
        assert session.get(base + "hub/api/user", timeout=30).status_code == 403


def test_a_cookie_for_alice_with_bobs_token_ends_alices_session(token_hub: TokenHub) -> None:
    base = token_hub.bases[0]
    r, session = login(base, token_hub.issuer.token())
    assert r.status_code == 302 and hub_user(base, session) == "alice"
    time.sleep(1.2)  # past auth_refresh_age
    session.headers["OIDC_access_token"] = token_hub.issuer.token(preferred_username="bob")
    session.get(base + "hub/home", timeout=30)
    time.sleep(1.2)
    assert hub_user(base, session) == "bob"
    # And a token that expired since: alice's cookie alone no longer opens the hub.
    now = int(time.time())
    session.headers["OIDC_access_token"] = token_hub.issuer.token(iat=now - 900, exp=now - 600)
    time.sleep(1.2)
    r = session.get(base + "hub/api/user", timeout=30)
    assert r.status_code == 403, r.text


def test_logout_goes_on_to_the_fronts_logout(token_hub: TokenHub) -> None:
    base = token_hub.bases[0]
    r, session = login(base, token_hub.issuer.token())
    assert r.status_code == 302
    r = session.get(base + "hub/logout", allow_redirects=False, timeout=30)
    assert r.status_code == 302
    assert r.headers["Location"] == PORTAL_URL + "logout"


def test_provider_down_gives_a_clear_503_and_the_hub_stays_up(token_hub: TokenHub) -> None:
    issuer = token_hub.issuer
    log_start = len(token_hub.portal.log())
    rotated_key = new_key()
    issuer.stop()
    try:
        # A key the hub has not fetched yet (the provider rotated it) cannot be checked.
        old_key, old_kid = issuer.key, issuer.kid
        issuer.key, issuer.kid = rotated_key, "rotated"
        r, session = login(token_hub.bases[0], issuer.token())
        assert r.status_code == 503, r.text[:300]
        assert "login service cannot be reached" in html.unescape(r.text)
        assert not has_session(session)
        # The hub itself is fine: its API answers, and alice's token (a known key) works.
        assert requests.get(token_hub.portal.url + "hub/api", timeout=30).status_code == 200
        issuer.key, issuer.kid = old_key, old_kid
        r, session = login(token_hub.bases[0], issuer.token())
        assert r.status_code == 302
    finally:
        issuer.start()
    issuer.key, issuer.kid = rotated_key, "rotated"
    r, _ = login(token_hub.bases[0], issuer.token())
    assert r.status_code == 302  # the provider is back: the rotated key is fetched
    assert "Traceback" not in token_hub.portal.log()[log_start:]


# --- with REAL Keycloak tokens ---------------------------------------------------------
# The session's `sdcc-lab demo --mfa` (tests/mfa_harness.py): Keycloak with the sdcc
# realm, Apache with mod_auth_openidc, and a hub configured by the demo with
# OIDCTokenAuthenticator. The tokens come from Keycloak itself; the requests go
# straight to the hub's port and to configurable-http-proxy, around Apache.


def form_action(page: str, form_id: str) -> str:
    """The ``action`` of Keycloak's login form ``form_id`` in ``page``."""
    for tag in re.findall(r"<form\b[^>]*>", page):
        if f'id="{form_id}"' in tag:
            action = re.search(r'action="([^"]*)"', tag)
            assert action, tag
            return html.unescape(action.group(1))
    raise AssertionError(f"no form {form_id} in Keycloak's page:\n{page[:2000]}")


def loopback_is_secure(session: requests.Session) -> None:
    """Send Keycloak's ``Secure`` cookies back over plain HTTP to 127.0.0.1, as browsers do
    (they count loopback as a secure context; ``requests`` does not)."""
    for cookie in session.cookies:
        cookie.secure = False


def front_client_tokens(portal: MfaPortal, user: str) -> dict[str, Any]:
    """Keycloak's token answer for ``user`` and the front's own client.

    The authorization-code flow with PKCE that mod_auth_openidc runs: Keycloak's
    login page (password), its one-time-code page, the code, then the code is
    exchanged with the front's client secret (from Apache's mode-600 snippet).
    """
    secrets_conf = (portal.data_dir / "mfa" / "apache" / "oidc-secrets.conf").read_text()
    found = re.search(r'OIDCClientSecret "([^"]+)"', secrets_conf)
    assert found, "the front's client secret"
    redirect_uri = portal.url + REDIRECT_PATH
    verifier = secrets.token_urlsafe(48)
    session = requests.Session()
    r = session.get(
        portal.issuer + "/protocol/openid-connect/auth",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        },
        timeout=60,
    )
    assert r.status_code == 200, r.text[:500]
    loopback_is_secure(session)
    r = session.post(
        form_action(r.text, "kc-form-login"),
        data={"username": user, "password": portal.password(user)},
        timeout=60,
    )
    assert r.status_code == 200, r.text[:500]
    loopback_is_secure(session)
    r = session.post(
        form_action(r.text, "kc-otp-login-form"),
        data={"otp": portal.code(user)},
        allow_redirects=False,
        timeout=60,
    )
    assert r.status_code == 302, r.text[:2000]
    location = r.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    [code] = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"]
    r = requests.post(
        f"{portal.keycloak_url}/realms/{REALM}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLIENT_ID,
            "client_secret": found.group(1),
            "code_verifier": verifier,
        },
        timeout=60,
    )
    assert r.status_code == 200, r.text[:500]
    return dict(r.json())


def mfa_hub_bases(portal: MfaPortal) -> list[str]:
    """The hub's own port and configurable-http-proxy's, behind the front."""
    hub = portal.data_dir / "hub"
    hub_port = json.loads((hub / "ports.json").read_text())["hub"]
    chp_port = re.search(r"'port': (\d+)", (hub / "jupyterhub_config.py").read_text())
    assert chp_port, "the demo's configuration names configurable-http-proxy's port"
    return [f"http://127.0.0.1:{hub_port}/", f"http://127.0.0.1:{chp_port.group(1)}/"]


@pytest.fixture(scope="module")
def alices_front_tokens(mfa_portal: MfaPortal) -> dict[str, Any]:
    return front_client_tokens(mfa_portal, "alice")


@pytest.mark.mfa
@pytest.mark.apache
def test_a_real_keycloak_token_for_alice_logs_in_as_alice(
    mfa_portal: MfaPortal, alices_front_tokens: dict[str, Any]
) -> None:
    """The control: the token the front gets from Keycloak is what the hub believes."""
    claims = jwt.decode(alices_front_tokens["access_token"], options={"verify_signature": False})
    assert claims["azp"] == CLIENT_ID and HUB_AUDIENCE in claims["aud"]
    for base in mfa_hub_bases(mfa_portal):
        r, session = login(base, alices_front_tokens["access_token"])
        assert r.status_code == 302, (base, r.status_code, r.text[:300])
        assert hub_user(base, session) == "alice"


@pytest.mark.mfa
@pytest.mark.apache
@pytest.mark.parametrize(
    "which",
    [
        "another client's token (no hub audience)",
        "a token with the hub's audience for another client (azp)",
        "the front's ID token for alice",
        "the front's refresh token for alice",
    ],
)
def test_a_real_keycloak_token_not_meant_for_the_hub_is_refused(
    mfa_portal: MfaPortal, alices_front_tokens: dict[str, Any], which: str
) -> None:
    # bob's: each user's one-time codes are accepted once, and alice's code of this
    # 30 s has gone to alices_front_tokens (a second one for her means waiting).
    if which.startswith("another client's"):
        token = mfa_portal.password_grant("bob", OTHER_CLIENT)["access_token"]
        assert HUB_AUDIENCE not in str(jwt.decode(token, options={"verify_signature": False}))
    elif which.startswith("a token with the hub's audience"):
        token = mfa_portal.password_grant("bob", TEST_CLIENT)["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert HUB_AUDIENCE in claims["aud"] and claims["azp"] == TEST_CLIENT
    elif which.startswith("the front's ID token"):
        token = alices_front_tokens["id_token"]
    else:
        token = alices_front_tokens["refresh_token"]
    for base in mfa_hub_bases(mfa_portal):
        r, session = login(base, token)
        assert r.status_code == 403, (base, r.status_code, r.text[:300])
        assert "only accepts logins through the site's portal" in html.unescape(r.text)
        assert not has_session(session)
