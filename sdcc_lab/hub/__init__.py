"""The hub side of sdcc_lab: what a site's ``jupyterhub_config.py`` imports."""

from .local import LocalSessionSpawner, SimpleLocalSessionSpawner

__all__ = ["LocalSessionSpawner", "SimpleLocalSessionSpawner"]
