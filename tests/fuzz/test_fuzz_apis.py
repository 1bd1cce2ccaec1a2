"""Schemathesis against the three real components, as alice; nothing of bob's changes.

A real demo portal (JupyterHub, configurable-http-proxy, the share service,
single-user servers) with alice and bob, each with a running server, a
notebook and a share link of it. Schemathesis takes each component's OpenAPI
description (the packaged one, which a test here finds equal to what the
component serves) and sends alice's requests (her hub API token, which all
three accept) to every operation:

- the examples, coverage (boundary and malformed values) and fuzzing phases,
  positive and negative data, at most ``SDCC_FUZZ_EXAMPLES`` cases per
  operation and phase;
- stateful sequences along the descriptions' OpenAPI links (make a share,
  then preview, import, peek, fetch, revoke it);
- checks: no server error (5xx), every status documented, every response of
  the documented content type and schema, input the description forbids
  refused (4xx), the same request without the token refused, a revoked
  share gone and a new one usable (stateful).

Bob's shares (as his server and the share service list them), his files (the
Contents API, with each file's hash), his server and kernels are read before
and after, and must be equal: nothing alice sends changes them.

Replay: the seed is ``SDCC_FUZZ_SEED`` (fixed by default, printed at the
start); a failure prints schemathesis' reproduction (a curl command) too.
``SDCC_FUZZ_EXAMPLES=100`` digs deeper outside CI.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from conftest import Portal, _start_portal
from hubclient import HubClient, save_notebook
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from sdcc_lab.openapi import load

pytestmark = [pytest.mark.hub, pytest.mark.slow]

SEED = int(os.environ.get("SDCC_FUZZ_SEED", "1616"))
EXAMPLES = int(os.environ.get("SDCC_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # input the description forbids gets a 4xx, never a 2xx
    ignored_auth,  # the same request without alice's token is refused
    use_after_free,  # a revoked share stays gone (stateful)
    ensure_resource_availability,  # a share just made can be used (stateful)
]
# Every status that refuses a request (413: too large; 410: a revoked or expired link;
# 431: configurable-http-proxy refuses a request line past 16 KB before any component sees it).
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 428, 429, 431]
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # a failure replays from the seed, not from a local example database
    suppress_health_check=list(HealthCheck),
)
TIMEOUT = 30


@dataclass
class User:
    name: str
    client: HubClient
    token: str
    notebook: str
    share: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}


@dataclass
class World:
    portal: Portal
    alice: User
    bob: User
    bob_before: dict[str, Any]
    sent: Counter[str] = field(default_factory=Counter)


def url(portal: Portal, path: str) -> str:
    return portal.url + path.lstrip("/")


def set_up_user(portal: Portal, name: str) -> User:
    """Log in, start the server, make a hub API token, save a notebook and share it."""
    client = HubClient(portal.url, name)
    client.login()
    client.start_server(local=True)  # a local session: no Slurm job to share with other tests
    client.open_lab()  # the server's cookies, as a browser has them
    r = client.hub_api("POST", f"users/{name}/tokens", json={"note": "fuzzing"})
    assert r.status_code == 201, r.text
    token = str(r.json()["token"])
    notebook = f"{name}-notes.ipynb"
    save_notebook(client, notebook, f"print('{name}')")
    r = client.server_api("POST", "sdcc-lab/api/shares", json={"path": notebook})
    assert r.status_code == 201, r.text
    return User(name, client, token, notebook, r.json())


def files_of(portal: Portal, user: User, path: str = "") -> dict[str, Any]:
    """Every file and folder of the user's server (Contents API), files with their hash."""
    r = requests.get(
        url(portal, f"user/{user.name}/api/contents/{path}"),
        headers=user.auth,
        params={"content": "1"},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    model = r.json()
    if model["type"] != "directory":
        content = model["content"]
        raw = content if isinstance(content, str) else repr(content)
        return {
            path: (model["type"], model["last_modified"], hashlib.sha256(raw.encode()).hexdigest())
        }
    found: dict[str, Any] = {path: ("directory", None, None)}
    for entry in model["content"]:
        found.update(files_of(portal, user, entry["path"]))
    return found


def state_of(portal: Portal, user: User) -> dict[str, Any]:
    """What the user would check: shares, files, server and kernels."""

    def get(path: str, **params: str) -> Any:
        r = requests.get(url(portal, path), headers=user.auth, params=params, timeout=TIMEOUT)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
        return r.json()

    model = get(f"hub/api/users/{user.name}")
    servers = {
        name: {k: s.get(k) for k in ("name", "started", "ready", "pending", "url", "stopped")}
        for name, s in model["servers"].items()
    }

    def records(shares: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The link (url, token) is signed anew with each listing: the record is what counts.
        unsigned = [{k: v for k, v in s.items() if k not in ("url", "token")} for s in shares]
        return sorted(unsigned, key=lambda s: str(s["id"]))

    return {
        "hub": {k: model.get(k) for k in ("name", "admin", "groups", "roles", "pending")},
        "servers": servers,
        "tokens": sorted(
            (t["id"], t["note"]) for t in get(f"hub/api/users/{user.name}/tokens")["api_tokens"]
        ),
        "shares (server)": records(get(f"user/{user.name}/sdcc-lab/api/shares")["shares"]),
        "shares (service)": records(get("services/share/api/shares")["shares"]),
        "files": files_of(portal, user),
        "kernels": sorted(k["id"] for k in get(f"user/{user.name}/api/kernels")),
        "sessions": sorted(s["id"] for s in get(f"user/{user.name}/api/sessions")),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    print(f"\nfuzzing seed {SEED} (replay: SDCC_FUZZ_SEED={SEED}), {EXAMPLES} examples")
    portal = _start_portal(tmp_path_factory.mktemp("fuzz") / "data")
    try:
        alice = set_up_user(portal, "alice")
        bob = set_up_user(portal, "bob")
        yield World(portal, alice, bob, state_of(portal, bob))
    finally:
        portal.stop()


def described(name: str) -> Any:
    """The packaged description (the one each component serves: checked below), fuzz-ready."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "request-timeout": TIMEOUT,
            # No state kept between runs (schemathesis' crash cache): a run replays from its seed.
            "cache": {"enabled": False},
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "with-security-parameters": False,
            },
        }
    )
    return schemathesis.openapi.from_dict(load(name), config=config)


# Where each component is, on the portal, and where it serves its description.
BASE = {
    "server": "user/alice/sdcc-lab/api",
    "share": "services/share",
    "hub": "hub/api",
}
SERVED = {
    "server": "user/alice/sdcc-lab/api/openapi.json",
    "share": "services/share/api/openapi.json",
    "hub": "hub/api/sdcc-lab/openapi.json",
}
SCHEMAS = {name: described(name) for name in BASE}


def send(world: World, component: str, case: Any) -> None:
    world.sent[component] += 1
    case.call_and_validate(
        base_url=url(world.portal, BASE[component]),
        headers=world.alice.auth,
        checks=CHECKS,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize("component", sorted(BASE))
def test_each_component_serves_the_description_fuzzed(component: str, world: World) -> None:
    r = requests.get(
        url(world.portal, SERVED[component]), headers=world.alice.auth, timeout=TIMEOUT
    )
    assert r.status_code == 200, r.text
    served, packaged = r.json(), load(component)
    served.pop("servers", None)
    packaged.pop("servers", None)
    assert served == packaged


@HYPOTHESIS
@SCHEMAS["server"].parametrize()
def test_fuzz_the_server_extension(case: Any, world: World) -> None:
    send(world, "server", case)


@HYPOTHESIS
@SCHEMAS["share"].parametrize()
def test_fuzz_the_share_service(case: Any, world: World) -> None:
    send(world, "share", case)


@HYPOTHESIS
@SCHEMAS["hub"].parametrize()
def test_fuzz_the_hub_additions(case: Any, world: World) -> None:
    send(world, "hub", case)


@pytest.mark.parametrize("component", ["server", "share"])
def test_linked_operations_in_sequence(component: str, world: World) -> None:
    """Stateful: make a share, then use its id, link and token in the linked operations.

    A share of the server extension needs a notebook that exists: the machine's
    ``POST /shares`` with a well-formed body names alice's notebook, so the
    sequences go on to preview, import and revoke a real link.
    """
    machine = SCHEMAS[component].as_state_machine()
    seen: Counter[str] = Counter()
    call = {
        "base_url": url(world.portal, BASE[component]),
        "headers": world.alice.auth,
        "timeout": TIMEOUT,
    }

    class Sequences(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            body = case.body
            if (
                case.path == "/shares"
                and case.method == "POST"
                and case.meta is not None
                and case.meta.generation.mode == GenerationMode.POSITIVE
                and isinstance(body, dict)
                and isinstance(body.get("path"), str)
            ):
                case.body = {**body, "path": world.alice.notebook}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return call

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            world.sent[f"{component} (stateful)"] += 1
            seen[f"{case.method} {case.path} {response.status_code}"] += 1
            case.validate_response(response, checks=CHECKS)

    Sequences.run(
        settings=settings(HYPOTHESIS, max_examples=max(EXAMPLES // 2, 3), stateful_step_count=6)
    )
    print(f"{component} (stateful):", dict(sorted(seen.items())))
    made = "POST /shares 201" if component == "server" else "POST /api/shares 201"
    assert seen[made], f"no sequence made a share: {dict(seen)}"


def test_nothing_of_bobs_changed(world: World) -> None:
    """Last in this file: bob's shares, files, server and kernels are as before the fuzzing."""
    print("requests sent:", dict(world.sent))
    fuzzed = {c for c in ("server", "share", "hub") if world.sent[c]}
    assert fuzzed == {"server", "share", "hub"}, (
        f"only {sorted(fuzzed)} were fuzzed: run the whole file"
    )
    after = state_of(world.portal, world.bob)
    changed = {
        key: f"before: {world.bob_before[key]!r}\n    after: {after[key]!r}"
        for key in after
        if after[key] != world.bob_before[key]
    }
    assert not changed, "alice's requests changed bob's " + "\n".join(
        f"{key}:\n    {diff}" for key, diff in changed.items()
    )
    assert after["shares (server)"], "bob's share is gone"
