"""``OIDCTokenAuthenticator``: log in users whose front proxy passes the provider's token.

The site's front proxy (Apache with mod_auth_openidc, backed by Keycloak) logs
the user in and passes the OpenID Connect provider's access token to the hub in
a header (``OIDC_access_token``, mod_auth_openidc's own). Unlike a user-name
header with a shared secret, that token is per-user, short-lived and signed by
the provider: the hub checks it itself and believes it only when all of these
hold:

- the request's TCP peer is one of ``trusted_proxy_ips`` (as for
  ``HeaderAuthenticator``, whose base class this shares);
- the token is signed with one of the provider's published keys (its JWKS,
  found through ``issuer`` + ``/.well-known/openid-configuration``), with one
  of ``algorithms`` (asymmetric only: never ``none``, never a shared-secret
  HMAC, which would let the public key serve as the secret);
- ``iss`` is ``issuer``, ``aud`` contains ``audience``, ``exp``/``nbf`` hold
  (give or take ``leeway_seconds``) and, if ``authorized_party`` is set, ``azp``
  is the front's client;
- the name in ``username_claim`` passes JupyterHub's own name checks.

Anything else gets the same 403 page as ``HeaderAuthenticator`` (the reason
goes to the hub's log); a provider that cannot be reached when its keys are
needed gets a 503 page that says so. The token is checked again on browser
requests, so a hub cookie for alice with a front now passing bob's token ends.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tornado import web
from tornado.httpclient import HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient
from traitlets import Bool, Float, Integer, List, Unicode, validate

from .headerauth import FrontProxyAuthenticator

# Signatures the hub accepts: public-key ones only. An HMAC (HS*) verified with
# a key taken from the JWKS would accept tokens "signed" with the public key.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_KEYS = 50  # a realm publishes a handful; more is a broken or hostile JWKS
MAX_DOCUMENT_BYTES = 1 << 20  # the discovery document and the JWKS


class ProviderUnavailable(web.HTTPError):
    """503: the provider's keys are needed and cannot be fetched."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message)
        self.jupyterhub_message = message


class OIDCTokenAuthenticator(FrontProxyAuthenticator):
    """Verify the provider's access token the front proxy passes (see the module docstring)."""

    token_header = Unicode(
        "OIDC_access_token",
        help="""Header in which the front proxy passes the provider's access token (the
        bare JWT). mod_auth_openidc sets ``OIDC_access_token`` when
        ``OIDCPassIDTokenAs``/``OIDCPassClaimsAs`` pass headers.""",
    ).tag(config=True)

    max_token_bytes = Integer(
        16384,
        help="""Longest token accepted; a longer header is refused before any parsing.""",
    ).tag(config=True)

    issuer = Unicode(
        "",
        help="""The provider's issuer URL, exactly as in the tokens' ``iss`` claim, e.g.
        ``https://login.example.org/realms/sdcc`` for a Keycloak realm. The keys are
        found through ``<issuer>/.well-known/openid-configuration``. Required.""",
    ).tag(config=True)

    jwks_url = Unicode(
        "",
        help="""The provider's key set URL, when the hub must reach it at another address
        than the issuer's (e.g. an internal one). Empty: the discovery document's
        ``jwks_uri``.""",
    ).tag(config=True)

    audience = Unicode(
        "",
        help="""A value the token's ``aud`` claim must contain: the hub's audience, which
        the provider adds to the front's tokens (Keycloak: an audience mapper on the
        front's client). Tokens the provider issued for other clients lack it.
        Required.""",
    ).tag(config=True)

    authorized_party = Unicode(
        "",
        help="""If set, the token's ``azp`` claim must be this: the front proxy's client id,
        so that tokens obtained by other clients of the realm are refused even when
        they carry the hub's audience.""",
    ).tag(config=True)

    algorithms = List(
        Unicode(),
        ["RS256"],
        help=f"""Signature algorithms accepted (public-key ones only:
        {", ".join(sorted(ASYMMETRIC_ALGORITHMS))}).""",
    ).tag(config=True)

    leeway_seconds = Float(
        10.0, help="Clock difference allowed when checking ``exp``, ``nbf`` and ``iat``."
    ).tag(config=True)

    username_claim = Unicode(
        "preferred_username",
        help="""Claim that holds the user name. The name is lower-cased if
        ``lowercase_names``, then checked with JupyterHub's ``username_pattern`` and
        allowed users.""",
    ).tag(config=True)

    jwks_refresh_seconds = Float(
        30.0,
        help="""Shortest time between two fetches of the key set when a token names a key
        the hub does not know (the provider rotated its keys), so that tokens with
        made-up key ids cannot make the hub hammer the provider.""",
    ).tag(config=True)

    jwks_max_age_seconds = Float(
        3600.0,
        help="""Age after which the key set is fetched again, so that keys the provider
        withdrew stop being accepted.""",
    ).tag(config=True)

    http_timeout_seconds = Float(
        10.0, help="Time allowed to fetch the discovery document or the key set."
    ).tag(config=True)

    ca_certs = Unicode(
        "",
        help="""CA bundle to check the provider's HTTPS certificate with (empty: the
        system's).""",
    ).tag(config=True)

    validate_cert = Bool(
        True, help="Check the provider's HTTPS certificate. Leave on outside tests."
    ).tag(config=True)

    @validate("algorithms")
    def _validate_algorithms(self, proposal: Any) -> list[str]:
        chosen = list(proposal["value"])
        wrong = [a for a in chosen if a not in ASYMMETRIC_ALGORITHMS]
        if wrong or not chosen:
            raise ValueError(
                f"OIDCTokenAuthenticator.algorithms: {wrong or 'empty'}; "
                f"use public-key algorithms only ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        return chosen

    @validate("issuer")
    def _validate_issuer(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"OIDCTokenAuthenticator.issuer {value!r} is not an http(s) URL")
        return value

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._keys: dict[str, dict[str, Any]] = {}  # kid -> JWK
        self._fetched_at = -float("inf")  # monotonic time of the last fetch attempt
        self._fetch_error: str | None = None  # the last fetch's failure, shown as a 503
        self._fetch_lock = asyncio.Lock()

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        # Fail at start-up, not at the first login, when the settings are incomplete.
        if not self.issuer:
            raise ValueError("OIDCTokenAuthenticator.issuer must be set")
        if not self.audience:
            raise ValueError("OIDCTokenAuthenticator.audience must be set")
        return super().get_handlers(app)

    # --- the provider's keys ------------------------------------------------------
    async def _get_json(self, url: str) -> Any:
        request = HTTPRequest(
            url,
            connect_timeout=self.http_timeout_seconds,
            request_timeout=self.http_timeout_seconds,
            ca_certs=self.ca_certs or None,
            validate_cert=self.validate_cert,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )
        # A client of our own: the hub's shared AsyncHTTPClient may be curl's, which
        # has no body size limit.
        client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_DOCUMENT_BYTES)
        try:
            response = await client.fetch(request)
            return json.loads(response.body)
        except Exception as e:  # refused, timeout, TLS, HTTP error, too big, not JSON
            self.log.error("cannot fetch %s from the identity provider: %s", url, e)
            raise ProviderUnavailable(
                "The site's login service cannot be reached just now, so the hub cannot "
                "check your login. Please try again in a few minutes."
            ) from e
        finally:
            client.close()

    async def _fetch_keys(self) -> None:
        jwks_url = self.jwks_url
        if not jwks_url:
            discovery = await self._get_json(
                self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            )
            # OpenID Connect Discovery: the document must name the same issuer.
            if not isinstance(discovery, dict) or discovery.get("issuer") != self.issuer:
                self.log.error("the provider's discovery document is not for %s", self.issuer)
                raise ProviderUnavailable("The site's login service is misconfigured.")
            jwks_url = str(discovery.get("jwks_uri") or "")
        document = await self._get_json(jwks_url)
        listed = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            self.log.error("%s holds no key list", jwks_url)
            raise ProviderUnavailable("The site's login service is misconfigured.")
        keys: dict[str, dict[str, Any]] = {}
        for jwk in listed[:MAX_KEYS]:
            # Keycloak also lists an encryption key; only signing keys verify tokens.
            usable = isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)
            if usable and jwk.get("use", "sig") == "sig":
                keys[jwk["kid"]] = jwk
        self._keys = keys
        self.log.info("fetched %d signing key(s) from %s", len(keys), jwks_url)

    async def _key_for(self, kid: str) -> dict[str, Any] | None:
        """The provider's key ``kid``, fetching the key set when needed (rate-limited)."""
        async with self._fetch_lock:  # concurrent logins share one fetch
            age = time.monotonic() - self._fetched_at
            known = kid in self._keys and self._fetch_error is None
            if age > (self.jwks_max_age_seconds if known else self.jwks_refresh_seconds):
                self._fetched_at = time.monotonic()
                try:
                    await self._fetch_keys()
                    self._fetch_error = None
                except ProviderUnavailable as e:
                    # Keys already fetched keep working while the provider is down.
                    self._fetch_error = e.jupyterhub_message
            if kid in self._keys:
                return self._keys[kid]
            if self._fetch_error is not None:
                raise ProviderUnavailable(self._fetch_error)
            return None

    # --- the token ------------------------------------------------------------------
    async def verify_token(self, token: str) -> dict[str, Any]:
        """The token's claims when it is valid for this hub, else raise ``refuse(...)``."""
        # Imported here: sdcc_lab.hub is also imported inside batch jobs, whose
        # environment has no PyJWT (only hubs that use this authenticator need it).
        import jwt

        if len(token) > self.max_token_bytes:
            raise self.refuse(f"{self.token_header} is longer than {self.max_token_bytes} bytes")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise self.refuse(f"{self.token_header} is not a JWT: {e}") from e
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise self.refuse(f"token algorithm {alg!r} is not one of {self.algorithms}")
        if not isinstance(kid, str) or not kid:
            raise self.refuse("token names no signing key (kid)")
        jwk = await self._key_for(kid)
        if jwk is None:
            raise self.refuse(f"token signed with unknown key {kid!r}")
        try:
            # The key is bound to one algorithm: the JWK's own, else the allowed header's.
            key = jwt.PyJWK(jwk, algorithm=jwk.get("alg") or alg)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud"], "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as e:
            raise self.refuse(f"token refused: {type(e).__name__}: {e}") from e
        if self.authorized_party and claims.get("azp") != self.authorized_party:
            raise self.refuse(f"token's azp {claims.get('azp')!r} is not {self.authorized_party}")
        return claims

    async def request_user(self, handler: Any) -> str:
        self.check_peer(handler)
        token = str(handler.request.headers.get(self.token_header, "")).strip()
        if not token:
            raise self.refuse(f"no {self.token_header} header")
        claims = await self.verify_token(token)
        name = claims.get(self.username_claim)
        if not isinstance(name, str) or not name.strip():
            raise self.refuse(f"token has no {self.username_claim} claim")
        name = name.strip()
        if self.lowercase_names:
            name = name.lower()
        # JupyterHub checks the name again after login; checking here as well lets
        # the re-check of browser requests (refresh_user) refuse a bad name too.
        if not self.validate_username(self.normalize_username(name)):
            raise self.refuse(f"user name {name!r} from the token is not a valid hub user name")
        return name
