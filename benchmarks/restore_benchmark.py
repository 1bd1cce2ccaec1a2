"""Start again where you were: from "Start again" to the restored workspace, against a
plain start with the same options, in one run.

As root, with the Slurm test cluster and the job environment up
(``bash scripts/slurm/cluster.sh up && bash scripts/slurm/jobenv.sh``); hold the
Slurm lock (it submits and cancels alice's jobs)::

    flock -o /tmp/sdcc-slurm.lock .venv/bin/python benchmarks/restore_benchmark.py [--runs 3]

A real ``sdcc-lab demo`` portal and Debian's Chromium (Playwright). Each run, on
partition ``gpu`` (10 min):

1. plain start: alice's workspace is empty (her switch off for that start); from
   the click on the form's Start to JupyterLab ready (the launcher of an empty
   workspace shown);
2. in that session she opens two notebooks (their kernels start, the server
   records them), turns the switch on, and an admin cancels the job;
3. Start again: from the click on the home page's "Start again with the same
   options" to the restored workspace: both notebooks in their tabs and both
   kernels running (the server's ``/api/sessions``).

Prints each run, the medians and the ratio Start again / plain start.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import _start_portal  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
NOTEBOOKS = ("restore-first.ipynb", "restore-second.ipynb")
SERVER = "/user/alice/"


def jobs() -> list[str]:
    out = subprocess.run(
        ["/usr/bin/squeue", "-h", "-u", "alice", "-n", "jupyter-alice", "-o", "%i"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def cancel_all() -> None:
    for job in jobs():
        subprocess.run(["/usr/bin/scancel", job], check=True)
    deadline = time.monotonic() + 60
    while jobs() and time.monotonic() < deadline:
        time.sleep(0.5)


def xsrf(page: Page) -> str:
    for cookie in page.context.cookies():
        if cookie["name"] == "_xsrf" and cookie.get("path") == SERVER:
            return str(cookie["value"])
    return ""


def server_call(page: Page, method: str, path: str, body: Any = None) -> Any:
    response = page.request.fetch(
        SERVER + path,
        method=method,
        headers={"X-XSRFToken": xsrf(page), "Content-Type": "application/json"},
        data=json.dumps(body) if body is not None else None,
    )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json() if response.text() else None


def running_kernels(page: Page) -> set[str]:
    response = page.request.get(SERVER + "api/sessions")
    if not response.ok:
        return set()
    return {s["path"] for s in response.json() if s.get("kernel")}


def wait(condition: Any, timeout: float = 180, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def tab(page: Page, name: str) -> Any:
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=name)


def plain_start(page: Page) -> float:
    batch = page.get_by_label("As a batch job on the cluster")

    def form() -> bool:
        # Until the hub has noticed the last job's end, /hub/spawn goes to that server.
        page.goto("/hub/spawn")
        return bool(batch.is_visible())

    wait(form, 120, "the spawn form")
    batch.check()
    page.get_by_label("Partition", exact=True).select_option("gpu")
    page.get_by_label("Runtime (min)").fill("10")
    t0 = time.perf_counter()
    page.get_by_role("button", name="Start", exact=True).click()
    page.wait_for_url("**/user/alice/lab/workspaces/sdcc-lab**", timeout=180000)
    page.locator(".jp-Launcher").first.wait_for(timeout=180000)
    return time.perf_counter() - t0


def open_two_notebooks(page: Page) -> None:
    for path in NOTEBOOKS:
        server_call(
            page,
            "PUT",
            f"api/contents/{path}",
            {
                "type": "notebook",
                "format": "json",
                "content": {
                    "cells": [],
                    "metadata": {
                        "kernelspec": {
                            "name": "python3",
                            "display_name": "Python 3 (ipykernel)",
                            "language": "python",
                        }
                    },
                    "nbformat": 4,
                    "nbformat_minor": 5,
                },
            },
        )
    # From the file browser, as a user does (a /tree/ URL opens one file alone).
    page.goto(f"{SERVER}lab/workspaces/sdcc-lab")
    for path in NOTEBOOKS:
        page.locator(".jp-DirListing-item", has_text=path).dblclick(timeout=60000)
        tab(page, path).wait_for(timeout=60000)
    wait(lambda: set(NOTEBOOKS) <= running_kernels(page), 60, "kernels of the first session")
    wait(
        lambda: (
            {k["path"] for k in server_call(page, "GET", "sdcc-lab/api/workspace")["kernels"]}
            >= set(NOTEBOOKS)
        ),
        60,
        "the server's record",
    )


def start_again(page: Page) -> float:
    button = page.get_by_role("button", name="Start again with the same options")

    def offered() -> bool:
        page.goto("/hub/home")
        return bool(button.is_visible())

    wait(offered, 120, "the home page's Start again")
    t0 = time.perf_counter()
    button.click()
    page.wait_for_url("**/user/alice/lab/workspaces/sdcc-lab**", timeout=180000)
    for path in NOTEBOOKS:
        tab(page, path).wait_for(timeout=180000)
    wait(lambda: set(NOTEBOOKS) <= running_kernels(page), 180, "kernels after Start again")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cancel_all()
    with tempfile.TemporaryDirectory(prefix="sdcc-restore-bench-") as tmp:
        portal = _start_portal(Path(tmp) / "data", users="alice")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = browser.new_context(base_url=portal.url.rstrip("/"))
                page = context.new_page()
                page.set_default_timeout(60000)
                page.goto("/hub/login")
                page.get_by_label("Username").fill("alice")
                page.get_by_label("Password").fill(portal.password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/hub/**")
                plain: list[float] = []
                again: list[float] = []
                for run in range(args.runs):
                    plain.append(plain_start(page))
                    # The switch acts at the next start, which is Start again.
                    server_call(page, "PUT", "sdcc-lab/api/workspace", {"restore": True})
                    open_two_notebooks(page)
                    cancel_all()
                    again.append(start_again(page))
                    # The next plain start begins blank: switch off, end this session.
                    server_call(page, "PUT", "sdcc-lab/api/workspace", {"restore": False})
                    cancel_all()
                    print(
                        f"run {run + 1}: plain start {plain[-1]:.1f} s, "
                        f"Start again to the restored workspace {again[-1]:.1f} s",
                        flush=True,
                    )
                browser.close()
        finally:
            cancel_all()
            portal.stop()
    p_med, a_med = statistics.median(plain), statistics.median(again)
    print(f"plain start (to JupyterLab ready), median: {p_med:.1f} s")
    print(f"Start again (to two notebooks and their kernels), median: {a_med:.1f} s")
    print(f"ratio Start again / plain start: {a_med / p_med:.2f}")


if __name__ == "__main__":
    main()
