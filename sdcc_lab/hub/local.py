"""Local sessions: a single-user server as a process on the hub's node."""

from __future__ import annotations

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

from .identity import SessionIdentityMixin


class LocalSessionSpawner(SessionIdentityMixin, LocalProcessSpawner):  # type: ignore[misc]
    """A local process run as the user's system account, with its session identity."""


class SimpleLocalSessionSpawner(SessionIdentityMixin, SimpleLocalProcessSpawner):  # type: ignore[misc]
    """A local process run as the hub's own user, in a per-user folder (demo, tests)."""
