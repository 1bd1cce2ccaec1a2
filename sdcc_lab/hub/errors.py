"""Errors the hub shows to users."""

from __future__ import annotations

from jupyterhub.spawner import SpawnException


class SessionRefused(SpawnException):  # type: ignore[misc]  # JupyterHub is untyped
    """A session cannot start, for a reason the user can act on (the message says it).

    JupyterHub logs it without a traceback, answers REST calls with its status
    and ``{"message": ...}``, and shows the message on its spawn pages.
    """

    def __init__(self, message: str, *, reason: str, status_code: int = 400) -> None:
        super().__init__(message, reason=reason, status_code=status_code)
        # What JupyterHub's pages show: the message alone, without the class name.
        self.jupyterhub_message = message
