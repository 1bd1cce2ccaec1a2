"""A stand-in OpenID Connect provider for the token tests: RSA keys of the test's
own, published as a JWKS behind a discovery document by a small tornado server,
as a Keycloak realm publishes its keys (tests/test_tokenauth.py,
tests/security/test_token_bypass.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

AUDIENCE = "sdcc-hub"
FRONT_CLIENT = "sdcc-front"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256", **extra}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Issuer:
    """A stand-in OpenID Connect provider: discovery document and JWKS over HTTP."""

    port: int
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Also published: Keycloak's encryption key is listed next to its signing key.
    enc_key: rsa.RSAPrivateKey = field(default_factory=new_key)
    jwks_fetches: int = 0
    advertised_issuer: str = ""  # what the discovery document claims, if not ``url``
    _loop: asyncio.AbstractEventLoop | None = None
    _server: HTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/realms/sdcc"

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                public_jwk(self.enc_key, "enc-key", use="enc", alg="RSA-OAEP"),
                public_jwk(self.key, self.kid),
            ]
        }

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": [AUDIENCE, "account"],
            "azp": FRONT_CLIENT,
            "typ": "Bearer",
            "sub": str(uuid.uuid4()),
            "preferred_username": "alice",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **overrides: Any,
    ) -> str:
        """A token for alice (``overrides`` change or, with None, drop claims)."""
        return jwt.encode(
            self.claims(**overrides),
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )

    def forged_token(self, alg: str, sign: Callable[[bytes], bytes] = lambda _: b"") -> str:
        """A token for alice with header ``alg``, its signature made by ``sign``."""
        header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": self.kid}).encode())
        body = b64(json.dumps(self.claims()).encode())
        return f"{header}.{body}.{b64(sign(f'{header}.{body}'.encode()))}"

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # --- the server ---------------------------------------------------------------
    def start(self) -> None:
        issuer = self

        class Discovery(web.RequestHandler):
            def get(self) -> None:
                self.write(
                    {
                        "issuer": issuer.advertised_issuer or issuer.url,
                        "jwks_uri": issuer.url + "/protocol/openid-connect/certs",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                )

        class Certs(web.RequestHandler):
            def get(self) -> None:
                issuer.jwks_fetches += 1
                self.write(issuer.jwks())

        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            app = web.Application(
                [
                    ("/realms/sdcc/.well-known/openid-configuration", Discovery),
                    ("/realms/sdcc/protocol/openid-connect/certs", Certs),
                ]
            )
            self._server = HTTPServer(app)
            self._server.add_sockets(bind_sockets(self.port, "127.0.0.1"))
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        assert ready.wait(10)

    def stop(self) -> None:
        """Stop serving (the port then refuses connections, as a stopped Keycloak's)."""
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return
        done = threading.Event()

        def shut() -> None:
            server.stop()
            loop.stop()
            done.set()

        loop.call_soon_threadsafe(shut)
        assert done.wait(10)
        self._loop = self._server = None
