"""``sdcc-lab/api/extend`` on a real jupyter_server (pytest-jupyter).

The server asks the hub with its own token; here the hub is a stand-in HTTP
server that answers what the real hub's endpoint answers (its JSON errors
``{"status", "message"}``) and records what it was sent. The real hub and
Slurm are tests/test_extend_slurm.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from openapi_check import assert_matches
from tornado.httpclient import HTTPClientError

from sdcc_lab.netutil import free_port
from sdcc_lab.resources.facts import Facts

START = datetime(2026, 11, 27, 14, 0, tzinfo=timezone.utc)
POLICY = {
    "available": True,
    "reason": None,
    "max_minutes": 45,
    "minutes": [15, 30, 45],
    "extensions_left": 2,
}


class StandInHub:
    """Answers ``/hub/api/sdcc-lab/extend`` with ``status``/``body``; keeps the requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body: dict[str, Any] = {}
        self.requests: list[tuple[str, str, Any]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                hub.requests.append(
                    (
                        f"{self.command} {self.path}",
                        self.headers.get("Authorization", ""),
                        json.loads(raw) if raw else None,
                    )
                )
                data = json.dumps(hub.body).encode()
                self.send_response(hub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hub() -> Iterator[StandInHub]:
    stand_in = StandInHub()
    yield stand_in
    stand_in.server.shutdown()


@pytest.fixture
def session_kind() -> str:
    return "slurm"


@pytest.fixture
def jp_server_config(
    hub: StandInHub, session_kind: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setenv("SDCC_LAB_SESSION", json.dumps({"scheduler": session_kind, "options": {}}))
    if session_kind == "slurm":
        monkeypatch.setenv("SLURM_JOB_ID", "478")
    else:
        monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ResourcesCollector": {"scontrol_command": ["/bin/false"]},
        "HubExtendClient": {"api_url": hub.url, "api_token": "the-servers-token"},
    }


class MovingLimit:
    """The scheduler's answer: the job's limit, as ``scontrol update`` left it."""

    def __init__(self) -> None:
        self.minutes = 10

    async def fetch(self) -> Facts:
        return Facts(
            job_id="478",
            start=START,
            end=START + timedelta(minutes=self.minutes),
            limit_seconds=self.minutes * 60,
            limits_from="slurm",
        )


async def call(jp_fetch: Any, method: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {"method": method}
    if method == "POST":
        kwargs["body"] = json.dumps(body) if not isinstance(body, bytes) else body
    try:
        r = await jp_fetch("sdcc-lab", "api", "extend", **kwargs)
        return r.code, json.loads(r.body)
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)


async def resources(jp_fetch: Any) -> dict[str, Any]:
    r = await jp_fetch("sdcc-lab", "api", "resources", params={"usage": "0"})
    return dict(json.loads(r.body))


async def test_an_extension_is_asked_of_the_hub_and_the_countdown_follows_at_once(
    jp_fetch: Any, jp_serverapp: Any, hub: StandInHub
) -> None:
    scheduler = MovingLimit()
    collector = jp_serverapp.web_app.settings["sdcc_lab_resources"]
    collector.use_query(scheduler)
    await collector.refresh(600)  # past the start-up query (/bin/false) still in flight
    before = await resources(jp_fetch)
    assert before["time"]["limit_seconds"] == 600

    # The hub extends the job (here: the stand-in moves the scheduler's answer).
    scheduler.minutes = 20
    hub.body = {
        "end": (START + timedelta(minutes=20)).isoformat(),
        "limit_seconds": 1200,
        "extensions_left": 1,
    }
    code, body = await call(jp_fetch, "POST", {"minutes": 10})
    assert (code, body) == (200, hub.body)
    assert_matches("ExtendResult", body)
    # With the server's own token, the minutes and nothing else.
    assert hub.requests == [
        ("POST /hub/api/sdcc-lab/extend", "token the-servers-token", {"minutes": 10})
    ]
    # Without waiting for the re-check period (300 s): the next answer has the new end.
    after = await resources(jp_fetch)
    assert after["time"]["limit_seconds"] == 1200
    assert datetime.fromisoformat(after["time"]["end"]) == START + timedelta(minutes=20)


async def test_the_policy_is_the_hubs(jp_fetch: Any, hub: StandInHub) -> None:
    hub.body = POLICY
    code, body = await call(jp_fetch, "GET")
    assert (code, body) == (200, POLICY)
    assert_matches("ExtendPolicy", body)
    assert hub.requests[0][:2] == ("GET /hub/api/sdcc-lab/extend", "token the-servers-token")


@pytest.mark.parametrize(
    "hub_status, hub_message, status",
    [
        (403, "at most 45 min can be added at a time", 403),
        (409, "you have no running batch session to extend", 409),
        (400, "minutes must be at least 1", 400),
        (503, "the scheduler did not answer: scontrol did not answer within 30 s", 503),
        (500, "Internal Server Error", 503),
    ],
)
async def test_the_hubs_refusal_is_the_users_answer(
    jp_fetch: Any, hub: StandInHub, hub_status: int, hub_message: str, status: int
) -> None:
    hub.status, hub.body = hub_status, {"status": hub_status, "message": hub_message}
    code, body = await call(jp_fetch, "POST", {"minutes": 10})
    assert (code, body["message"]) == (status, hub_message)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"minutes": "10"}, "minutes must be a whole number"),
        ({"minutes": 2.5}, "minutes must be a whole number"),
        ({"minutes": True}, "minutes must be a whole number"),
        ({}, "minutes must be a whole number"),
        ({"minutes": 0}, "minutes must be at least 1"),
        (b"[10]", "the request body must be a JSON object"),
        (b"{", "the request body is not JSON"),
    ],
)
async def test_a_bad_request_never_reaches_the_hub(
    jp_fetch: Any, hub: StandInHub, body: Any, message: str
) -> None:
    code, answer = await call(jp_fetch, "POST", body)
    assert (code, answer["message"]) == (400, message)
    assert hub.requests == []


async def test_a_hub_that_does_not_answer_is_a_503(jp_fetch: Any, jp_serverapp: Any) -> None:
    jp_serverapp.web_app.settings[
        "sdcc_lab_extend"
    ].api_url = f"http://127.0.0.1:{free_port()}/hub/api"
    code, body = await call(jp_fetch, "POST", {"minutes": 10})
    assert code == 503
    assert body["message"].startswith("the hub did not answer")
    jp_serverapp.web_app.settings["sdcc_lab_extend"].api_url = ""
    code, body = await call(jp_fetch, "GET")
    assert (code, body["message"]) == (503, "this server was not started by a hub: no one to ask")


@pytest.mark.parametrize("session_kind", ["local"])
async def test_a_local_session_has_nothing_to_extend_and_never_asks_the_hub(
    jp_fetch: Any, hub: StandInHub
) -> None:
    code, body = await call(jp_fetch, "GET")
    assert code == 200
    assert (body["available"], body["reason"]) == (
        False,
        "A local session has no end time to extend.",
    )
    code, body = await call(jp_fetch, "POST", {"minutes": 10})
    assert (code, body["message"]) == (409, "A local session has no end time to extend.")
    assert hub.requests == []
