"""The hub behind the example front proxy.

Used as is by the tests (``sdcc-lab demo --config`` applies it over the demo's
settings); a site copies the authenticator lines into its own configuration.
``SDCC_PROXY_SECRET_FILE`` and ``SDCC_PORTAL_URL`` come from the environment
here only so that the tests can pick free ports and folders.
"""

import os

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = "sdcc_lab.hub.HeaderAuthenticator"
c.HeaderAuthenticator.user_header = "X-Remote-User"
c.HeaderAuthenticator.secret_header = "X-Proxy-Secret"
c.HeaderAuthenticator.secret_file = os.environ["SDCC_PROXY_SECRET_FILE"]  # mode 600
# Apache, as the hub's own port sees it (Apache sends /hub/ there, not through
# configurable-http-proxy). The demo binds the hub and the proxy to 127.0.0.1;
# a site sets c.JupyterHub.bind_url / hub_bind_url so (docs/admin-guide.md).
c.HeaderAuthenticator.trusted_proxy_ips = ["127.0.0.1"]
c.HeaderAuthenticator.portal_url = os.environ.get("SDCC_PORTAL_URL", "")
c.HeaderAuthenticator.proxy_logout_url = os.environ.get("SDCC_PORTAL_URL", "") + "logout"
