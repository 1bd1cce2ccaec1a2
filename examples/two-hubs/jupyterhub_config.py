"""One of several hubs behind one portal, sharing one share store.

Every hub gets the same front-proxy login (examples/apache-header-auth) and a
share service on the shared PostgreSQL store, with the same signing keys, the
same snapshot folder and links that point at the portal. The ``ShareService``
lines are read by the share service (``--ShareService.config_file``), the
others by the hub. Values come from ``SDCC_*`` environment variables here only
so that the tests can pick free ports and folders; a site writes its own.
"""

import os

c = get_config()  # noqa: F821
load_subconfig(  # noqa: F821
    os.path.join(os.path.dirname(__file__), "..", "apache-header-auth", "jupyterhub_config.py")
)

c.ShareService.db_url = os.environ["SDCC_SHARE_DB_URL"]  # postgresql+psycopg2://…
c.ShareService.keys_file = os.environ["SDCC_SHARE_KEYS_FILE"]  # the same keys on every hub
c.ShareService.snapshot_dir = os.environ["SDCC_SHARE_SNAPSHOTS"]  # a folder every hub mounts
c.ShareService.public_url = os.environ["SDCC_PORTAL_URL"]  # links open through the portal
