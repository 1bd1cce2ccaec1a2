"""``GET sdcc-lab/api/info`` on a real jupyter_server with the extension loaded."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import sdcc_lab
from sdcc_lab.session import SESSION_ENV

Fetch = Callable[..., Awaitable[Any]]


async def test_info_without_a_hub_is_a_local_session(
    jp_fetch: Fetch, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await jp_fetch("sdcc-lab", "api", "info")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["version"] == sdcc_lab.__version__
    assert isinstance(body["user"], str) and body["user"]
    assert body["session"] == {"scheduler": "local", "options": {}}


@pytest.fixture
def slurm_session(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    identity = {"scheduler": "slurm", "options": {"partition": "gpu", "account": "tier3"}}
    monkeypatch.setenv(SESSION_ENV, json.dumps(identity))
    return identity


async def test_info_reports_the_identity_the_hub_passed(
    slurm_session: dict[str, Any], jp_fetch: Fetch
) -> None:
    response = await jp_fetch("sdcc-lab", "api", "info")
    assert json.loads(response.body)["session"] == slurm_session


@pytest.fixture
def malformed_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SESSION_ENV, "{not json")


async def test_info_with_a_malformed_identity_says_so(
    malformed_session: None, jp_fetch: Fetch
) -> None:
    response = await jp_fetch("sdcc-lab", "api", "info")
    session = json.loads(response.body)["session"]
    assert session["scheduler"] is None
    assert "malformed" in session["problem"]


async def test_info_requires_authentication(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "info", headers={"Authorization": ""})
    assert e.value.code == 403
    assert "message" in json.loads(e.value.response.body)
