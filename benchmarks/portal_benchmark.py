"""Portal integration benchmark: login through the front proxy, imports across hubs.

As root, after ``bash scripts/setup.sh --test``:

    .venv/bin/python benchmarks/portal_benchmark.py [--runs 3]

1. Login-to-JupyterLab: from the first request to a JupyterLab page of a
   running local server, through the example Apache with HeaderAuthenticator,
   against a direct login on a demo hub's own login form — same run.
2. Link import: the same link imported by a user of the sender's hub and by a
   user of the other hub (examples/two-hubs, PostgreSQL store) — same run.

(The Dask workers' connect time is in dask_benchmark.py.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import _start_portal  # noqa: E402
from hubclient import HubClient, save_notebook  # noqa: E402
from test_header_auth import PASSWORDS, fronted_running  # noqa: E402
from test_two_hubs import through_portal, two_hubs_running, with_server  # noqa: E402


def timed(action: Callable[[], object], runs: int, between: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        action()
        times.append(time.perf_counter() - t0)
        between()
    return times


def login_to_lab(client: HubClient, login: Callable[[], object]) -> None:
    login()
    client.start_server(local=True)
    assert client.open_lab().status_code == 200


def stop(client: HubClient) -> None:
    client.stop_server()
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and client.hub_api("GET", f"users/{client.username}").json()["servers"]
    ):
        time.sleep(0.3)


def report(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{label:<42} median {median * 1000:8.0f} ms   runs {[round(t * 1000) for t in times]}")
    return median


def part1(runs: int) -> None:
    print("== Login to JupyterLab (local session) ==")
    with tempfile.TemporaryDirectory() as tmp:
        portal = _start_portal(Path(tmp) / "direct", args=("--local-only",))
        try:
            clients: list[HubClient] = []

            def direct() -> None:
                client = HubClient(portal.url, "alice")
                clients.append(client)
                login_to_lab(client, client.login)

            direct_times = timed(direct, runs, lambda: stop(clients[-1]))
        finally:
            portal.stop()
        with fronted_running(Path(tmp) / "fronted") as fronted:
            proxied: list[HubClient] = []

            def through_proxy() -> None:
                client = HubClient(fronted.url, "alice")
                client.session.auth = ("alice", PASSWORDS["alice"])
                proxied.append(client)
                login_to_lab(client, lambda: client.session.get(client.url + "hub/home"))

            proxy_times = timed(through_proxy, runs, lambda: stop(proxied[-1]))
    a = report("direct (hub login form)", direct_times)
    b = report("through Apache + HeaderAuthenticator", proxy_times)
    print(f"ratio proxy / direct: {b / a:.2f}")


def part2(runs: int) -> None:
    print("\n== Link import, within one hub and across hubs (PostgreSQL store) ==")
    with tempfile.TemporaryDirectory() as tmp, two_hubs_running(Path(tmp)) as two:
        sender_name, other_name = two.user_pair()
        same_name = next(
            u
            for u in ("bob", "carol", "dave", "erin", "frank")
            if u != sender_name and two.hub_of(u) is two.hub_of(sender_name)
        )
        sender = with_server(through_portal(two, sender_name))
        save_notebook(sender, "bench.ipynb", "x = 1")
        link = sender.server_api(
            "POST", "sdcc-lab/api/shares", json={"path": "bench.ipynb"}
        ).json()["url"]
        same = with_server(through_portal(two, same_name))
        other = with_server(through_portal(two, other_name))

        def importer(client: HubClient) -> Callable[[], object]:
            def run() -> None:
                r = client.server_api("POST", "sdcc-lab/api/imports", json={"link": link})
                assert r.status_code in (200, 201), r.text

            return run

        within = timed(importer(same), runs, lambda: None)
        across = timed(importer(other), runs, lambda: None)
    a = report("within the sender's hub", within)
    b = report("across hubs", across)
    print(f"ratio across / within: {b / a:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    part1(args.runs)
    part2(max(args.runs, 5))


if __name__ == "__main__":
    main()
