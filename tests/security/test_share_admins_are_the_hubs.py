"""Probes: who may read every share's access log, and where a link's Continue leads
(issue 14), against the real share service app in-process (``share_fakes``: only the
hub's "whose token is this?" is a table; the real-hub versions are in
``tests/test_share_admin_hub.py``).

- The service's admins are the hub's admins: a list of names in the service's own
  configuration (``c.ShareService.admin_users``) makes nobody an admin; the
  service refuses it at start.
- ``c.ShareService.continue_url`` can only name a page of the user's own server:
  a value that would send a recipient (with the link's token in the fragment)
  to another host or outside ``/hub/user-redirect/`` is refused at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from share_fakes import start_service
from test_share_api import service_call, service_share
from traitlets import TraitError

from sdcc_lab.share.app import ShareService


async def test_a_name_list_in_the_service_makes_nobody_an_admin(
    io_loop: Any, tmp_path: Path
) -> None:
    try:
        svc = start_service(tmp_path / "service", admin_users={"carol"})
    except TraitError as e:  # refused at start: carol is no admin
        assert "c.ShareService.admin_users is no longer read" in str(e)
        return
    try:  # it started: carol must still read nobody else's log nor list every share
        svc.tokens["carol-token"] = "carol"
        created = await service_share(svc, "alice-token", tmp_path, "secret.ipynb")
        code, body = await service_call(
            svc, "GET", f"api/shares/{created['id']}/access", token="carol-token"
        )
        assert code == 403, body
        code, body = await service_call(svc, "GET", "api/shares?all=1", token="carol-token")
        assert code == 403, body
    finally:
        svc.server.stop()


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example/lab",
        "https://evil.example/lab",
        "/hub/admin",
        "../../hub/admin",
        "lab/../../../services/other",
        "lab?next=https://evil.example/",
        "lab\\..\\..\\hub",
    ],
)
def test_continue_url_cannot_leave_the_users_server(value: str) -> None:
    with pytest.raises(TraitError):
        ShareService(continue_url=value)
