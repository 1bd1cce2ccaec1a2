"""Where a link's *Continue* leads (``c.ShareService.continue_url``) and who reads a
share's access log (its owner and hub admins), against the real share service app
in-process (only the hub's "whose token is this?" is a table: ``share_fakes``).

The real-hub versions are in ``test_share_admin_hub.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from share_fakes import RunningService, server_config, start_service
from test_share_api import service_call, service_share
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import TraitError

from sdcc_lab.share.app import ShareService


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("lab", "lab"),
        ("tree", "tree"),
        ("tree/", "tree"),
        ("lab/tree/projects", "lab/tree/projects"),
    ],
)
def test_continue_url_takes_a_path_below_the_users_server(value: str, kept: str) -> None:
    assert ShareService(continue_url=value).continue_url == kept


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "it is empty"),
        ("/tree", "it starts with '/'"),
        ("https://evil.example/", "it holds a scheme or a host"),
        ("javascript:alert(1)", "it holds a scheme or a host"),
        ("//evil.example/tree", "it starts with '/'"),
        ("tree\\..\\..\\hub", "it holds a scheme or a host"),
        ("tree?x=1", "it holds a query or a fragment"),
        ("tree#x", "it holds a query or a fragment"),
        ("../../hub/admin", "'..' segment"),
        ("tree/../../hub", "'..' segment"),
        ("tree//x", "empty, '.' or '..' segment"),
        ("tr ee", "characters other than"),
        ("tree/%2e%2e", "characters other than"),
    ],
)
def test_continue_url_refuses_anything_else_with_the_reason(value: str, why: str) -> None:
    with pytest.raises(TraitError) as e:
        ShareService(continue_url=value)
    assert f"c.ShareService.continue_url = {value!r}: " in str(e.value)
    assert why in str(e.value)
    assert "such as 'lab' or 'tree'" in str(e.value)


def start_with(tmp_path: Path, line: str) -> subprocess.CompletedProcess[str]:
    """``python -m sdcc_lab.share`` with a config file holding ``line``, as the hub starts it."""
    config = tmp_path / "share_config.py"
    config.write_text(f"c.ShareService.keys = ['k1']\n{line}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    env["JUPYTERHUB_SERVICE_URL"] = "http://127.0.0.1:1"  # never reached: it stops before
    return subprocess.run(
        [sys.executable, "-m", "sdcc_lab.share", f"--ShareService.config_file={config}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )


def test_a_bad_continue_url_stops_the_service_at_start_with_a_message(tmp_path: Path) -> None:
    done = start_with(tmp_path, "c.ShareService.continue_url = 'https://evil.example/'")
    assert done.returncode == 1, done.stderr
    assert (
        "c.ShareService.continue_url = 'https://evil.example/': it holds a scheme or a host"
        in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_name_list_of_admins_stops_the_service_at_start_with_a_message(tmp_path: Path) -> None:
    """Admins are the hub's admins: a list of names kept by the service is refused, not
    ignored, so a site that had one learns why its admins changed."""
    done = start_with(tmp_path, "c.ShareService.admin_users = {'carol'}")
    assert done.returncode == 1, done.stderr
    assert "c.ShareService.admin_users is no longer read" in done.stderr
    assert "c.Authenticator.admin_users" in done.stderr
    assert "Traceback" not in done.stderr


# --- in-process service --------------------------------------------------------------------
@pytest.fixture
def tree_service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", continue_url="tree")
    running.tokens["carol-token"] = "carol"
    yield running
    running.server.stop()


async def open_link(svc: RunningService, token: str, user_token: str, **body: str) -> Any:
    """The link page's POST (the fake hub reads the user from the Authorization header)."""
    r = await AsyncHTTPClient().fetch(
        svc.url + "open",
        method="POST",
        body=json.dumps({"token": token, **body}),
        headers={"Authorization": f"token {user_token}"},
        raise_error=False,
    )
    return r.code, json.loads(r.body)


async def test_the_link_continues_to_the_sites_interface(
    tree_service: RunningService, tmp_path: Path
) -> None:
    created = await service_share(tree_service, "alice-token", tmp_path, "n.ipynb")
    code, details = await open_link(tree_service, created["token"], "bob-token")
    assert code == 200, details
    assert details["continue_url"] == "/hub/user-redirect/tree#sdcc-share=" + created["token"]
    assert details["interface"] == "Jupyter Notebook"  # the page's "Continue to my …"
    # The link alice copies is the same whatever the setting.
    assert created["url"].endswith("/services/share/open#" + created["token"])
    # A next below /hub/user-redirect/ still wins.
    code, details = await open_link(
        tree_service, created["token"], "bob-token", next="/hub/user-redirect/lab/tree/n.ipynb"
    )
    assert details["continue_url"].startswith("/hub/user-redirect/lab/tree/n.ipynb#")
    assert details["interface"] == "JupyterLab"
    code, details = await open_link(
        tree_service, created["token"], "bob-token", next="/hub/user-redirect/voila/render/n"
    )
    assert details["interface"] == "Jupyter"


async def access(svc: RunningService, share_id: str, token: str, query: str = "") -> Any:
    return await service_call(svc, "GET", f"api/shares/{share_id}/access{query}", token=token)


async def test_the_access_log_names_who_did_what_when_for_its_owner_and_admins(
    tree_service: RunningService, tmp_path: Path
) -> None:
    created = await service_share(tree_service, "alice-token", tmp_path, "log.ipynb")
    assert (await open_link(tree_service, created["token"], "bob-token"))[0] == 200
    fetched = await AsyncHTTPClient().fetch(
        tree_service.api("fetch"),
        method="POST",
        body=json.dumps({"token": created["token"]}),
        headers={"Authorization": "token bob-token"},
    )
    assert fetched.code == 200
    for reader in ("admin-token", "alice-token"):
        code, log = await access(tree_service, created["id"], reader, "?action=all")
        assert code == 200, log
        assert [(a["user"], a["action"], a["version"]) for a in log["accesses"]] == [
            ("bob", "open", 1),
            ("bob", "import", 1),
        ]
        assert all(a["at"].endswith("Z") for a in log["accesses"])
    # By default: the imports only (what "Manage my shares" shows).
    code, log = await access(tree_service, created["id"], "admin-token")
    assert [a["action"] for a in log["accesses"]] == ["import"]
    code, log = await access(tree_service, created["id"], "admin-token", "?action=open")
    assert [a["action"] for a in log["accesses"]] == ["open"]


@pytest.mark.parametrize("reader", ["carol-token", "bob-token"])
async def test_nobody_else_reads_the_access_log(
    tree_service: RunningService, tmp_path: Path, reader: str
) -> None:
    """bob used the link and carol did not: neither owns it nor is a hub admin."""
    created = await service_share(tree_service, "alice-token", tmp_path, "private.ipynb")
    await open_link(tree_service, created["token"], "bob-token")
    code, body = await access(tree_service, created["id"], reader, "?action=all")
    assert (code, body) == (403, {"message": "only its owner or an admin may see who used a share"})


@pytest.mark.parametrize("action", ["opens", "", "IMPORT", "all,open"])
async def test_an_unknown_action_is_400(
    tree_service: RunningService, tmp_path: Path, action: str
) -> None:
    created = await service_share(tree_service, "alice-token", tmp_path, "a.ipynb")
    query = "?" + urllib.parse.urlencode({"action": action})
    code, body = await access(tree_service, created["id"], "alice-token", query)
    assert (code, body) == (400, {"message": "'action' must be one of import, open, all"})


# --- the demo passes its default interface on ------------------------------------------------
@pytest.mark.parametrize(
    ("admin_config", "expected"),
    [
        ("", "lab"),
        ("c.Spawner.default_url = '/tree'\n", "tree"),
        # The admin's own choice for the service wins over the derived one.
        ("c.Spawner.default_url = '/tree'\nc.ShareService.continue_url = 'lab'\n", "lab"),
    ],
)
def test_the_demo_continues_links_to_its_default_interface(
    tmp_path: Path, admin_config: str, expected: str
) -> None:
    from traitlets.config import Config

    from sdcc_lab.demo import configure_share_service

    extra = ""
    if admin_config:
        extra = str(tmp_path / "admin_config.py")
        Path(extra).write_text(admin_config)
    settings = SimpleNamespace(
        hub_dir=tmp_path,
        share_port=1,
        portal_url="http://127.0.0.1:8000/",
        extra_config=extra,
    )
    c = Config()
    c.Spawner.environment = {}
    configure_share_service(c, settings)  # type: ignore[arg-type]  # the fields it reads
    service = ShareService()
    service.initialize([f"--ShareService.config_file={tmp_path / 'share_config.py'}"])
    assert service.continue_url == expected


# --- the owner's own server passes ?action= on -----------------------------------------------
@pytest.fixture
def jp_server_config(tree_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(tree_service, tmp_path)  # alice's server


async def test_the_owners_server_lists_the_opens_too(
    jp_fetch: Any, tree_service: RunningService, tmp_path: Path
) -> None:
    created = await service_share(tree_service, "alice-token", tmp_path, "mine.ipynb")
    await open_link(tree_service, created["token"], "bob-token")
    r = await jp_fetch(
        "sdcc-lab", "api", "shares", created["id"], "access", params={"action": "all"}
    )
    log = json.loads(r.body)
    assert [(a["user"], a["action"]) for a in log["accesses"]] == [("bob", "open")]
    r = await jp_fetch("sdcc-lab", "api", "shares", created["id"], "access")
    assert json.loads(r.body)["accesses"] == []  # no import yet
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "sdcc-lab", "api", "shares", created["id"], "access", params={"action": "every"}
        )
    assert e.value.code == 400
    assert e.value.response is not None
    assert json.loads(e.value.response.body)["message"] == (
        "'action' must be one of import, open, all"
    )
