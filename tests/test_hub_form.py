"""The spawn form's HTML: what a crafted link can and cannot put into it."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace

from sdcc_lab.hub import SDCCSpawner
from sdcc_lab.hub.formspawner import PrefillNotice, script_json

PAYLOAD = "</script><script>window.pwned=1</script><img src=x onerror=alert(1)>"


def render_with_query(query: dict[str, list[str]]) -> str:
    spawner = SDCCSpawner(
        user=SimpleNamespace(name="alice"),
        orm_spawner=None,
        batch_disabled_reason="Batch sessions are off in this test.",
    )
    try:
        asyncio.run(spawner.options_from_query(query))
    except PrefillNotice:
        pass  # a link only fills in the form
    else:
        raise AssertionError("a query must never start a session by itself")
    return asyncio.run(spawner.render_form())


def test_a_crafted_link_cannot_inject_markup_or_script() -> None:
    page = render_with_query({"partition": [PAYLOAD], "runtime": ['"><script>x()</script>']})
    assert "<script>window.pwned" not in page
    assert "<img src=x" not in page
    assert '"><script>x()' not in page
    # The values survive as data, for the form's own script to read.
    chosen = re.search(r'<script type="application/json" id="sdcc-form-chosen">(.*?)</script>', page, re.S)
    assert chosen is not None
    assert json.loads(chosen.group(1))["partition"] == PAYLOAD


def test_with_batch_off_the_form_says_why_and_offers_local() -> None:
    page = render_with_query({})
    assert "Batch sessions are off in this test." in page
    assert "Run locally on the hub" in page
    assert 'name="partition"' not in page


def test_script_json_round_trips() -> None:
    value = {"a": "</script>&<>", "b": [1, None, True]}
    assert json.loads(script_json(value)) == value
    assert "<" not in script_json(value) and ">" not in script_json(value)
