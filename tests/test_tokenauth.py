"""``OIDCTokenAuthenticator``'s checks of the provider's token, one by one.

The provider here is a small tornado server of the test's own (tests/oidc_issuer.py),
publishing RSA keys made by the test as a JWKS behind an OpenID Connect
discovery document, as a Keycloak realm does; the authenticator fetches them
over HTTP like it would from Keycloak. tests/security/test_token_bypass.py runs
the same tokens against a real hub (and real Keycloak tokens).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from oidc_issuer import AUDIENCE, FRONT_CLIENT, Issuer, b64, new_key
from tornado import web

from sdcc_lab.hub.tokenauth import OIDCTokenAuthenticator
from sdcc_lab.netutil import free_port


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    provider = Issuer(free_port())
    provider.start()
    yield provider
    provider.stop()


class FakeRequest:
    def __init__(self, peer: str, headers: dict[str, str]) -> None:
        self.headers = headers
        self.connection = type("C", (), {"context": type("X", (), {"address": (peer, 1)})()})()


class FakeHandler:
    """What the authenticator reads of JupyterHub's handler: the request, the API token."""

    def __init__(self, token: str | None, peer: str = "127.0.0.1") -> None:
        self.request = FakeRequest(peer, {} if token is None else {"OIDC_access_token": token})

    def get_token(self) -> Any:
        return None


def authenticator(issuer: Issuer, **settings: Any) -> OIDCTokenAuthenticator:
    return OIDCTokenAuthenticator(
        issuer=issuer.url,
        audience=AUDIENCE,
        portal_url="https://portal.example.org/",
        **settings,
    )


def login(auth: OIDCTokenAuthenticator, token: str | None, peer: str = "127.0.0.1") -> str:
    return asyncio.run(auth.request_user(FakeHandler(token, peer)))


def refused(
    auth: OIDCTokenAuthenticator,
    token: str | None,
    caplog: pytest.LogCaptureFixture,
    peer: str = "127.0.0.1",
) -> str:
    """Assert the 403 page a user gets; return the reason the hub's log gives."""
    caplog.clear()
    with pytest.raises(web.HTTPError) as refusal:
        login(auth, token, peer)
    assert refusal.value.status_code == 403
    message = str(getattr(refusal.value, "jupyterhub_message", ""))
    assert "only accepts logins through the site's portal" in message
    assert "https://portal.example.org/" in message
    reasons = [r.getMessage() for r in caplog.records if "login refused" in r.getMessage()]
    assert reasons, caplog.text
    return reasons[-1]


def test_a_good_token_logs_its_user_in(issuer: Issuer) -> None:
    auth = authenticator(issuer)
    assert login(auth, issuer.token()) == "alice"
    assert login(auth, issuer.token(preferred_username="Bob")) == "bob"  # lower-cased
    assert login(authenticator(issuer, authorized_party=FRONT_CLIENT), issuer.token()) == "alice"


def test_a_token_whose_aud_is_the_hub_alone_is_accepted(issuer: Issuer) -> None:
    assert login(authenticator(issuer), issuer.token(aud=AUDIENCE)) == "alice"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong signature", "InvalidSignatureError"),
        ("another key, same kid", "InvalidSignatureError"),
        ("another key, unknown kid", "unknown key"),
        ("alg none", "algorithm 'none'"),
        ("HS256 with the public key as secret", "algorithm 'HS256'"),
        ("expired", "ExpiredSignatureError"),
        ("not yet valid", "ImmatureSignatureError"),
        ("issued in the future", "ImmatureSignatureError"),
        ("wrong issuer", "InvalidIssuerError"),
        ("no issuer", "MissingRequiredClaimError"),
        ("wrong audience", "InvalidAudienceError"),
        ("no audience", "MissingRequiredClaimError"),
        ("no expiry", "MissingRequiredClaimError"),
        ("no kid", "no signing key"),
        ("not a JWT", "not a JWT"),
        ("empty header", "no OIDC_access_token header"),
        ("missing header", "no OIDC_access_token header"),
        ("oversized header", "longer than 16384 bytes"),
        ("name claim missing", "no preferred_username claim"),
        ("name claim not a string", "no preferred_username claim"),
        ("name claim empty", "no preferred_username claim"),
        ("name claim invalid", "not a valid hub user name"),
    ],
)
def test_a_bad_token_is_refused_with_the_portal_page(
    issuer: Issuer, case: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    attacker = new_key()
    tokens: dict[str, str | None] = {
        "wrong signature": issuer.token()[:-8] + ("A" * 8),
        "another key, same kid": issuer.token(key=attacker),
        "another key, unknown kid": issuer.token(key=attacker, kid="attacker"),
        "alg none": issuer.forged_token("none"),
        # Signed as an HMAC with the provider's public key as the secret (PyJWT itself
        # refuses to make one), the classic confusion attack.
        "HS256 with the public key as secret": issuer.forged_token(
            "HS256", lambda data: hmac.new(issuer.public_pem(), data, hashlib.sha256).digest()
        ),
        "expired": issuer.token(iat=now - 600, exp=now - 60),
        "not yet valid": issuer.token(nbf=now + 120),
        "issued in the future": issuer.token(iat=now + 120),
        "wrong issuer": issuer.token(iss="http://127.0.0.1:1/realms/other"),
        "no issuer": issuer.token(iss=None),
        "wrong audience": issuer.token(aud=["account", "other-client"]),
        "no audience": issuer.token(aud=None),
        "no expiry": issuer.token(exp=None),
        "no kid": jwt.encode(issuer.claims(), issuer.key, algorithm="RS256"),
        "not a JWT": "not-a-token",
        "empty header": "",
        "missing header": None,
        "oversized header": issuer.token(padding="x" * 20000),
        "name claim missing": issuer.token(preferred_username=None),
        "name claim not a string": issuer.token(preferred_username=["alice"]),
        "name claim empty": issuer.token(preferred_username="  "),
        "name claim invalid": issuer.token(preferred_username="alice/../bob"),
    }
    auth = authenticator(issuer, username_pattern=r"^[a-z][a-z0-9_.-]*$")
    assert reason in refused(auth, tokens[case], caplog)


def test_a_token_from_another_client_of_the_realm_is_refused_by_azp(
    issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    auth = authenticator(issuer, authorized_party=FRONT_CLIENT)
    assert "azp 'other-client'" in refused(auth, issuer.token(azp="other-client"), caplog)
    assert "azp None" in refused(auth, issuer.token(azp=None), caplog)


def test_a_good_token_from_an_untrusted_address_is_refused(
    issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    auth = authenticator(issuer)
    assert "untrusted address 10.1.2.3" in refused(auth, issuer.token(), caplog, "10.1.2.3")
    assert (
        login(authenticator(issuer, trusted_proxy_ips=["10.1.2.0/24"]), issuer.token(), "10.1.2.3")
        == "alice"
    )


def test_the_keys_are_fetched_once_and_made_up_key_ids_cannot_make_the_hub_hammer_the_provider(
    issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    auth = authenticator(issuer)
    before = issuer.jwks_fetches
    for _ in range(5):
        assert login(auth, issuer.token()) == "alice"
    assert issuer.jwks_fetches == before + 1
    attacker = new_key()
    for n in range(5):
        refused(auth, issuer.token(key=attacker, kid=f"made-up-{n}"), caplog)
    # At most one more fetch within jwks_refresh_seconds, whatever the kids.
    assert issuer.jwks_fetches <= before + 2


def test_a_rotated_key_is_fetched_when_a_token_names_it(issuer: Issuer) -> None:
    auth = authenticator(issuer, jwks_refresh_seconds=0)
    assert login(auth, issuer.token()) == "alice"
    old_key, old_kid = issuer.key, issuer.kid
    issuer.key, issuer.kid = new_key(), "rotated"
    try:
        assert login(auth, issuer.token()) == "alice"
        # The old key is no longer published: its tokens stop working.
        with pytest.raises(web.HTTPError) as refusal:
            login(auth, issuer.token(key=old_key, kid=old_kid))
        assert refusal.value.status_code == 403
    finally:
        issuer.key, issuer.kid = old_key, old_kid


def test_an_unreachable_provider_gets_a_clear_503_and_known_keys_keep_working() -> None:
    provider = Issuer(free_port())
    auth = authenticator(provider, jwks_refresh_seconds=0)
    # Not started yet: nothing listens on its port.
    with pytest.raises(web.HTTPError) as refusal:
        login(auth, provider.token())
    assert refusal.value.status_code == 503
    assert "login service cannot be reached" in str(refusal.value.jupyterhub_message)  # type: ignore[attr-defined]
    provider.start()
    try:
        assert login(auth, provider.token()) == "alice"
    finally:
        provider.stop()
    # Stopped again: the key already fetched still verifies; an unknown one gets the 503.
    assert login(auth, provider.token()) == "alice"
    with pytest.raises(web.HTTPError) as refusal:
        login(auth, provider.token(key=new_key(), kid="new"))
    assert refusal.value.status_code == 503


def test_a_discovery_document_for_another_issuer_is_not_trusted() -> None:
    provider = Issuer(free_port(), advertised_issuer="https://evil.example.org/realms/sdcc")
    provider.start()
    try:
        with pytest.raises(web.HTTPError) as refusal:
            login(authenticator(provider), provider.token())
    finally:
        provider.stop()
    assert refusal.value.status_code == 503
    assert "misconfigured" in str(refusal.value.jupyterhub_message)  # type: ignore[attr-defined]


def test_jwks_url_skips_discovery(issuer: Issuer) -> None:
    auth = authenticator(issuer, jwks_url=issuer.url + "/protocol/openid-connect/certs")
    assert login(auth, issuer.token()) == "alice"


def test_the_token_is_checked_again_on_browser_requests(issuer: Issuer) -> None:
    auth = authenticator(issuer)
    alice = type("U", (), {"name": "alice"})()
    assert asyncio.run(auth.refresh_user(alice, FakeHandler(issuer.token()))) is True
    # Same hub cookie, the front now passes bob's token: alice's session ends.
    bobs = FakeHandler(issuer.token(preferred_username="bob"))
    assert asyncio.run(auth.refresh_user(alice, bobs)) is False
    now = int(time.time())
    expired = FakeHandler(issuer.token(iat=now - 600, exp=now - 60))
    assert asyncio.run(auth.refresh_user(alice, expired)) is False
    assert asyncio.run(auth.refresh_user(alice, FakeHandler(None))) is False
    # API requests with a hub token (servers, services) carry no front header.
    api: Any = FakeHandler(None)
    api.get_token = lambda: "the hub's record of a valid API token"
    assert asyncio.run(auth.refresh_user(alice, api)) is True


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["RS256", "HS512"], []])
def test_only_public_key_algorithms_can_be_configured(algorithms: list[str]) -> None:
    with pytest.raises(Exception, match="public-key algorithms only"):
        OIDCTokenAuthenticator(algorithms=algorithms)


def test_issuer_and_audience_are_required_at_start(issuer: Issuer) -> None:
    with pytest.raises(ValueError, match="issuer must be set"):
        OIDCTokenAuthenticator(audience=AUDIENCE).get_handlers(None)
    with pytest.raises(ValueError, match="audience must be set"):
        OIDCTokenAuthenticator(issuer=issuer.url).get_handlers(None)
    with pytest.raises(Exception, match="not an http"):
        OIDCTokenAuthenticator(issuer="login.example.org/realms/sdcc")
    handlers = authenticator(issuer).get_handlers(None)
    assert [path for path, _ in handlers] == ["/logout"]


def raw_token(issuer: Issuer, header: Any, payload: Any) -> str:
    """A token with any JSON as header and payload, signed properly by the provider."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    signature = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).sign(
        f"{head}.{body}".encode(), issuer.key
    )
    return f"{head}.{body}.{b64(signature)}"


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({"alg": "RS256"}, {"exp": "soon"}),
        ({"alg": "RS256"}, {"aud": 5}),
        ({"alg": "RS256"}, {"aud": {"sdcc-hub": True}}),
        ({"alg": "RS256"}, {"iss": ["http://x"]}),
        ({"alg": "RS256"}, {"nbf": "later"}),
        ({"alg": "RS256"}, {"iat": [1]}),
        ({"alg": "RS256"}, {"azp": {"a": 1}}),
        ({"alg": "RS256"}, {"preferred_username": 42}),
        # JupyterHub's own name rules, without any username_pattern:
        ({"alg": "RS256"}, {"preferred_username": ".."}),
        ({"alg": "RS256"}, {"preferred_username": "alice/../bob"}),
        ({"alg": ["RS256"]}, {}),
        ({"alg": "RS256", "kid": 7}, {}),
        ({"alg": "RS256", "kid": ["x"]}, {}),
        ({"alg": "RS256", "crit": ["exp"]}, {}),
        ("not an object", {}),
        ({"alg": "RS256"}, "not an object"),
        ({"alg": "RS256"}, [1, 2]),
    ],
)
def test_claims_and_headers_of_the_wrong_shape_get_a_403_not_a_500(
    issuer: Issuer, header: Any, claims: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if isinstance(header, dict):
        header = {"kid": issuer.kid, "typ": "JWT", **header}
    if isinstance(claims, dict):
        claims = issuer.claims(**claims)
    auth = authenticator(issuer, authorized_party=FRONT_CLIENT)
    refused(auth, raw_token(issuer, header, claims), caplog)


def test_the_signing_helper_of_these_tests_makes_tokens_the_hub_accepts(issuer: Issuer) -> None:
    """The control for the test above: the same helper, well-formed, logs alice in."""
    header = {"alg": "RS256", "typ": "JWT", "kid": issuer.kid}
    assert login(authenticator(issuer), raw_token(issuer, header, issuer.claims())) == "alice"
