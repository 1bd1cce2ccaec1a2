"""The ``sdcc`` realm: realm.json (settings, the front's client) plus the demo users.

realm.json is the file a site imports (docs/admin-guide.md shows it); its
``${name}`` placeholders are filled here. Users are added as Keycloak's
realm representation lists them: a password, and either a one-time-code
credential (the secret the demo prints) or the required action
``CONFIGURE_TOTP`` (Keycloak's QR enrolment page at first login).
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REALM = "sdcc"
CLIENT_ID = "sdcc-front"
HUB_AUDIENCE = "sdcc-hub"
REALM_FILE = Path(__file__).with_name("realm.json")
# mod_auth_openidc's callback, under the protected area; nothing else serves it.
REDIRECT_PATH = "oidc/callback"
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class FrontUser:
    """A realm user: ``totp_secret`` is base32 ("" for a user who enrols at first login)."""

    name: str
    password: str
    totp_secret: str = ""

    @property
    def enrols(self) -> bool:
        return not self.totp_secret


def new_totp_secret() -> tuple[str, str]:
    """(Keycloak's stored value, the base32 an authenticator app takes).

    Keycloak keys HMAC with the UTF-8 bytes of the stored value, and shows
    apps their base32; an ASCII value keeps the two the same bytes.
    """
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    return raw, base64.b32encode(raw.encode()).decode().rstrip("=")


def raw_secret(totp_secret: str) -> str:
    """The stored value of a base32 secret made by :func:`new_totp_secret`."""
    padded = totp_secret + "=" * (-len(totp_secret) % 8)
    return base64.b32decode(padded).decode()


def new_user(name: str, enrol: bool = False) -> FrontUser:
    return FrontUser(
        name=name,
        password=secrets.token_urlsafe(12),
        totp_secret="" if enrol else new_totp_secret()[1],
    )


def user_representation(user: FrontUser) -> dict[str, Any]:
    credentials: list[dict[str, Any]] = [
        {"type": "password", "value": user.password, "temporary": False}
    ]
    if user.totp_secret:
        credentials.append(
            {
                "type": "otp",
                "userLabel": "authenticator app",
                "secretData": json.dumps({"value": raw_secret(user.totp_secret)}),
                "credentialData": json.dumps(
                    {
                        "subType": "totp",
                        "digits": 6,
                        "period": 30,
                        "counter": 0,
                        "algorithm": "HmacSHA1",
                    }
                ),
            }
        )
    return {
        "username": user.name,
        "enabled": True,
        # Keycloak's user profile asks for these at login when they are missing.
        "email": f"{user.name}@example.org",
        "emailVerified": True,
        "firstName": user.name,
        "lastName": "Demo",
        "credentials": credentials,
        "requiredActions": ["CONFIGURE_TOTP"] if user.enrols else [],
    }


def realm_representation(
    portal_url: str,
    client_secret: str,
    users: list[FrontUser],
    ssl_required: str = "none",
) -> dict[str, Any]:
    """realm.json for the front at ``portal_url`` (ending in /), with ``users``."""
    values = {
        "ssl_required": ssl_required,
        "client_id": CLIENT_ID,
        "client_secret": client_secret,
        "redirect_uri": portal_url + REDIRECT_PATH,
        "portal_url": portal_url,
        "hub_audience": HUB_AUDIENCE,
    }
    # Each value is put in as a JSON string's content: quotes or backslashes stay data.
    text = string.Template(REALM_FILE.read_text()).substitute(
        {k: json.dumps(v)[1:-1] for k, v in values.items()}
    )
    realm: dict[str, Any] = json.loads(text)
    realm["users"] = [user_representation(u) for u in users]
    return realm
