"""The single-user server's side of share links: talking to the share service.

The server never signs or verifies a link. It calls the hub-managed share
service (``SDCC_LAB_SHARE_URL``, set by the hub's configuration) with its own
``JUPYTERHUB_API_TOKEN``; the service asks the hub whose token it is, so a
server can only act for its own user. Notebook bodies stream from and to disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from jupyter_core.paths import jupyter_data_dir
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from traitlets import Float, Integer, List, Unicode, default
from traitlets.config import Configurable

CHUNK = 256 * 1024
MB = 1024 * 1024


class ShareServiceError(web.HTTPError):
    """An answer of the share service, or its absence (503), as this server's answer."""


class ShareClient(Configurable):
    """Where the share service is and how this server uses it (``c.ShareClient.…``)."""

    service_url = Unicode(
        help="""URL of the share service's API as this server reaches it. Default
        ``$SDCC_LAB_SHARE_URL`` (the hub's configuration sets it). Empty: sharing is
        off (503). Example::

            c.ShareClient.service_url = "http://127.0.0.1:10101/services/share/"
        """,
    ).tag(config=True)

    @default("service_url")
    def _default_service_url(self) -> str:
        return os.environ.get("SDCC_LAB_SHARE_URL", "")

    api_token = Unicode(
        help="""Token this server authenticates with (default ``$JUPYTERHUB_API_TOKEN``,
        which the hub gives every server; there is rarely a reason to set it). Example::

            c.ShareClient.api_token = os.environ["JUPYTERHUB_API_TOKEN"]
        """,
    ).tag(config=True)

    @default("api_token")
    def _default_api_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    import_dir = Unicode(
        "shared",
        help="""Folder (relative to the server's root) that receives imported copies,
        one sub-folder per sender: ``shared/alice/analysis.ipynb``. Example::

            c.ShareClient.import_dir = "from-colleagues"
        """,
    ).tag(config=True)

    max_notebook_size = Integer(
        100 * MB,
        help="""Largest notebook this server shares or imports, in bytes (default 100 MB;
        the service has its own limit too). Larger ones get 413. Example::

            c.ShareClient.max_notebook_size = 50 * 1024**2  # 50 MB
        """,
    ).tag(config=True)

    compared_options = List(
        Unicode(),
        ["partition", "qos", "gpu", "gpus", "environment", "container"],
        help="""Session options compared between a link's environment and the recipient's
        session; each one that differs is reported as a mismatch (the scheduler and the
        kernel always are). Not compared by default: ``account`` (a recipient charges
        their own) and ``runtime`` (how long, not where). Example::

            c.ShareClient.compared_options = ["partition", "environment"]
        """,
    ).tag(config=True)

    record_file = Unicode(
        help="""JSON file recording past imports (default:
        ``{jupyter_data_dir}/sdcc_lab/imports.json``). Example::

            c.ShareClient.record_file = "/home/alice/.local/share/sdcc_lab/imports.json"
        """,
    ).tag(config=True)

    @default("record_file")
    def _default_record_file(self) -> str:
        return str(Path(jupyter_data_dir()) / "sdcc_lab" / "imports.json")

    connect_timeout = Float(
        10,
        help="""Seconds to wait for the share service to accept a connection (default 10).
        Example::

            c.ShareClient.connect_timeout = 30
        """,
    ).tag(config=True)
    request_timeout = Float(
        600,
        help="""Seconds a transfer to or from the share service may take (default 600).
        Example::

            c.ShareClient.request_timeout = 1800
        """,
    ).tag(config=True)

    # --- HTTP -----------------------------------------------------------------------
    def _client(self) -> AsyncHTTPClient:
        # Bodies stream through callbacks, which enforce max_notebook_size themselves
        # (and answer 413); the client's own cut-off would look like a lost connection.
        return AsyncHTTPClient(
            force_instance=True, max_body_size=1 << 40, max_buffer_size=4 * CHUNK
        )

    def _url(self, path: str, query: dict[str, Any] | None = None) -> str:
        if not self.service_url:
            raise ShareServiceError(
                503, "sharing is not configured on this server (no share service URL)"
            )
        url = self.service_url.rstrip("/") + "/" + path
        return url + ("?" + urlencode(query) if query else "")

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        json_body: Any = None,
        upload: Path | None = None,
        streaming_callback: Callable[[bytes], None] | None = None,
        header_callback: Callable[[str], None] | None = None,
    ) -> HTTPResponse:
        headers = {"Authorization": f"token {self.api_token}"}
        body: Any = None
        producer: Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None]] | None = None
        if json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        elif upload is not None:
            headers["Content-Type"] = "application/x-ipynb+json"
            headers["Content-Length"] = str(upload.stat().st_size)  # noqa: ASYNC240 (one stat)

            async def produce(write: Callable[[bytes], Awaitable[None]]) -> None:
                with open(upload, "rb") as f:  # noqa: ASYNC230 (chunked reads of a local file)
                    while chunk := f.read(CHUNK):
                        await write(chunk)

            producer = produce
        elif method in ("POST", "PUT"):
            body = b""
        request = HTTPRequest(
            self._url(path, query),
            method=method,
            headers=headers,
            body=body,
            body_producer=cast(Any, producer),
            streaming_callback=streaming_callback,
            header_callback=header_callback,
            connect_timeout=self.connect_timeout,
            request_timeout=self.request_timeout,
            follow_redirects=False,
            # The service refuses an upload over a limit before reading it; without
            # 100-continue that refusal would arrive as a broken connection.
            expect_100_continue=upload is not None,
        )
        client = self._client()
        try:
            return await client.fetch(request)
        except HTTPClientError as e:
            if e.code == 599 or e.response is None:
                raise ShareServiceError(503, f"the share service is unreachable ({e})") from None
            message = _message_of(e.response)
            code = e.code if e.code in (400, 403, 404, 410, 413, 422, 429) else 502
            raise ShareServiceError(code, message) from None
        except OSError as e:
            raise ShareServiceError(503, f"the share service is unreachable ({e})") from None
        finally:
            client.close()


def _message_of(response: HTTPResponse) -> str:
    try:
        data = json.loads(response.body or b"{}")
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
    except (ValueError, AttributeError):
        pass
    return f"the share service answered {response.code}"
