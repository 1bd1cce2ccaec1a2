"""Names completed from the hub: ``GET api/people?q=`` for the share dialog's audience.

The answer is the hub users and hub groups whose names contain ``q`` (any
case), those starting with it first, at most :data:`MAX_ANSWERS` of each, and
nothing but names. The service asks the hub with its own token
(``list:users`` with ``read:users:name``; ``list:groups`` with
``read:groups:name``), users with JupyterHub's ``name_filter``; groups have no
such filter in JupyterHub 6, so their names are listed once per
``directory_cache_seconds`` and filtered here. Each query's answer is kept as
long, and one query in flight is shared by everyone asking it, so many users
typing the same letters ask the hub once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import urlencode

from tornado import web

from .api import APIBase
from .audience import BoundedCache, HubDirectory, directory

MAX_QUERY = 64
MAX_ANSWERS = 20
# Hub records looked at for one query at most (a one-letter query on a large hub);
# a longer query narrows what the hub sends.
MAX_SCANNED = 2000
PAGE = 200  # JupyterHub's default api_page_max_limit
PAGINATED = {"Accept": "application/jupyterhub-pagination+json"}
# LIKE's wildcards and PostgreSQL's escape character: never sent to the hub's filter.
WILDCARDS = re.compile(r"[%_\\]+")
# Distinct queries whose answers are kept (each is at most 40 short names).
CACHED_QUERIES = 1024


def check_query(raw: str | None) -> str:
    """``q`` as typed: 1 to :data:`MAX_QUERY` printable characters, else 400."""
    if raw is None or not raw or len(raw) > MAX_QUERY or not raw.isprintable():
        raise web.HTTPError(400, f"'q' must be 1 to {MAX_QUERY} printable characters")
    return raw


def ranked(names: Iterable[str], q: str) -> list[str]:
    """The names that contain ``q`` in any case: those starting with it first, each
    part in alphabetical order; at most :data:`MAX_ANSWERS`."""
    folded = q.casefold()
    hits = {n for n in names if folded in n.casefold()}
    return sorted(hits, key=lambda n: (not n.casefold().startswith(folded), n.casefold(), n))[
        :MAX_ANSWERS
    ]


def hub_filter(q: str) -> str:
    """What the hub's ``name_filter`` gets: the longest part of ``q`` without LIKE's
    special characters (the hub does not escape them), so its answer holds every
    match; the exact test is :func:`ranked`'s. Empty: no filter."""
    return max(WILDCARDS.split(q), key=len)


def names_of(items: Any) -> list[str]:
    """The ``name`` of each model in a hub answer; nothing else is kept."""
    if not isinstance(items, list):
        return []
    return [m["name"] for m in items if isinstance(m, dict) and isinstance(m.get("name"), str)]


class PeopleDirectory:
    """The hub's user and group names, as answers to ``q`` (cached briefly, bounded)."""

    def __init__(self, hub: HubDirectory) -> None:
        self.hub = hub
        self._answers = BoundedCache(hub.cache_seconds, CACHED_QUERIES)
        self._pending: dict[str, asyncio.Future[dict[str, list[str]]]] = {}

    async def lookup(self, q: str) -> dict[str, list[str]]:
        key = q.casefold()
        fresh, value = self._answers.get(key)
        if fresh:
            return cast(dict[str, list[str]], value)
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._ask_hub(q, key))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        # Shielded: one caller going away does not cancel the others' answer.
        return await asyncio.shield(pending)

    async def _ask_hub(self, q: str, key: str) -> dict[str, list[str]]:
        users, groups = await asyncio.gather(self._user_names(q), self._group_names())
        answer = {"users": ranked(users, q), "groups": ranked(groups, q)}
        self._answers.put(key, answer)
        return answer

    async def _listed(self, path: str, query: dict[str, Any]) -> list[str]:
        """Every name the hub lists at ``path`` (page by page, at most MAX_SCANNED)."""
        names: list[str] = []
        offset = 0
        while len(names) < MAX_SCANNED:
            page = await self.hub.fetch(
                f"{path}?{urlencode({**query, 'offset': offset, 'limit': PAGE})}", PAGINATED
            )
            if not isinstance(page, dict):  # a hub that does not paginate: one list
                names += names_of(page)
                break
            names += names_of(page.get("items"))
            following = (page.get("_pagination") or {}).get("next")
            if not isinstance(following, dict) or not isinstance(following.get("offset"), int):
                break
            offset = following["offset"]
        return names[:MAX_SCANNED]

    async def _user_names(self, q: str) -> list[str]:
        query: dict[str, Any] = {"sort": "name"}
        if narrowed := hub_filter(q):
            query["name_filter"] = narrowed
        return await self._listed("/users", query)

    async def _group_names(self) -> list[str]:
        fresh, value = self._answers.get("\0groups")  # no query folds to this key
        if fresh:
            return cast(list[str], value)
        names = await self._listed("/groups", {})
        self._answers.put("\0groups", names)
        return names


def people(handler: APIBase) -> PeopleDirectory:
    """The service's one people directory (made on first use, beside its hub directory)."""
    found = handler.settings.get("share_people")
    if found is None:
        found = PeopleDirectory(directory(handler))
        handler.settings["share_people"] = found
    return cast(PeopleDirectory, found)


class PeopleAPI(APIBase):
    """``GET api/people?q=``: hub user and group names that contain ``q``, for completion."""

    async def get(self) -> None:
        if not self.service.name_directory:
            raise web.HTTPError(
                404,
                "this site does not complete names from the hub "
                "(c.ShareService.name_directory is off): type the names in full",
            )
        q = check_query(self.get_argument("q", None, strip=False))
        self.set_header("Cache-Control", "no-store")  # who exists changes; never kept by a proxy
        self.finish(await people(self).lookup(q))
