"""``GET sdcc-lab/api/info`` on a real jupyter_server with the extension loaded.

``session`` is the server's one :class:`sdcc_lab.session.Session`: what the
hub's identity and the process's environment say, and which of them decided.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from openapi_check import assert_matches
from tornado.httpclient import HTTPClientError

import sdcc_lab
from sdcc_lab.session import SESSION_ENV, current_user

Fetch = Callable[..., Awaitable[Any]]
JOB_VARIABLES = ("SLURM_JOB_ID", "_CONDOR_JOB_AD", "BATCH_SYSTEM")


@pytest.fixture(autouse=True)
def no_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' own process may run inside a batch job: these servers do not."""
    for name in (SESSION_ENV, *JOB_VARIABLES):
        monkeypatch.delenv(name, raising=False)


async def info(jp_fetch: Fetch) -> dict[str, Any]:
    response = await jp_fetch("sdcc-lab", "api", "info")
    assert response.code == 200
    body: dict[str, Any] = json.loads(response.body)
    assert_matches("Info", body)  # every answer has the shape server.json describes
    return body


async def test_info_without_a_hub_is_a_local_session(jp_fetch: Fetch) -> None:
    body = await info(jp_fetch)
    assert body["version"] == sdcc_lab.__version__
    assert isinstance(body["user"], str) and body["user"]
    session = body["session"]
    assert (session["scheduler"], session["options"], session["job_id"]) == ("local", {}, None)
    assert (session["source"], session["problem"], session["user"]) == (
        "environment",
        None,
        current_user(),
    )


@pytest.fixture
def slurm_job(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    identity = {"scheduler": "slurm", "options": {"partition": "gpu", "account": "tier3"}}
    monkeypatch.setenv(SESSION_ENV, json.dumps(identity))
    for name, value in {
        "SLURM_JOB_ID": "4321",
        "SLURM_CLUSTER_NAME": "sdcc",
        "SLURM_JOB_PARTITION": "gpu",
        "SLURM_JOB_ACCOUNT": "tier3",
    }.items():
        monkeypatch.setenv(name, value)
    return identity


async def test_info_reports_the_identity_and_the_job(
    slurm_job: dict[str, Any], jp_fetch: Fetch
) -> None:
    session = (await info(jp_fetch))["session"]
    assert {k: session[k] for k in ("scheduler", "options")} == slurm_job
    assert (session["job_id"], session["cluster"], session["partition"], session["account"]) == (
        "4321",
        "sdcc",
        "gpu",
        "tier3",
    )
    assert (session["source"], session["problem"]) == ("identity", None)


@pytest.fixture
def slurm_identity_outside_a_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SESSION_ENV, json.dumps({"scheduler": "slurm", "options": {}}))


async def test_a_slurm_identity_outside_its_job_is_a_problem(
    slurm_identity_outside_a_job: None, jp_fetch: Fetch
) -> None:
    session = (await info(jp_fetch))["session"]
    assert (session["scheduler"], session["job_id"], session["source"]) == (
        "slurm",
        None,
        "identity",
    )
    assert "SLURM_JOB_ID gives no job id" in session["problem"]


@pytest.fixture
def local_identity_in_a_slurm_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SESSION_ENV, json.dumps({"scheduler": "local", "options": {}}))
    monkeypatch.setenv("SLURM_JOB_ID", "42")


async def test_the_identity_decides_against_the_environment(
    local_identity_in_a_slurm_job: None, jp_fetch: Fetch
) -> None:
    session = (await info(jp_fetch))["session"]
    assert (session["scheduler"], session["job_id"], session["source"]) == (
        "local",
        None,
        "identity",
    )
    assert "says local" in session["problem"] and "SLURM_JOB_ID" in session["problem"]


@pytest.fixture
def malformed_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SESSION_ENV, "{not json")


async def test_info_with_a_malformed_identity_says_so(
    malformed_session: None, jp_fetch: Fetch
) -> None:
    session = (await info(jp_fetch))["session"]
    assert (session["scheduler"], session["source"]) == ("local", "environment")
    assert "malformed" in session["problem"]


async def test_info_requires_authentication(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "info", headers={"Authorization": ""})
    assert e.value.code == 403
    assert "message" in json.loads(e.value.response.body)
