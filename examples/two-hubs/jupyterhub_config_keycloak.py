"""One of several hubs behind one portal that logs in through Keycloak.

As jupyterhub_config.py here, with the hub checking the Keycloak access token
the front passes (sdcc_lab.hub.OIDCTokenAuthenticator) instead of a shared
secret. Values come from ``SDCC_*`` environment variables here only so that
the tests can pick free ports and folders; a site writes its own.
"""

import os
import urllib.parse

c = get_config()  # noqa: F821
portal = os.environ["SDCC_PORTAL_URL"]  # the front's URL, ending in /

c.JupyterHub.authenticator_class = "sdcc_lab.hub.OIDCTokenAuthenticator"
c.OIDCTokenAuthenticator.issuer = os.environ["SDCC_OIDC_ISSUER"]  # PORTAL/kc/realms/sdcc
c.OIDCTokenAuthenticator.jwks_url = os.environ.get("SDCC_OIDC_JWKS_URL", "")
c.OIDCTokenAuthenticator.audience = "sdcc-hub"
c.OIDCTokenAuthenticator.authorized_party = os.environ["SDCC_OIDC_CLIENT_ID"]
c.OIDCTokenAuthenticator.trusted_proxy_ips = ["127.0.0.1"]
c.OIDCTokenAuthenticator.portal_url = portal
c.OIDCTokenAuthenticator.proxy_logout_url = (
    f"{portal}oidc/callback?logout={urllib.parse.quote(portal, safe='')}"
)

c.ShareService.db_url = os.environ["SDCC_SHARE_DB_URL"]  # postgresql+psycopg2://…
c.ShareService.keys_file = os.environ["SDCC_SHARE_KEYS_FILE"]  # the same keys on every hub
c.ShareService.snapshot_dir = os.environ["SDCC_SHARE_SNAPSHOTS"]  # a folder every hub mounts
c.ShareService.public_url = portal  # links open through the portal
