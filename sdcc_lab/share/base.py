"""What every handler of the share service shares: authentication through the
hub (async, in ``prepare``), the service's parts, the share model, and the one
way errors are written (``{"message"}``; pages render the same message).

The handlers depend on :mod:`.settings`, never on :mod:`.app`: the application
imports the handlers, not the other way round.
"""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus
from typing import Any, cast

from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
from tornado import web

from . import pages
from .settings import ShareSettings
from .store import ShareInfo, ShareStore
from .tokens import ShareSigner, TokenClaims, TokenError

CHUNK = 256 * 1024
SHARE_HEADER = "X-Sdcc-Share"


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def error_message(status_code: int, exc_info: Any = None) -> str:
    """What an error says: the ``HTTPError``'s message, else the status's standard phrase."""
    exc = exc_info[1] if exc_info else None
    if isinstance(exc, web.HTTPError) and exc.log_message:
        return exc.log_message % exc.args if exc.args else exc.log_message
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Unknown error"


class ShareBase(HubOAuthenticated, web.RequestHandler):  # type: ignore[misc]  # JupyterHub is untyped
    """Authentication (async, in ``prepare``) and access to the service's parts."""

    @property
    def service(self) -> ShareSettings:
        return cast(ShareSettings, self.settings["share_service"])

    @property
    def store(self) -> ShareStore:
        return cast(ShareStore, self.settings["share_store"])

    @property
    def signer(self) -> ShareSigner:
        return cast(ShareSigner, self.settings["share_signer"])

    @property
    def prefix(self) -> str:
        return str(self.settings["share_prefix"])

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]

    async def prepare(self) -> None:
        self.current_user = self.allowed(await self.hub_auth.get_user(self, sync=False))

    def allowed(self, model: dict[str, Any] | None) -> dict[str, Any] | None:
        """The hub's user model if it may use the service; None for nobody; 403 without the scope."""
        if not model:
            return None
        try:
            user: dict[str, Any] = self.check_hub_user(model)
        except UserNotAllowed:  # authenticated, but without the scope
            raise web.HTTPError(403, f"{model.get('name')} may not use the share service") from None
        return user

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The service's one error path: every refusal is a ``web.HTTPError``."""
        if status_code == 405:  # RFC 9110: a 405 says which methods the URL has
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.finish_error(status_code, error_message(status_code, kwargs.get("exc_info")))

    def allowed_methods(self) -> list[str]:
        """The methods this handler answers itself (tornado answers the others 405)."""
        own = type(self)
        return [
            m
            for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            if getattr(own, m.lower()) is not getattr(web.RequestHandler, m.lower())
        ]

    def finish_error(self, status_code: int, message: str) -> None:
        """Write the error: ``{"message"}`` as JSON here; pages render it as HTML."""
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    @property
    def user_name(self) -> str:
        return str(self.current_user["name"])

    def is_admin(self) -> bool:
        """A hub admin: the ``admin`` flag the hub reports for every token it
        identifies (``read:users:name`` of the identify scopes), never a name list."""
        user = self.current_user or {}
        return user.get("admin") is True

    # --- shares ------------------------------------------------------------------
    def token_for(self, share: ShareInfo) -> str:
        return self.signer.sign(TokenClaims(share.id, share.owner, share.path, share.environment))

    def url_for(self, token: str) -> str:
        # In the fragment: browsers never send it, so no access log holds the token.
        return f"{self.service.public_url}{self.prefix}open#{token}"

    def open_share(self, token: str) -> tuple[TokenClaims, ShareInfo]:
        """The live share a token names; 403 forged, 410 expired/revoked/gone."""
        try:
            claims = self.signer.verify(token)
        except TokenError as e:
            raise web.HTTPError(403, f"This share link is not valid: {e}.") from None
        share = self.store.get(claims.id)
        if share is None or share.owner != claims.owner:
            raise web.HTTPError(410, "This share link no longer exists.")
        if share.revoked is not None:
            raise web.HTTPError(410, f"{share.owner} revoked this share link.")
        if not share.is_live(self.store.clock()):
            raise web.HTTPError(410, f"This share link expired on {pages.when(share.expires)}.")
        return claims, share

    def share_model(self, share: ShareInfo, token: str | None = None) -> dict[str, Any]:
        token = token or self.token_for(share)
        return {
            "id": share.id,
            "owner": share.owner,
            "path": share.path,
            "name": share.name,
            "url": self.url_for(token),
            "token": token,
            "environment": share.environment,
            "created_at": iso(share.created),
            "expires_at": iso(share.expires),
            "opens": share.opens,
            "last_opened_at": iso(share.last_opened),
            "version": share.version,
            "size": share.snapshot_size,
        }
