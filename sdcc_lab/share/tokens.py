"""Share-link tokens: itsdangerous timed signatures with rotating keys.

The service holds a list of secret keys, **newest first**. New tokens are
signed with the newest key; a token verifies against any key in the list, so
a key can be rotated in (put first) without breaking live links, and rotated
out (removed) to invalidate every token it signed.

A token carries ``{"id", "owner", "path", "environment"}``. The signature only
proves that the service minted the token; expiry and revocation live in the
store (the record is the authority).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "sdcc-lab.share-link.v1"
MAX_TOKEN_LENGTH = 8192
TOKEN_RE = re.compile(rf"^[A-Za-z0-9_\-.]{{16,{MAX_TOKEN_LENGTH}}}$")
# Room for what differs between links of the same path and environment (id, timestamp).
_TOKEN_MARGIN = 64


class TokenError(Exception):
    """The token is malformed, forged or signed by a key the service no longer has."""


@dataclass(frozen=True)
class TokenClaims:
    id: str
    owner: str
    path: str
    environment: dict[str, Any]


class ShareSigner:
    """Sign and verify share tokens with a list of keys, newest first."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        usable = [k.decode() if isinstance(k, bytes) else k for k in keys if k]
        if not usable:
            raise ValueError("the share service needs at least one secret key")
        # itsdangerous wants the oldest key first and signs with the last one.
        self._serializer = URLSafeTimedSerializer(list(reversed(usable)), salt=SALT)

    def sign(self, claims: TokenClaims) -> str:
        payload = {"i": claims.id, "o": claims.owner, "p": claims.path, "e": claims.environment}
        return str(self._serializer.dumps(payload))

    def fits(self, claims: TokenClaims) -> bool:
        """Whether a token of these claims stays short enough for :meth:`verify`
        (the token carries the path and the environment)."""
        return len(self.sign(claims)) <= MAX_TOKEN_LENGTH - _TOKEN_MARGIN

    def verify(self, token: str) -> TokenClaims:
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise TokenError("this is not a share link token")
        try:
            data = self._serializer.loads(token)
        except BadData as e:  # BadSignature, BadPayload, BadTimeSignature, …
            raise TokenError("the share link's signature is not valid") from e
        if not isinstance(data, dict):
            raise TokenError("the share link's content is not valid")
        try:
            claims = TokenClaims(
                id=str(data["i"]),
                owner=str(data["o"]),
                path=str(data["p"]),
                environment=dict(data.get("e") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise TokenError("the share link's content is not valid") from e
        return claims
