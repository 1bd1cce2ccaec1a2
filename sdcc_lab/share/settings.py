"""What the share service's handlers read of its configuration.

:class:`ShareSettings` holds the limits and the site facts the handlers need;
the application (:class:`sdcc_lab.share.app.ShareService`) inherits them, so a
site still writes ``c.ShareService.max_live_shares = …``. The handlers import
this module, never the application's: the application imports the handlers.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

from traitlets import Bool, HasTraits, Integer, Set, TraitError, Unicode, default, validate

from ..nbstream import DEFAULT_MAX_DEPTH

# A continue_url segment: letters, digits and the few signs JupyterLab's and
# Notebook 7's page paths use (``lab/tree/x``, ``tree``, ``lab/workspaces/w``).
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")

DAY = 24 * 3600
MB = 1024 * 1024


class ShareSettings(HasTraits):
    """The share service's limits and site facts (set them as ``c.ShareService.…``).

    Plain ``HasTraits``, not ``Configurable``: its traits are configured only as
    the application's (``c.ShareService``), so there is one section, not two.
    """

    max_expires_in = Integer(
        7 * DAY,
        help="""Longest lifetime of a link, in seconds (default 7 days); a longer
        ``expires_in`` gets 400. Example::

            c.ShareService.max_expires_in = 30 * 24 * 3600  # 30 days
        """,
    ).tag(config=True)
    default_expires_in = Integer(
        DAY,
        help="""Lifetime of a link when the sender does not choose, in seconds
        (default 1 day). Example::

            c.ShareService.default_expires_in = 3 * 24 * 3600  # 3 days
        """,
    ).tag(config=True)
    max_notebook_size = Integer(
        100 * MB,
        help="""Largest notebook that can be shared, in bytes (default 100 MB); larger
        ones get 413. Example::

            c.ShareService.max_notebook_size = 200 * 1024**2  # 200 MB
        """,
    ).tag(config=True)
    max_live_shares = Integer(
        100,
        help="""Live links per user (default 100); more get 403, before the notebook is
        read. Example::

            c.ShareService.max_live_shares = 50
        """,
    ).tag(config=True)
    max_snapshot_bytes_per_user = Integer(
        1024 * MB,
        help="""Bytes a user's snapshots may take in ``snapshot_dir`` (default 1 GB).

        Counted once per shared file, however many live links it has: the
        links of one file share one snapshot. An upload that would pass it gets
        413, before its body is read when it says its length. Example::

            c.ShareService.max_snapshot_bytes_per_user = 2 * 1024**3  # 2 GB
        """,
    ).tag(config=True)
    max_concurrent_uploads = Integer(
        4,
        help="""Uploads (new links and new versions) one user may have in flight at once
        (default 4); more get 429 until one ends. Example::

            c.ShareService.max_concurrent_uploads = 8
        """,
    ).tag(config=True)
    max_notebook_depth = Integer(
        DEFAULT_MAX_DEPTH,
        help=f"""Deepest nesting of JSON objects and arrays in a shared notebook, in
        levels (default {DEFAULT_MAX_DEPTH}; real notebooks nest about ten levels). Deeper
        ones get 400. Single-user servers refuse to import deeper notebooks than the
        default whatever this says. Example::

            c.ShareService.max_notebook_depth = 128
        """,
    ).tag(config=True)

    max_folder_files = Integer(
        1000,
        help="""Most files one folder share may hold (default 1000; hidden files and
        checkpoints are left out and not counted). A larger folder gets 413 naming the
        limit, before anything is stored; the share dialog shows it. Example::

            c.ShareService.max_folder_files = 5000
        """,
    ).tag(config=True)
    max_folder_size = Integer(
        500 * MB,
        help="""Most bytes the files of one folder share may take together (default
        500 MB). A larger folder gets 413 naming the limit, before anything is stored;
        the share dialog shows it. The per-user snapshot quota counts it too. Example::

            c.ShareService.max_folder_size = 2 * 1024**3  # 2 GB
        """,
    ).tag(config=True)

    max_audience_names = Integer(
        50,
        help="""Most users and groups one share may name (default 50); more get 400.
        Name a hub group rather than its members. Example::

            c.ShareService.max_audience_names = 100
        """,
    ).tag(config=True)
    directory_cache_seconds = Integer(
        30,
        help="""Seconds the service keeps the hub's answers about users and groups (who
        exists, who is in which group; default 30). A user added to a group sees the
        group's shares after at most this long. Example::

            c.ShareService.directory_cache_seconds = 120
        """,
    ).tag(config=True)

    name_directory = Bool(
        True,
        help="""Complete names in the share dialogs' "who may open it" field from the
        hub's users and groups (``GET api/people``; default on). Any user of the
        service can then list user and group names (names only) by typing. Off: that
        endpoint answers 404 and users type the names in full. Example::

            c.ShareService.name_directory = False
        """,
    ).tag(config=True)

    admin_users = Set(
        Unicode(),
        help="""Removed: the service's admins are the hub's admins (the ``admin`` flag
        the hub reports for a user: ``c.Authenticator.admin_users``, or the hub's
        admin page), never a list of names kept here. Any value stops the service at
        start with a message saying so. Instead of::

            c.ShareService.admin_users = {"hubadmin"}

        write, in the hub's configuration::

            c.Authenticator.admin_users = {"hubadmin"}
        """,
    ).tag(config=True)

    @validate("admin_users")
    def _refuse_admin_users(self, proposal: Any) -> set[str]:
        # A second list of admins beside the hub's goes stale (someone leaves, the
        # hub's role is taken away, the list still names them): refused, not ignored,
        # so a site that set it learns why its admins changed.
        if proposal["value"]:
            raise TraitError(
                "c.ShareService.admin_users is no longer read: the share service's admins "
                "are the hub's admins. Name them in the hub's configuration "
                "(c.Authenticator.admin_users) and remove c.ShareService.admin_users."
            )
        return set()

    public_url = Unicode(
        help="""The hub's public URL, used to make links absolute. Default
        ``$JUPYTERHUB_PUBLIC_URL``; when empty, links are paths on the hub and
        JupyterLab makes them absolute with the address the user sees. Never taken
        from a request's Host header. Example::

            c.ShareService.public_url = "https://jupyter.example.org/"
        """,
    ).tag(config=True)

    @default("public_url")
    def _default_public_url(self) -> str:
        return os.environ.get("JUPYTERHUB_PUBLIC_URL", "")

    @validate("public_url")
    def _check_public_url(self, proposal: Any) -> str:
        value = str(proposal["value"])
        return value.rstrip("/") if value else ""

    continue_url = Unicode(
        "lab",
        help="""Where a share link's *Continue* leads when the link names no ``next``:
        a path below the user's server, which the hub reaches through
        ``/hub/user-redirect/`` (default ``lab``: JupyterLab). A site whose users work
        in Jupyter Notebook 7 (``c.Spawner.default_url = "/tree"``) sets ``tree``, so
        the link's page continues to Notebook 7's file list and the import happens
        there. Relative, without a scheme, host, query, fragment, ``.`` or ``..``;
        anything else stops the service at start with a message. The link users
        copy stays the same. Example::

            c.ShareService.continue_url = "tree"
        """,
    ).tag(config=True)

    @validate("continue_url")
    def _check_continue_url(self, proposal: Any) -> str:
        value = str(proposal["value"])
        problem = continue_url_problem(value)
        if problem:
            raise TraitError(
                f"c.ShareService.continue_url = {value!r}: {problem}; it must be a path "
                "below the user's server, such as 'lab' or 'tree'"
            )
        return value.rstrip("/")

    def lifetime(self, seconds: int | None) -> timedelta:
        """A link's lifetime: ``seconds``, or the default when the sender chose none."""
        return timedelta(seconds=self.default_expires_in if seconds is None else seconds)


def continue_url_problem(value: str) -> str:
    """Why ``value`` cannot be a ``continue_url`` (a relative path below the user's
    server); empty when it can."""
    if not value.strip():
        return "it is empty"
    if value.startswith("/"):
        return "it starts with '/' (it is relative to the user's server)"
    if ":" in value or "\\" in value:
        return "it holds a scheme or a host"
    if "?" in value or "#" in value:
        return "it holds a query or a fragment (the link's token goes in the fragment)"
    segments = value.rstrip("/").split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        return "it has an empty, '.' or '..' segment"
    if not all(_SEGMENT.match(seg) for seg in segments):
        return "it holds characters other than letters, digits, '.', '_', '~' and '-'"
    return ""
