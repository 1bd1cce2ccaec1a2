"""Pass the session identity from a spawner to its single-user server."""

from __future__ import annotations

from typing import Any

from ..session import Scalar, session_to_env


class SessionIdentityMixin:
    """Mix into a Spawner: its server's environment gets ``SDCC_LAB_SESSION``.

    ``session_scheduler`` names the scheduler; ``session_options`` returns the
    validated options the session was started with (by default the spawner's
    ``user_options`` that are JSON scalars).
    """

    session_scheduler: str = "local"
    user_options: dict[str, Any]

    def session_options(self) -> dict[str, Scalar]:
        options = getattr(self, "user_options", None) or {}
        return {
            k: v
            for k, v in options.items()
            if isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool)))
        }

    def get_env(self) -> dict[str, str]:
        env: dict[str, str] = super().get_env()  # type: ignore[misc]
        env.update(session_to_env(self.session_scheduler, self.session_options()))
        return env
