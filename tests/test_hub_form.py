"""The spawn form: what a link can put into it, its hooks, and one validation per spawn.

The unit tests drive the spawner through the calls JupyterHub makes (its own
``run_options_from_form``, then ``user_options``, ``apply_user_options`` and
``start``, in ``User.spawn``'s order); ``test_on_a_real_hub…`` checks the same
on a real ``sdcc-lab demo`` hub.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from conftest import Portal
from hubclient import HubClient
from jupyterhub.spawner import Spawner
from jupyterhub.utils import maybe_future
from tornado.httputil import HTTPServerRequest
from traitlets import default
from traitlets.config import Config

from sdcc_lab.hub import SDCCSpawner
from sdcc_lab.hub.errors import SessionRefused
from sdcc_lab.hub.formspawner import LINK_MESSAGE, FormSpawner, script_json
from sdcc_lab.hub.options import validate_options

PAYLOAD = "</script><script>window.pwned=1</script><img src=x onerror=alert(1)>"
BATCH_OFF = "Batch sessions are off in this test."


class RecordingSpawner(Spawner):  # type: ignore[misc]
    """A child that starts nothing: it records the options it was started with."""

    started_with: ClassVar[list[dict[str, Any]]] = []

    async def start(self) -> str:
        RecordingSpawner.started_with.append(dict(self.user_options))
        return "http://127.0.0.1:1"

    async def poll(self) -> int | None:
        return None

    async def stop(self, now: bool = False) -> None:
        return None


def make_spawner(config: Config | None = None, **traits: Any) -> SDCCSpawner:
    config = config or Config()
    config.SDCCSpawner.local_spawner_class = RecordingSpawner
    return SDCCSpawner(
        user=SimpleNamespace(name="alice"),
        orm_spawner=None,
        batch_disabled_reason=BATCH_OFF,
        config=config,
        **traits,
    )


def get_request(query: str) -> SimpleNamespace:
    """The handler JupyterHub gives the spawner (``Spawner.handler``) for GET /hub/spawn?QUERY."""
    return SimpleNamespace(request=HTTPServerRequest(method="GET", uri="/hub/spawn/alice?" + query))


def posted(spawner: SDCCSpawner, form: dict[str, list[str]]) -> Any:
    """What JupyterHub's spawn page makes of a form post (its run_options_from_form)."""
    return asyncio.run(maybe_async(spawner.run_options_from_form(form)))


async def maybe_async(value: Any) -> Any:
    return await maybe_future(value)


def render(spawner: SDCCSpawner) -> str:
    return asyncio.run(spawner.render_form())


def chosen_in(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="sdcc-form-chosen">(.*?)</script>', page, re.S
    )
    assert match is not None
    return dict(json.loads(match.group(1)))


# --- links -----------------------------------------------------------------------------


def test_a_link_never_starts_a_session_and_the_page_is_the_form() -> None:
    spawner = make_spawner()
    with pytest.raises(SessionRefused) as refused:
        asyncio.run(spawner.options_from_query({"local": ["true"]}))
    # JupyterHub shows this message on the form it renders, with this status.
    assert (refused.value.jupyterhub_message, refused.value.status_code) == (LINK_MESSAGE, 200)
    assert RecordingSpawner.started_with == []


def test_the_form_preselects_a_links_options() -> None:
    spawner = make_spawner(handler=get_request("opt-local=true&opt-environment=default"))
    assert chosen_in(render(spawner)) == {"local": True, "environment": "default"}
    # JupyterHub's rule: with opt- names present, bare ones are not options.
    spawner.handler = get_request("opt-environment=default&environment=other&next=/x")
    assert chosen_in(render(spawner)) == {"environment": "default"}


def test_a_crafted_link_cannot_inject_markup_or_script() -> None:
    query = "opt-partition=" + PAYLOAD + "&opt-runtime=%22%3E%3Cscript%3Ex()%3C/script%3E"
    page = render(make_spawner(handler=get_request(query.replace("<", "%3C").replace(">", "%3E"))))
    assert "<script>window.pwned" not in page
    assert "<img src=x" not in page
    assert '"><script>x()' not in page
    # The values survive as data, for the form's own script to read.
    assert chosen_in(page)["partition"] == PAYLOAD


def test_with_batch_off_the_form_says_why_and_offers_local() -> None:
    page = render(make_spawner())
    assert BATCH_OFF in page
    assert "Run locally on the hub" in page
    assert 'name="partition"' not in page


def test_a_refused_post_comes_back_with_its_choices_once() -> None:
    spawner = make_spawner()
    with pytest.raises(SessionRefused, match="environment: 'mine' is not one of default"):
        posted(spawner, {"local": ["true"], "environment": ["mine"]})
    assert chosen_in(render(spawner)) == {"local": True, "environment": "mine"}
    assert chosen_in(render(spawner)) == {}  # the next visit: no stale choices


def test_script_json_round_trips() -> None:
    value = {"a": "</script>&<>", "b": [1, None, True]}
    assert json.loads(script_json(value)) == value
    assert "<" not in script_json(value) and ">" not in script_json(value)


# --- hooks the JupyterHub way ---------------------------------------------------------------


def quick_start(form_data: dict[str, list[str]], spawner: FormSpawner) -> dict[str, Any]:
    """A site's options_from_form: its restyled form's "Quick start" button (admin guide)."""
    if form_data.get("quick") == ["1"]:
        return {"local": True}
    return spawner.shape_form(form_data)


def test_a_sites_options_from_form_in_the_config_is_what_jupyterhub_calls() -> None:
    config = Config()
    config.SDCCSpawner.options_from_form = quick_start
    spawner = make_spawner(config)
    assert posted(spawner, {"quick": ["1"]}) == {"local": True}
    # Its output is validated like any other before the session starts.
    spawner.user_options = {"local": True}
    asyncio.run(spawner._run_apply_user_options(spawner.user_options))
    asyncio.run(spawner.start())
    assert RecordingSpawner.started_with[-1] == {"local": True, "environment": "default"}


def test_a_sites_select_spawner_class_in_the_config_picks_the_child() -> None:
    class OtherRecorder(RecordingSpawner):
        pass

    config = Config()
    config.SDCCSpawner.select_spawner_class = lambda spawner, options: OtherRecorder
    config.SDCCSpawner.allowed_child_classes = [OtherRecorder]
    spawner = make_spawner(config)
    spawner.user_options = {"local": True}
    asyncio.run(spawner.start())
    assert type(spawner.child_spawner) is OtherRecorder
    # A class the saved state could not name again is refused before anything starts.
    config.SDCCSpawner.allowed_child_classes = [RecordingSpawner]
    spawner = make_spawner(config)
    spawner.user_options = {"local": True}
    with pytest.raises(ValueError, match=r"not in c\.SDCCSpawner\.allowed_child_classes"):
        asyncio.run(spawner.start())


def test_a_hook_written_as_a_plain_method_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(
        TypeError, match=r'options_from_form is a plain method.*@default\("options_from_form"\)'
    ):

        class Hiding(SDCCSpawner):
            def options_from_form(self, form_data: dict[str, list[str]]) -> dict[str, Any]:
                return {}

    class Defaulting(SDCCSpawner):  # the way that keeps c.Defaulting.options_from_form working
        @default("options_from_form")
        def _quick(self) -> Any:
            return quick_start

    assert Defaulting(user=SimpleNamespace(name="alice")).options_from_form is quick_start


# --- one validation per spawn ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _nothing_started() -> None:
    RecordingSpawner.started_with = []


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each call of the option validator, with the options it checked."""
    calls: list[dict[str, Any]] = []

    def counting(options: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(dict(options))
        return validate_options(options, *args, **kwargs)

    # The spawner's own reference to the validator (what FormSpawner.validate calls).
    monkeypatch.setattr("sdcc_lab.hub.formspawner.validate_options", counting)
    return calls


def spawn_like_jupyterhub(spawner: SDCCSpawner, options: dict[str, Any]) -> None:
    """``User.spawn``'s order: user_options, apply_user_options, start."""
    spawner.user_options = options
    asyncio.run(spawner._run_apply_user_options(spawner.user_options))
    asyncio.run(spawner.start())


def test_a_form_post_is_validated_once(validations: list[dict[str, Any]]) -> None:
    spawner = make_spawner()
    options = posted(spawner, {"local": ["true"], "_xsrf": ["x"]})
    spawn_like_jupyterhub(spawner, options)
    assert validations == [{"local": True}]
    assert RecordingSpawner.started_with == [{"local": True, "environment": "default"}]


def test_rest_options_are_validated_once(validations: list[dict[str, Any]]) -> None:
    spawn_like_jupyterhub(make_spawner(), {"local": True, "environment": "default"})
    assert validations == [{"local": True, "environment": "default"}]


def test_options_reused_for_a_later_spawn_are_validated_again(
    validations: list[dict[str, Any]],
) -> None:
    # JupyterHub starts a server without new options with the last ones, from its database.
    spawner = make_spawner()
    spawn_like_jupyterhub(spawner, {"local": True})
    spawn_like_jupyterhub(spawner, spawner.user_options)
    assert len(validations) == 2


def test_options_a_hook_replaced_after_validation_are_validated_at_start(
    validations: list[dict[str, Any]],
) -> None:
    spawner = make_spawner()
    spawner.user_options = {"local": True}
    asyncio.run(spawner._run_apply_user_options(spawner.user_options))
    spawner.user_options = {"local": True, "environment": "mine"}  # e.g. a pre_spawn_hook
    with pytest.raises(SessionRefused, match="environment: 'mine'"):
        asyncio.run(spawner.start())
    assert RecordingSpawner.started_with == []


# --- the same on a real hub ---------------------------------------------------------------

# A site's configuration: the quick_start hook above, as an admin would write it.
SITE_CONFIG = """
def quick_start(form_data, spawner):
    if form_data.get("quick") == ["1"]:
        return {"local": True}
    return spawner.shape_form(form_data)

c.SDCCSpawner.options_from_form = quick_start
"""


@pytest.fixture
def site_portal(start_demo: Callable[..., Portal], tmp_path: Path) -> Portal:
    config = tmp_path / "site_config.py"
    config.write_text(SITE_CONFIG)
    return start_demo(args=("--config", str(config)))


def stopped(client: HubClient) -> None:
    """Stop the user's server and wait until the hub says it is gone."""
    client.stop_server()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        model = client.hub_api("GET", f"users/{client.username}").json()
        if (model["servers"], model["pending"]) == ({}, None):
            return
        time.sleep(0.5)
    raise AssertionError(f"{client.username}'s server did not stop: {model}")


def accepted_count(portal: Portal, user: str) -> int:
    """How often the hub validated submitted options of the user (its log says each time)."""
    return portal.log().count(f"] {user}: options accepted: ")


@pytest.mark.hub
def test_on_a_real_hub_the_sites_hook_runs_links_start_nothing_and_each_spawn_validates_once(
    site_portal: Portal,
) -> None:
    alice = HubClient(site_portal.url, "alice")
    alice.login()

    # A link: the form with the link's options; nothing started.
    page = alice.session.get(alice.url + "hub/spawn/alice?opt-local=true&opt-environment=default")
    assert page.status_code == 200
    assert LINK_MESSAGE in page.text
    assert chosen_in(page.text) == {"local": True, "environment": "default"}
    model = alice.hub_api("GET", "users/alice").json()
    assert (model["servers"], model["pending"]) == ({}, None)
    assert accepted_count(site_portal, "alice") == 0

    # The site's options_from_form (c.SDCCSpawner.options_from_form) shapes the post.
    r = alice.session.post(
        alice.url + "hub/spawn/alice", data={"quick": "1", "_xsrf": alice.xsrf("/hub/")}
    )
    assert r.status_code == 200, r.text[:500]
    server = alice.wait_ready(120)
    assert server["user_options"] == {"local": True, "environment": "default"}
    assert accepted_count(site_portal, "alice") == 1
    stopped(alice)

    # REST options: validated once too.
    alice.start_server(local=True)
    assert accepted_count(site_portal, "alice") == 2
    stopped(alice)


# --- the admin guide's hook snippets work as written ------------------------------------------


def admin_guide_hooks() -> dict[str, Any]:
    """Run the python blocks of the guide's hooks section as one jupyterhub_config.py."""
    guide = (Path(__file__).parents[1] / "docs" / "admin-guide.md").read_text()
    # The section ends at the next heading: the sections after it have snippets of their own.
    hooks = guide.split("### Your site's own rules: hooks", 1)[1]
    section = re.split(r"\n##+ ", hooks, maxsplit=1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 4, "the guide's hook snippets changed: update this test"
    namespace: dict[str, Any] = {"c": Config()}
    exec("\n".join(blocks), namespace)  # the admin's own configuration, as the hub runs it
    return namespace


def test_the_admin_guides_hook_snippets_do_what_it_says() -> None:
    guide = admin_guide_hooks()
    config: Config = guide["c"]
    base = {
        "local": False,
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "gpus": 1,
        "runtime": 30,
        "environment": "default",
    }
    placed = FormSpawner(config=config, user=SimpleNamespace(name="alice"))
    assert placed.child_class_for({**base, "gpu": "any"}) is guide["GPUSlurmSpawner"]
    assert placed.child_class_for({**base, "gpu": "none"}).__name__ == "SlurmSessionSpawner"

    spawner = make_spawner(config)
    assert posted(spawner, {"quick": ["1"]}) == {"local": True}
    page = asyncio.run(spawner.get_options_form())
    assert page.startswith('<div class="alert alert-info">Maintenance')
    assert 'id="sdcc-spawn-form"' in page

    derived = config.JupyterHub.spawner_class(user=SimpleNamespace(name="alice"))
    assert derived.options_from_form is guide["quick_start"]
