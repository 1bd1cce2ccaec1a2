"""Who a share is for: the ``audience`` argument and the hub's users and groups.

The service asks the hub, with its own API token, whether a user or a group
exists and which groups a user is in. Its role needs only
``read:users:name`` (a user exists), ``read:users:groups`` (their groups) and
``read:groups:name`` (a group exists): no one's servers, tokens or activity.
Answers are kept for ``directory_cache_seconds``, so opening or listing
shares does not ask the hub each time.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast
from urllib.parse import quote

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .base import ShareBase
from .store import Audience, ShareInfo

# JupyterHub's own limit on user and group names is its database column (255).
MAX_NAME_LENGTH = 255


def parse_audience(raw: str | None, max_names: int) -> Audience:
    """The ``audience`` argument (JSON ``{"users": [...], "groups": [...]}`` or ``null``)."""
    if raw is None or raw == "null":
        return Audience()
    try:
        value = json.loads(raw)
    except ValueError:
        raise web.HTTPError(400, "'audience' must be JSON") from None
    if value is None:
        return Audience()
    if not isinstance(value, dict) or set(value) - {"users", "groups"}:
        raise web.HTTPError(400, "'audience' must be an object with 'users' and 'groups' lists")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("users", "groups"):
        names = value.get(key) or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise web.HTTPError(400, f"'audience.{key}' must be a list of names")
        for name in names:
            if not name.strip() or len(name) > MAX_NAME_LENGTH or not name.isprintable():
                shown = name[:40] + ("…" if len(name) > 40 else "")
                raise web.HTTPError(
                    400,
                    f"{shown!r} is not a {key[:-1]} name (1 to {MAX_NAME_LENGTH} printable "
                    "characters)",
                )
        lists[key] = tuple(dict.fromkeys(names))  # once each, in the sender's order
    if len(lists["users"]) + len(lists["groups"]) > max_names:
        raise web.HTTPError(400, f"a share may name at most {max_names} users and groups")
    return Audience(lists["users"], lists["groups"])


# Answers kept at most (the oldest go first): names typed into a share that do
# not exist are cached too, so the cache must not grow with what callers send.
MAX_CACHED = 4096


class BoundedCache:
    """Answers that expire after ``seconds``; at most ``size`` of them (oldest out first)."""

    def __init__(self, seconds: float, size: int = MAX_CACHED) -> None:
        self.seconds = seconds
        self.size = size
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` while ``key``'s answer is fresh, else ``(False, None)``."""
        hit = self._items.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        self._items.pop(key, None)  # re-inserted last: dicts keep insertion order
        self._items[key] = (time.monotonic() + self.seconds, value)
        while len(self._items) > self.size:
            del self._items[next(iter(self._items))]


class HubDirectory:
    """The hub's users and groups as the service may see them (cached answers)."""

    def __init__(self, hub_auth: Any, cache_seconds: float) -> None:
        self.api_url = str(hub_auth.api_url).rstrip("/")
        self.api_token = str(hub_auth.api_token)
        self.cache_seconds = cache_seconds
        self._cache = BoundedCache(cache_seconds)

    async def fetch(self, path: str, headers: dict[str, str] | None = None) -> Any:
        """The hub's JSON answer to ``GET {api_url}{path}`` (uncached), or None for 404."""
        request = HTTPRequest(
            self.api_url + path,
            headers={"Authorization": f"token {self.api_token}", **(headers or {})},
            connect_timeout=10,
            request_timeout=20,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
            return json.loads(response.body)
        except HTTPClientError as e:
            if e.code != 404:
                raise web.HTTPError(
                    503, f"the hub did not say who is who ({e.code}); try again later"
                ) from None
            return None
        except OSError:
            raise web.HTTPError(503, "the hub is unreachable; try again later") from None

    async def _get(self, path: str) -> Any:
        """The hub's JSON answer, or None for 404 (no such user or group); cached."""
        fresh, value = self._cache.get(path)
        if fresh:
            return value
        value = await self.fetch(path)
        self._cache.put(path, value)
        return value

    async def user_groups(self, user: str) -> frozenset[str] | None:
        """``user``'s groups; None when the hub has no such user."""
        model = await self._get(f"/users/{quote(user, safe='')}")
        if not isinstance(model, dict):
            return None
        groups = model.get("groups")
        return (
            frozenset(g for g in groups if isinstance(g, str))
            if isinstance(groups, list)
            else frozenset()
        )

    async def group_exists(self, group: str) -> bool:
        return isinstance(await self._get(f"/groups/{quote(group, safe='')}"), dict)

    async def unknown_names(self, audience: Audience) -> list[str]:
        """The names in ``audience`` the hub does not know (users first)."""
        missing = [u for u in audience.users if await self.user_groups(u) is None]
        return missing + [g for g in audience.groups if not await self.group_exists(g)]


def directory(handler: ShareBase) -> HubDirectory:
    """The service's one directory (made on first use, with the service's hub client)."""
    found = handler.settings.get("share_directory")
    if found is None:
        found = HubDirectory(handler.hub_auth, handler.service.directory_cache_seconds)
        handler.settings["share_directory"] = found
    return cast(HubDirectory, found)


async def check_admitted(handler: ShareBase, share: ShareInfo) -> None:
    """403 unless the caller may open ``share``: its owner, or named in its audience."""
    audience = handler.store.audience(share.id)
    user = handler.user_name
    if not audience or user == share.owner or user in audience.users:
        return
    groups = await directory(handler).user_groups(user) or frozenset()
    if not audience.admits(user, groups):
        what = "folder" if handler.store.folder_files([share.snapshot_key]) else "notebook"
        raise web.HTTPError(
            403,
            f"{share.owner} shared this {what} with named people only, and {user} is not "
            f"one of them. Nothing was opened or started; ask {share.owner} to add you.",
        )
