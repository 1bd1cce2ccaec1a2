"""The browser test's recorded ends (ui-tests/sdcc_lab_record_end.py) read as the hub reads them.

ends.spec.ts keeps two ends no real job of the test cluster can give — a node
failure and a non-zero exit code — from recorded real ``sacct`` output, in the
demo hub's store. This checks, without a hub, that the helper still finds its
recordings, that the hub's parser reads them as those kinds, and that the
hub's store then holds the words the spec asserts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine

from sdcc_lab.hub.ends import SessionEnds, end_message

HELPER = Path(__file__).resolve().parent.parent / "ui-tests" / "sdcc_lab_record_end.py"
OPTIONS = {"partition": "cpu", "account": "physics", "qos": "normal", "runtime": 60}


def helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdcc_lab_record_end", HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("end", "job_id", "words"),
    [
        ("node_fail", "123", "the node it ran on failed."),
        ("exit_code", "997", "JupyterLab stopped with an error (exit code 3)."),
    ],
)
def test_a_recorded_end_is_kept_as_the_hub_keeps_it(
    tmp_path: Path, end: str, job_id: str, words: str
) -> None:
    (tmp_path / "hub").mkdir()
    sqlite3.connect(tmp_path / "hub" / "jupyterhub.sqlite").close()
    kept = json.loads(asyncio.run(helper().keep(tmp_path, "alice", end, OPTIONS)))
    assert kept["job_id"] == job_id
    store = SessionEnds(create_engine(f"sqlite:///{tmp_path / 'hub' / 'sdcc_lab_presets.sqlite'}"))
    record = store.latest("alice")
    assert record is not None and record.options == OPTIONS
    assert end_message(record).startswith("Your session on cpu (physics, 60 min) ended at ")
    assert end_message(record).endswith(f" UTC: {words}")


def test_no_demo_hub_is_said(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no demo hub database"):
        helper().store_of(tmp_path)
