"""The portal's multi-factor front: Keycloak (password and one-time code) and Apache
with mod_auth_openidc, as ``sdcc-lab demo --mfa``, the tests and a site run them.

- :mod:`.keycloak`: fetch Keycloak once (Maven Central, cached), run it, import a realm;
- :mod:`.realm`: the ``sdcc`` realm (``realm.json``) and its users;
- :mod:`.apache`: Apache with ``httpd.conf`` (mod_auth_openidc), via examples/ run.sh;
- :mod:`.stack`: all of it for one portal (:class:`MfaFront`).
"""

from .keycloak import Keycloak, KeycloakError, fetch_keycloak
from .realm import FrontUser, new_user
from .stack import MfaFront

__all__ = ["FrontUser", "Keycloak", "KeycloakError", "MfaFront", "fetch_keycloak", "new_user"]
