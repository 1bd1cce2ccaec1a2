"""One vocabulary for a session (issue 15): the share link's page, the spawn form,
the spawner's progress messages and the import preview's mismatches all take
their words from ``sdcc_lab/labels.json`` (the JupyterLab side, ``src/labels.ts``,
is tested by jest in ``src/__tests__/labels.spec.ts``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from share_fakes import RunningService, server_config, start_service
from test_hub_batch_lifecycle import Fakes, make, run
from test_hub_form import make_spawner, render
from test_hub_options import entitlements_of
from test_share_api import call, service_share

from sdcc_lab import labels as labels_module
from sdcc_lab.hub.options import OptionsError
from sdcc_lab.session import SESSION_ENV
from sdcc_lab.share.pages import environment_pairs

Fetch = Callable[..., Awaitable[Any]]

TABLE = json.loads((Path(__file__).parents[1] / "sdcc_lab" / "labels.json").read_text())

# What a Slurm session's server writes into a link today: every option of the
# form, the unused ones empty, ``local`` false, no GPU as "none" and 0.
ISSUE_ENV = {
    "scheduler": "slurm",
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)"},
    "options": {
        "account": "",
        "environment": "",
        "gpu": "none",
        "gpus": 0,
        "local": False,
        "partition": "cpu",
        "qos": "normal",
        "runtime": 60,
    },
}


def test_a_links_page_says_the_environment_with_labels_and_units() -> None:
    rows = environment_pairs(ISSUE_ENV)
    assert rows == [
        ("Kernel", "Python 3 (ipykernel)"),
        ("Where", "Slurm batch job"),
        ("Partition", "cpu"),
        ("QOS", "normal"),
        ("Runtime", "60 min"),
    ]
    shown = " ".join(f"{k} {v}" for k, v in rows)
    for internal in ("local", "False", "True", "none", "gpus", "account", "environment"):
        assert internal not in shown


def test_a_gpu_session_says_how_many_gpus_of_which_type() -> None:
    env = {"scheduler": "slurm", "options": {"partition": "gpu", "gpu": "a100", "gpus": 1}}
    assert environment_pairs(env)[1:] == [("Partition", "gpu"), ("GPU", "a100"), ("GPUs", "1")]
    local = {"scheduler": "local", "options": {"local": True, "environment": "default"}}
    assert environment_pairs(local) == [
        ("Where", "Local session on the hub node"),
        ("Environment", "default"),
    ]


def test_an_option_the_table_does_not_know_is_shown_as_itself_but_never_a_switch() -> None:
    env = {"scheduler": "slurm", "options": {"reservation": "maint", "exclusive": True}}
    assert environment_pairs(env)[1:] == [("reservation", "maint")]


def batch_form() -> str:
    """The spawn form of alice with the batch fields (her entitlements of
    tests/test_hub_options.py; no scheduler asked for free resources or an estimate)."""
    spawner = make_spawner()
    spawner.batch_disabled_reason = ""

    async def entitlements() -> Any:
        return entitlements_of("alice")

    async def no_free(_: Any) -> list[Any]:
        return []

    async def no_estimate(_: Any) -> Any:
        raise OptionsError("partition", "not estimated in this test")

    spawner.user_entitlements = entitlements  # type: ignore[method-assign]
    spawner.free_resources_json = no_free  # type: ignore[method-assign]
    spawner.start_estimate = no_estimate  # type: ignore[method-assign]
    return render(spawner)


def field_labels(page: str) -> dict[str, str]:
    return dict(re.findall(r'<label class="form-label" for="sdcc-([a-z]+)">([^<]*)</label>', page))


def test_the_spawn_forms_fields_are_labelled_with_the_tables_words() -> None:
    fields = field_labels(batch_form())
    for key in ("partition", "account", "qos", "gpu", "gpus", "environment"):
        assert fields[key] == labels_module.option_label(key)
    # a field names its unit; the session's facts put it after the value
    assert fields["runtime"] == "Runtime (min)" == labels_module.field_label("runtime")
    assert labels_module.option_rows({"runtime": 45}) == [("Runtime", "45 min")]


def test_the_words_come_from_the_one_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change the table, and the link page and the spawn form say the new words."""
    table = labels_module.labels()
    for entry in table["options"]:
        monkeypatch.setitem(entry, "label", "«" + entry["label"] + "»")
        if "field" in entry:
            monkeypatch.setitem(entry, "field", "«" + entry["field"] + "»")
    monkeypatch.setitem(table["schedulers"], "slurm", "«Slurm»")
    assert environment_pairs(ISSUE_ENV)[1:3] == [("Where", "«Slurm»"), ("«Partition»", "cpu")]
    fields = field_labels(batch_form())
    assert fields["partition"] == "«Partition»"
    assert fields["qos"] == "«QOS»"
    assert fields["gpus"] == "«GPUs»"
    assert fields["runtime"] == "«Runtime (min)»"
    assert fields["environment"] == "«Environment»"


def test_progress_messages_name_the_job_as_the_session_panel_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes = Fakes(tmp_path / "bin")
    spawner = make(tmp_path, fakes)
    said: list[str] = []
    original = type(spawner)._say

    def say(self: Any, message: str) -> None:
        said.append(message)
        original(self, message)

    monkeypatch.setattr(type(spawner), "_say", say)
    spawner.report_port = 54321
    fakes.squeue_answers("RUNNING None node7")
    run(spawner.start())
    assert said[0] == "Submitting your Slurm batch job…"
    assert "Submitted Slurm job 4242" in said
    assert said[-1] == "Slurm job 4242 is running on node7; starting JupyterLab…"


# --- the import preview: every option that differs, in the table's words -----------------
@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service")
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(
    share_service: RunningService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    # bob's session (the recipient): a batch job on cpu with QOS normal.
    session = {
        "scheduler": "slurm",
        "options": {"partition": "cpu", "qos": "normal", "gpu": "none", "gpus": 0, "runtime": 30},
    }
    monkeypatch.setenv(SESSION_ENV, json.dumps(session))
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    return server_config(share_service, tmp_path, scheduler_free=True)


async def test_the_import_preview_names_every_option_that_differs(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    env = {
        "scheduler": "slurm",
        "options": {
            "partition": "gpu",
            "qos": "gpu-qos",
            "gpu": "a100",
            "gpus": 1,
            "account": "tier3",
            "runtime": 30,
            "local": False,
        },
    }
    shared = await service_share(
        share_service, "bob-token", jp_root_dir / "bobs", "x.ipynb", environment=json.dumps(env)
    )
    code, data = await call(jp_fetch, "POST", "imports", "preview", body={"link": shared["token"]})
    assert code == 200
    assert data["mismatches"] == [
        "Partition: gpu in the link, cpu in your session",
        "QOS: gpu-qos in the link, normal in your session",
        "GPU: a100 in the link, none in your session",
        "GPUs: 1 in the link, none in your session",
    ]
    # The dialog translates them: the same facts, by key.
    assert data["differences"] == [
        {"key": "partition", "link": "gpu", "session": "cpu"},
        {"key": "qos", "link": "gpu-qos", "session": "normal"},
        {"key": "gpu", "link": "a100", "session": "none"},
        {"key": "gpus", "link": 1, "session": 0},
    ]


async def test_the_scheduler_and_a_missing_kernel_are_named_in_the_same_words(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    env = {
        "scheduler": "local",
        "options": {"local": True},
        "kernelspec": {"name": "julia-1.9", "display_name": "Julia 1.9"},
    }
    shared = await service_share(
        share_service, "bob-token", jp_root_dir / "bobs", "y.ipynb", environment=json.dumps(env)
    )
    code, data = await call(jp_fetch, "POST", "imports", "preview", body={"link": shared["token"]})
    assert code == 200
    assert data["mismatches"] == [
        "Kernel: Julia 1.9 is not available on your server",
        "Where: Local session on the hub node in the link, Slurm batch job in your session",
    ]
    assert data["differences"] == [
        {"key": "kernel", "link": "Julia 1.9", "session": None},
        {"key": "scheduler", "link": "local", "session": "slurm"},
    ]
