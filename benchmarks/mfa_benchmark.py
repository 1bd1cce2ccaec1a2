"""MFA front benchmark: login to a running JupyterLab through Keycloak + Apache, against
the demo's direct login, in the same run; Keycloak's start time and resident memory.

As root, after ``bash scripts/setup.sh --test``:

    .venv/bin/python benchmarks/mfa_benchmark.py [--runs 3]

1. Keycloak alone (sdcc_lab.front.keycloak, the demo's options, built once):
   seconds from start to its first answer, and its resident memory then.
2. Login to a running JupyterLab (local session, started once beforehand): from
   a new client's first request to the JupyterLab page —
   - direct: the plain demo's login form (one shared password);
   - MFA: ``sdcc-lab demo --mfa`` — the front's redirect to Keycloak, the
     password form, the one-time-code form (the code computed as an app does),
     the redirect back through mod_auth_openidc, the hub's token login.
   Both as plain HTTP clients (requests), no browser: the figures are the
   servers'. Each MFA run waits beforehand for a fresh code (a code is
   accepted once); the wait is not counted.
3. Keycloak's resident memory after the MFA logins.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import _start_portal  # noqa: E402
from hubclient import HubClient  # noqa: E402
from mfa_harness import keycloak_login, start_mfa_portal  # noqa: E402

from sdcc_lab.front.keycloak import Keycloak, fetch_keycloak  # noqa: E402


def report(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{label:<40} median {median * 1000:8.0f} ms   runs {[round(t * 1000) for t in times]}")
    return median


def tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


def lab_running(client: HubClient) -> None:
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


def keycloak_alone(folder: Path) -> None:
    print("== Keycloak alone (dev mode, in-memory database, the demo's options) ==")
    server = Keycloak(fetch_keycloak(), folder / "keycloak", "http://127.0.0.1:1/")
    try:
        server.start()
        print(f"start to first answer: {server.start_seconds:.1f} s")
        print(f"resident memory then: {server.rss_bytes() / 2**20:.0f} MiB")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        keycloak_alone(Path(tmp))

        print("\n== Login to a running JupyterLab (local session) ==")
        direct = _start_portal(Path(tmp) / "direct", args=("--local-only",))
        direct_times: list[float] = []
        try:
            owner = HubClient(direct.url, "alice")
            owner.login()
            lab_running(owner)
            for _ in range(runs):
                client = HubClient(direct.url, "alice")  # a new browser: no cookies
                t0 = time.perf_counter()
                client.login()
                assert client.open_lab().status_code == 200
                direct_times.append(time.perf_counter() - t0)
            stop(owner)
        finally:
            direct.stop()

        portal = start_mfa_portal(Path(tmp) / "mfa")
        mfa_times: list[float] = []
        try:
            owner = keycloak_login(
                portal.url, "alice", portal.password("alice"), portal.code("alice")
            )
            lab_running(owner)
            for _ in range(runs):
                code = portal.code("alice")  # may wait for the next 30 s period (not counted)
                t0 = time.perf_counter()
                client = keycloak_login(portal.url, "alice", portal.password("alice"), code)
                assert client.open_lab().status_code == 200
                mfa_times.append(time.perf_counter() - t0)
            stop(owner)
            rss = tree_rss(portal.keycloak_pid())
        finally:
            portal.stop()
    a = report("direct (demo login form)", direct_times)
    b = report("Keycloak password + code, Apache", mfa_times)
    print(f"ratio MFA / direct: {b / a:.2f}")
    print(f"Keycloak resident memory after {runs} logins: {rss / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
