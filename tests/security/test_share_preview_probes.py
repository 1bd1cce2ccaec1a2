"""Probes of the preview before import (issue 14): a real hub, the real share service
(which renders with nbconvert and sanitises with nh3), alice, bob and carol.

Alice shares a hostile notebook (scripts in a markdown cell and in an HTML output, an
``onerror`` image, a ``javascript:`` link, a remote image) with a PNG output. Bob, with
no server running, opens the link: its preview shows the text and the image, holds no
active content, comes with a CSP that allows no script and no outside fetch, and
starts no server. Whoever has not opened the link, or is not in a restricted share's
audience, gets no preview; a revoked link's preview is gone.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Portal
from hubclient import HubClient
from share_people import has_server, logged_in, share_with, start_people_portal
from test_share_hub import open_link

pytestmark = [pytest.mark.hub, pytest.mark.slow]

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="


def hostile_notebook() -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {
                "cell_type": "markdown",
                "id": "md",
                "metadata": {},
                "source": "# Preview heading\n\nText anyone can read.\n\n"
                "<script>alert('markdown')</script>\n\n"
                "<img src=x onerror=\"alert('onerror')\">\n\n"
                "<img src='https://outside.example/pixel.png'>\n\n"
                "[click](javascript:alert('link'))",
            },
            {
                "cell_type": "code",
                "id": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "show()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/html": "<b>an html output</b><script>alert(2)</script>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": PNG, "text/plain": "<Figure>"},
                    },
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = start_people_portal(tmp_path_factory.mktemp("preview-probes"))
    yield portal
    portal.stop()


@pytest.fixture(scope="module")
def alice(portal: Portal) -> HubClient:
    client = logged_in(portal, "alice")
    for name in ("hostile.ipynb", "for-bob.ipynb", "to-revoke.ipynb"):
        r = client.server_api(
            "PUT",
            "api/contents/" + name,
            json={"type": "notebook", "format": "json", "content": hostile_notebook()},
        )
        assert r.status_code in (200, 201), r.text
    return client


@pytest.fixture(scope="module")
def bob(portal: Portal) -> HubClient:
    return logged_in(portal, "bob", server=False)


@pytest.fixture(scope="module")
def carol(portal: Portal) -> HubClient:
    return logged_in(portal, "carol", server=False)


def shared(client: HubClient, path: str, audience: dict[str, list[str]] | None = None) -> str:
    r = share_with(client, path, audience)
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def preview_of(client: HubClient, link: str) -> tuple[str, Any]:
    """Open the link as its page's script does; GET the preview it frames."""
    details = open_link(client, link)
    assert details.status_code == 200, details.text
    url = urllib.parse.urljoin(link, details.json()["preview_url"])
    return url, client.session.get(url, allow_redirects=False)


def test_bob_sees_the_notebook_rendered_and_inert_and_nothing_starts(
    alice: HubClient, bob: HubClient
) -> None:
    link = shared(alice, "hostile.ipynb")
    _, r = preview_of(bob, link)
    assert r.status_code == 200, r.text[:300]
    page = r.text
    assert "Preview heading" in page and "Text anyone can read." in page
    assert "<b>an html output</b>" in page
    assert f"data:image/png;base64,{PNG}" in page
    low = page.lower()
    for word in ("<script", "alert", "onerror", "javascript:", "outside.example", "<iframe"):
        assert word not in low, word
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "img-src data:" in csp
    assert "script-src" not in csp and "sandbox" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert not has_server(bob), "the preview started bob's server"


def test_the_link_page_may_frame_only_the_service(alice: HubClient, bob: HubClient) -> None:
    link = shared(alice, "hostile.ipynb")
    page = bob.session.get(urllib.parse.urlsplit(link)._replace(fragment="").geturl())
    csp = page.headers["Content-Security-Policy"]
    assert "frame-src 'self'" in csp and "default-src 'none'" in csp
    # The page's script frames the preview with an empty sandbox (no scripts, forms, popups).
    assert "frame.setAttribute('sandbox', '')" in html.unescape(page.text)


def test_no_preview_without_having_opened_the_link(
    alice: HubClient, bob: HubClient, carol: HubClient
) -> None:
    link = shared(alice, "hostile.ipynb")
    url, _ = preview_of(bob, link)
    # carol knows the address (bob forwarded it) but never opened the link: no token, no preview
    r = carol.session.get(url)  # through the service's OAuth login, as a browser goes
    assert r.status_code == 403, r.text[:300]
    assert "Preview heading" not in r.text
    assert "open the share's link first" in html.unescape(r.text)
    missing = re.sub(r"preview/[0-9a-f]+", "preview/" + "0" * 32, url)
    assert bob.session.get(missing).status_code == 404


def test_a_restricted_share_has_no_preview_for_others(
    alice: HubClient, bob: HubClient, carol: HubClient
) -> None:
    link = shared(alice, "for-bob.ipynb", {"users": ["bob"], "groups": []})
    url, r = preview_of(bob, link)
    assert r.status_code == 200 and "Preview heading" in r.text
    refused = open_link(carol, link)
    assert refused.status_code == 403 and "preview_url" not in refused.json()
    r = carol.session.get(url)
    assert r.status_code == 403 and "Preview heading" not in r.text
    assert not has_server(carol)


def test_a_revoked_link_has_no_preview(alice: HubClient, bob: HubClient) -> None:
    r = share_with(alice, "to-revoke.ipynb", None)
    assert r.status_code == 201, r.text
    created = r.json()
    url, first = preview_of(bob, created["url"])
    assert first.status_code == 200
    gone = alice.server_api("DELETE", f"sdcc-lab/api/shares/{created['id']}")
    assert gone.status_code in (200, 204), gone.text
    r = bob.session.get(url)
    assert r.status_code == 410 and "Preview heading" not in r.text


def test_a_folder_preview_lists_its_files_and_renders_each_notebook(
    alice: HubClient, bob: HubClient
) -> None:
    def put(path: str, model: dict[str, Any]) -> None:
        r = alice.server_api("PUT", "api/contents/" + path, json=model)
        assert r.status_code in (200, 201), r.text

    put("pproj", {"type": "directory"})
    for name in ("one.ipynb", "two.ipynb"):
        put(f"pproj/{name}", {"type": "notebook", "format": "json", "content": hostile_notebook()})
    put("pproj/data.csv", {"type": "file", "format": "text", "content": "x,y\n1,2\n"})
    _, r = preview_of(bob, shared(alice, "pproj"))
    assert r.status_code == 200, r.text[:300]
    page = r.text
    for name in ("one.ipynb", "two.ipynb", "data.csv"):
        assert f"<td>{name}</td>" in page, name
    assert "<td>8 bytes</td>" in page  # data.csv, at its size
    assert page.count("Preview heading") == 2 and page.count(PNG) == 2
    assert "alert" not in page.lower() and "<script" not in page.lower()
