"""Small JSON request bodies (``{"link": …}``, ``{"token": …}``): one parser for the
server extension and the share service, bounded in size and depth."""

from __future__ import annotations

import json
from typing import Any

from tornado import web

# Control requests are a few hundred bytes; notebooks never come this way (they stream).
MAX_BODY_BYTES = 64 * 1024


def json_object(raw: bytes, *, empty_is_object: bool = False) -> dict[str, Any]:
    """The JSON object in ``raw``, or a 4xx ``HTTPError`` that says what is wrong.

    ``empty_is_object``: an empty body means ``{}`` (else it is not JSON).
    """
    if not raw and empty_is_object:
        return {}
    if len(raw) > MAX_BODY_BYTES:
        raise web.HTTPError(413, f"the request body is over {MAX_BODY_BYTES // 1024} KiB")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
        raise web.HTTPError(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPError(400, "the request body must be a JSON object")
    return body
