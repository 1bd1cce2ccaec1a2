"""``HeaderAuthenticator``: log in users that the site's front proxy authenticated.

The front proxy (Apache with Keycloak/OpenID Connect, or any MFA gateway) does
the login and passes the user name in a header. The hub believes that header
only when all of these hold:

- the request carries the proxy's shared secret in ``secret_header`` (read
  from ``secret_file``, which only the hub may read);
- the request's TCP peer — never ``X-Forwarded-For`` or ``X-Real-Ip`` — is
  one of ``trusted_proxy_ips`` (the front proxy's address);
- the mapped name passes ``header_name_pattern`` and JupyterHub's own
  ``allowed_users``/groups checks.

The front proxy must send these headers only on requests it sends straight to
the hub's own port (``hub_bind_url``), never through configurable-http-proxy,
which also routes to users' servers: examples/apache-header-auth shows how.

Anything else gets a 403 page that says how to reach the portal; no one is
ever logged in by default. The header is checked again on browser requests
(``auth_refresh_age``, 1 s by default), so when the proxy's user changes the
old hub session ends. Logging out sends the browser to the proxy's logout
URL, so the proxy's session ends too.

``FrontProxyAuthenticator`` holds what does not depend on how the front
vouches for the user (the peer check, the refusal page, the re-check, the
logout); ``sdcc_lab.hub.tokenauth.OIDCTokenAuthenticator`` builds on it too.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import stat
from typing import Any

from jupyterhub.auth import Authenticator
from jupyterhub.handlers.login import LogoutHandler
from tornado import web
from traitlets import Bool, List, Unicode, default, validate

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyLoginRequired(web.HTTPError):
    """403 with a message that tells the user where the portal is."""

    def __init__(self, message: str) -> None:
        super().__init__(403, message)
        self.jupyterhub_message = message


class FrontLogoutHandler(LogoutHandler):  # type: ignore[misc]  # JupyterHub is untyped
    """Log out of the hub, then out of the front proxy."""

    async def render_logout_page(self) -> None:
        url = self.authenticator.proxy_logout_url
        if url:
            self.redirect(url, permanent=False)
        else:
            await super().render_logout_page()


HeaderLogoutHandler = FrontLogoutHandler  # its name before FrontProxyAuthenticator


class FrontProxyAuthenticator(Authenticator):  # type: ignore[misc]  # JupyterHub is untyped
    """What every login through the site's front proxy shares.

    Subclasses say who the front vouches for in ``request_user`` (raising the
    403 of ``refuse`` when it vouches for no one); this class checks the
    request's TCP peer against ``trusted_proxy_ips`` (``check_peer``), logs in
    without a form (``auto_login``), checks the front's user again on browser
    requests (``refresh_user``) and sends logouts on to the front's logout URL.
    """

    trusted_proxy_ips = List(
        Unicode(),
        ["127.0.0.1/32", "::1/128"],
        help="""Addresses (or networks) the hub accepts the headers from, judged on the
        TCP peer of the request: the front proxy's address, as the hub's own port
        (``hub_bind_url``) sees it. With the front proxy on the hub's node that is
        127.0.0.1, which every local process shares: the secret (or the signed
        token) is then the gate, and this check keeps other machines out (bind
        configurable-http-proxy to 127.0.0.1 too, or it would relay them from
        127.0.0.1).""",
    ).tag(config=True)

    lowercase_names = Bool(
        True, help="Lower-case the user name from the header before anything else."
    ).tag(config=True)

    portal_url = Unicode(
        "",
        help="""The URL users should use to reach the portal (the front proxy's), shown
        on the 403 page of a request that did not come through it.""",
    ).tag(config=True)

    proxy_logout_url = Unicode(
        "",
        help="""Where the browser goes after logging out of the hub, so that it logs out
        of the front proxy too (e.g. the OpenID Connect module's logout URL).""",
    ).tag(config=True)

    @default("auto_login")
    def _default_auto_login(self) -> bool:
        return True

    @default("auth_refresh_age")
    def _default_auth_refresh_age(self) -> int:
        # Check the proxy's header again on (nearly) every browser request.
        return 1

    @validate("trusted_proxy_ips")
    def _validate_trusted(self, proposal: Any) -> list[str]:
        for value in proposal["value"]:
            ipaddress.ip_network(value, strict=False)  # raises on a bad entry
        return list(proposal["value"])

    def _trusted_networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(v, strict=False) for v in self.trusted_proxy_ips]

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        return [("/logout", FrontLogoutHandler)]

    def refuse(self, why: str) -> ProxyLoginRequired:
        """The 403 for a request the front did not vouch for; ``why`` goes to the log only."""
        where = (
            f" Please go to the portal at {self.portal_url}."
            if self.portal_url
            else (" Please go through the portal's login page.")
        )
        self.log.warning("%s login refused: %s", type(self).__name__, why)
        return ProxyLoginRequired(f"This hub only accepts logins through the site's portal.{where}")

    def check_peer(self, handler: Any) -> None:
        """Refuse a request whose TCP peer is not one of ``trusted_proxy_ips``."""
        peer = handler.request.connection.context.address
        peer_ip = peer[0] if isinstance(peer, tuple) else None
        try:
            address = ipaddress.ip_address(peer_ip) if peer_ip else None
        except ValueError:
            address = None
        if address is None or not any(address in net for net in self._trusted_networks()):
            raise self.refuse(f"request from untrusted address {peer_ip}")

    async def request_user(self, handler: Any) -> str:
        """The user the front vouches for in this request, or raise ``refuse(...)``."""
        raise NotImplementedError

    async def authenticate(self, handler: Any, data: Any = None) -> str | None:
        return await self.request_user(handler)

    async def refresh_user(self, user: Any, handler: Any = None) -> bool:
        if handler is None or handler.get_token() is not None:
            # API requests with a token (servers, services) carry no proxy header.
            # The hub's handlers take a valid token's user first (get_token: the
            # token of the Authorization header, None when there is none).
            return True
        try:
            name = self.normalize_username(await self.request_user(handler))
        except web.HTTPError:
            return False
        if name != user.name:
            self.log.info("the proxy's user changed from %s to %s: new login", user.name, name)
            return False
        return True


class HeaderAuthenticator(FrontProxyAuthenticator):
    """Trust a user-name header set by the site's front proxy (see the module docstring)."""

    user_header = Unicode(
        "X-Remote-User",
        help="""Header in which the front proxy passes the authenticated user name.

        c.HeaderAuthenticator.user_header = "X-Remote-User"
        """,
    ).tag(config=True)

    secret_header = Unicode(
        "X-Proxy-Secret",
        help="""Header in which the front proxy passes the shared secret.""",
    ).tag(config=True)

    secret_file = Unicode(
        "",
        help="""File holding the shared secret (one line). It must be readable by the
        hub's user only (mode 0600 or stricter): the hub refuses to start otherwise.

        c.HeaderAuthenticator.secret_file = "/etc/jupyterhub/proxy-secret"
        """,
    ).tag(config=True)

    header_name_pattern = Unicode(
        "",
        help="""Optional regular expression the header's name must match in full; if it
        has a group named ``username``, that group becomes the JupyterHub user name.
        E.g. require and strip the site's Kerberos realm:
        ``^(?P<username>[a-z0-9_.-]+)@bnl\\.gov$``. Make the realm required, not
        optional: with ``(@bnl\\.gov)?`` the names ``alice`` and ``alice@bnl.gov``
        (perhaps two people, from two identity sources) become one hub user.
        (Separate from JupyterHub's own ``username_pattern``, which then checks the
        resulting name.)""",
    ).tag(config=True)

    _secret: bytes | None = None

    def read_secret(self) -> bytes:
        if self._secret is None:
            if not self.secret_file:
                raise ValueError("HeaderAuthenticator.secret_file must be set")
            info = os.stat(self.secret_file)
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ValueError(f"{self.secret_file} is readable by other users: chmod 600 it")
            with open(self.secret_file, "rb") as f:
                secret = f.read().strip()
            if len(secret) < 16:
                raise ValueError(f"{self.secret_file} holds a secret shorter than 16 bytes")
            self._secret = secret
        return self._secret

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        # Fail at start-up, not at the first login, when the secret is unusable.
        self.read_secret()
        return super().get_handlers(app)

    def user_from_request(self, handler: Any) -> str:
        """The user the front proxy vouches for, or raise the 403 that says why not."""
        self.check_peer(handler)
        sent = handler.request.headers.get(self.secret_header, "").encode()
        if not sent or not hmac.compare_digest(sent, self.read_secret()):
            raise self.refuse(f"missing or wrong {self.secret_header}")
        name = str(handler.request.headers.get(self.user_header, "")).strip()
        if not name:
            raise self.refuse(f"no {self.user_header} header")
        if self.lowercase_names:
            name = name.lower()
        if self.header_name_pattern:
            match = re.fullmatch(self.header_name_pattern, name)
            if not match:
                raise self.refuse(f"user name {name!r} does not match header_name_pattern")
            name = str(match.groupdict().get("username") or name)
        return name

    async def request_user(self, handler: Any) -> str:
        return self.user_from_request(handler)
