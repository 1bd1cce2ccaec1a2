"""Shares between alice, bob and carol on a real portal (``sdcc-lab demo``).

The demo's hub has the group ``physics`` (alice and bob, ``sdcc_lab.demo.DEMO_GROUPS``);
carol is in no group. The share service is the real one, started by the hub with
its role (``read:users:name``, ``read:users:groups``, ``read:groups:name``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from conftest import Portal, _start_portal
from hubclient import HubClient

PEOPLE = "alice,bob,carol"


def start_people_portal(folder: Path) -> Portal:
    return _start_portal(folder / "data", users=PEOPLE)


def logged_in(portal: Portal, name: str, server: bool = True) -> HubClient:
    client = HubClient(portal.url, name)
    client.login()
    if server:
        client.start_server(local=True)
        assert client.open_lab().status_code == 200
    return client


def share_with(
    client: HubClient, path: str, audience: dict[str, list[str]] | None
) -> requests.Response:
    return client.server_api(
        "POST", "sdcc-lab/api/shares", json={"path": path, "audience": audience}
    )


def inbox(client: HubClient) -> dict[str, dict[str, Any]]:
    r = client.server_api("GET", "sdcc-lab/api/shares/inbox")
    assert r.status_code == 200, r.text
    return {s["id"]: s for s in r.json()["shares"]}


def has_server(client: HubClient) -> bool:
    return bool(client.hub_api("GET", f"users/{client.username}").json().get("servers", {}).get(""))
