"""Share links against a plain Contents API copy, on a real demo portal.

For notebooks of 10 KB, 1 MB and 50 MB this measures, in one run:

- share-create: ``POST sdcc-lab/api/shares`` on alice's server (the snapshot
  goes to the share service);
- import: ``POST sdcc-lab/api/imports`` on bob's server (the snapshot comes
  from the service into bob's folder, a new file each run);
- plain copy: ``GET api/contents/FILE`` from alice's server, then
  ``PUT api/contents/FILE`` into bob's (what a copy through JupyterLab's own
  API costs);

as medians of several runs, and the peak resident memory (RSS) of the share
service and of both servers above their idle RSS, sampled every 10 ms. It
prints the ratios. Targets (issue 3): at 50 MB, import ≤ 1.5 × the plain
copy, and no process's peak more than 2 × the file size above its idle RSS.

Run: ``.venv/bin/python benchmarks/share_benchmark.py [--runs 5] [--sizes 10K,1M,50M]``
(about two minutes on two cores). Not a test: it asserts nothing.

``--bomb`` measures a nesting bomb instead (issue 5): 5 MB of ``[``, a valid
notebook nested as deep, and a valid shallow one made of 5 MB of tiny arrays
(the slowest body to check per byte; it is stored), posted straight to the service's API with alice's
token, while bob's token asks ``GET api/shares`` again and again. It prints
the bomb's answer, the service's peak RSS above its RSS before the bomb, and
the longest and median time bob waited (the longest stall of the service's
event loop that bob saw). ``--code-tree DIR`` runs the portal (hub and share
service) with the ``sdcc_lab`` package of another checkout, for a before/after
comparison (``git archive COMMIT sdcc_lab | tar -x -C DIR``).
Targets: growth < 100 MB, bob's longest wait < 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from hubclient import HubClient  # noqa: E402  (tests/ is put on the path just above)

from sdcc_lab.netutil import free_port  # noqa: E402

BIN = Path(sys.executable).parent
MB = 1024 * 1024


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MB}
    return (
        int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)
    )


def write_notebook(path: Path, size: int) -> int:
    """A notebook of about ``size`` bytes: code cells with ~8 KB of text output each."""
    line = "0123456789abcdef" * 4 + "\n"
    per_cell = 8 * 1024
    cells = max(1, size // (per_cell + 200))
    out_lines = max(1, min(per_cell, size) // len(line))
    with open(path, "w") as f:
        f.write('{"cells": [')
        for i in range(cells):
            cell = {
                "cell_type": "code",
                "execution_count": i + 1,
                "id": f"c{i}",
                "metadata": {},
                "source": [f"for i in range({out_lines}):\n", "    print(i)"],
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": [line] * out_lines}
                ],
            }
            f.write(("," if i else "") + json.dumps(cell))
        f.write(
            '], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", '
            '"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}'
        )
    return path.stat().st_size


class PeakRSS:
    """Samples the RSS of some processes in a thread; peak per process."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs
        self.peak = {name: 0 for name in procs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, p in self.procs.items():
                with contextlib.suppress(psutil.Error):  # a process that just ended
                    self.peak[name] = max(self.peak[name], p.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRSS:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def rss(procs: dict[str, psutil.Process]) -> dict[str, int]:
    return {name: p.memory_info().rss for name, p in procs.items()}


def start_portal(data: Path, code_tree: str = "") -> tuple[str, subprocess.Popen[bytes], Path]:
    port = free_port()
    log = data.parent / "demo.log"
    # As root the demo runs each session as the user's own account: homes in a
    # folder every user can pass through (the work folder is private).
    args = ("--create-users", "--home-root", str(homes_root(data))) if os.geteuid() == 0 else ()
    proc = subprocess.Popen(
        [str(BIN / "sdcc-lab"), "demo", "--port", str(port), "--data-dir", str(data), *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **({"PYTHONPATH": code_tree} if code_tree else {}),
        },
    )
    deadline = time.monotonic() + 120
    while b"demo portal is running" not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the demo portal did not start:\n{log.read_text()}")
        time.sleep(0.3)
    return f"http://127.0.0.1:{port}/", proc, log


def find_processes(demo: subprocess.Popen[bytes]) -> dict[str, psutil.Process]:
    found: dict[str, psutil.Process] = {}
    for p in psutil.Process(demo.pid).children(recursive=True):
        try:
            cmd = " ".join(p.cmdline())
            if "sdcc_lab.share" in cmd:
                found["service"] = p
            elif "jupyterhub-singleuser" in cmd:
                found[p.environ().get("JUPYTERHUB_USER", "?") + "'s server"] = p
        except psutil.Error:
            continue
    return found


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t0, result


def plain_copy(alice: HubClient, bob: HubClient, name: str, target: str) -> None:
    """What copying through JupyterLab's own API costs: GET from alice, PUT into bob."""
    got = alice.server_api("GET", f"api/contents/{name}")
    assert got.status_code == 200, got.text
    put = bob.server_api(
        "PUT",
        f"api/contents/{target}",
        json={"type": "notebook", "format": "json", "content": got.json()["content"]},
    )
    assert put.status_code in (200, 201), put.text


def homes_root(data: Path) -> Path:
    """Where the demo keeps the users' folders (as root: outside the private work folder)."""
    if os.geteuid() != 0:
        return data / "home"
    root = Path("/tmp") / f"sdcc-share-bench-homes-{abs(hash(str(data))) % 10**8}"
    root.mkdir(mode=0o755, exist_ok=True)
    return root


def demo_password(data: Path) -> str | None:
    """The demo's login password (it writes one into its data folder), if it keeps one."""
    path = data / "hub" / "demo-password"
    return path.read_text().strip() if path.exists() else None


BOMB_SIZE = 5_000_000


def bombs() -> dict[str, bytes]:
    head = (
        b'{"cells": [{"cell_type": "code", "execution_count": 1, "id": "deep", "metadata": {}, '
        b'"source": "x", "outputs": [{"output_type": "execute_result", "execution_count": 1, '
        b'"metadata": {}, "data": {"application/json": '
    )
    tail = b'}}]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    depth = (BOMB_SIZE - len(head) - len(tail)) // 2
    # Shallow but dense: one small array after another, each a few turns of the checker's loop.
    dense = b",".join([b"[0]"] * ((BOMB_SIZE - len(head) - len(tail)) // 4))
    return {
        "5 MB of '['": b"[" * BOMB_SIZE,
        "valid notebook, 5 MB deep": head + b"[" * depth + b"]" * depth + tail,
        "valid notebook, 5 MB of [0],[0],… (shallow)": head + b"[" + dense + b"]" + tail,
    }


def post_raw(host: str, port: int, path: str, token: str, body: bytes) -> tuple[int, bytes]:
    """POST with a known length, the whole body at once (what a hostile client does)."""
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=600)
    conn.request(
        "POST",
        path,
        body=body,
        headers={"Authorization": f"token {token}", "Content-Type": "application/x-ipynb+json"},
    )
    response = conn.getresponse()
    return response.status, response.read()


def bomb_main(code_tree: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="sdcc-share-bomb-"))
    url, demo, _ = start_portal(workdir / "data", code_tree)
    try:
        tokens = {}
        for name in ("alice", "bob"):
            client = HubClient(url, name, demo_password(workdir / "data"))
            client.login()
            r = client.hub_api("POST", f"users/{name}/tokens", json={"note": "bomb benchmark"})
            tokens[name] = r.json()["token"]
        service = find_processes(demo)["service"]
        env = service.environ()
        host, port = env["JUPYTERHUB_SERVICE_URL"].rsplit("/", 1)[-1].rsplit(":", 1)
        prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "/services/share/")
        print(f"share service pid {service.pid}, code from {code_tree or ROOT}")
        bob = requests_session(tokens["bob"])
        api = f"http://{host}:{port}{prefix}api/shares"
        for token in tokens.values():  # the service knows both tokens (the hub's answer is cached)
            bob.get(api, headers={"Authorization": f"token {token}"}, timeout=60)
        for name, body in bombs().items():
            time.sleep(1)
            before = service.memory_info().rss
            waits: list[float] = []
            done = threading.Event()

            def probe(done: threading.Event = done, waits: list[float] = waits) -> None:
                while not done.is_set():
                    t0 = time.perf_counter()
                    bob.get(api, timeout=600)
                    waits.append(time.perf_counter() - t0)

            prober = threading.Thread(target=probe, daemon=True)
            with PeakRSS({"service": service}) as peak:
                prober.start()
                time.sleep(0.3)
                t0 = time.perf_counter()
                status, text = post_raw(
                    host, int(port), f"{prefix}api/shares?path=bomb.ipynb", tokens["alice"], body
                )
                took = time.perf_counter() - t0
                done.set()
                prober.join()
            message = json.loads(text).get("message", "") if text.startswith(b"{") else text[:80]
            print(f"\n{name}: answered {status} in {took:.2f} s ({str(message)[:70]!r})")
            print(f"  service peak RSS above before: {(peak.peak['service'] - before) / MB:.0f} MB")
            print(
                f"  bob's requests meanwhile: {len(waits)}, longest {max(waits) * 1000:.0f} ms, "
                f"median {statistics.median(waits) * 1000:.0f} ms"
            )
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=90)
        shutil.rmtree(workdir, ignore_errors=True)


def requests_session(token: str) -> Any:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10K,1M,50M")
    parser.add_argument("--bomb", action="store_true", help="measure a 5 MB nesting bomb instead")
    parser.add_argument(
        "--code-tree", default="", help="run the portal with the sdcc_lab of this checkout"
    )
    args = parser.parse_args()
    if args.bomb:
        bomb_main(args.code_tree)
        return
    sizes = [parse_size(s) for s in args.sizes.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="sdcc-share-bench-"))
    url, demo, _ = start_portal(workdir / "data")
    try:
        password = demo_password(workdir / "data")
        alice, bob = HubClient(url, "alice", password), HubClient(url, "bob", password)
        for client in (alice, bob):
            client.login()
            client.start_server(local=True)
            client.open_lab()
        procs = find_processes(demo)
        idle = rss(procs)
        homes = homes_root(workdir / "data")
        rows = []
        for size in sizes:
            name = f"bench-{size}.ipynb"
            actual = write_notebook(homes / "alice" / name, size)
            runs = args.runs if size < 20 * MB else max(3, args.runs // 2)
            share_times, import_times, plain_times = [], [], []
            link = ""
            with PeakRSS(procs) as share_peak:
                for _ in range(runs):
                    t, r = timed(
                        alice.server_api, "POST", "sdcc-lab/api/shares", json={"path": name}
                    )
                    assert r.status_code == 201, r.text
                    share_times.append(t)
                    if link:
                        alice.server_api("DELETE", f"sdcc-lab/api/shares/{r.json()['id']}")
                    else:
                        link = r.json()["url"]
                for _ in range(runs):
                    shutil.rmtree(homes / "bob" / "shared", ignore_errors=True)
                    t, r = timed(
                        bob.server_api, "POST", "sdcc-lab/api/imports", json={"link": link}
                    )
                    assert r.status_code == 201, r.text
                    import_times.append(t)
            rows.append(
                (size, actual, runs, share_times, import_times, plain_times, dict(share_peak.peak))
            )
        # Plain copies last: the Contents API's parsing grows the servers' heaps,
        # which Python keeps; measured first, it would hide the share path's peaks.
        for row in rows:
            size, actual, runs, _, _, plain_times, _ = row
            name = f"bench-{size}.ipynb"
            with PeakRSS(procs) as plain_peak:
                for i in range(runs):
                    t, _ = timed(plain_copy, alice, bob, name, f"plain-{i}-{name}")
                    plain_times.append(t)
            row_list = list(row)
            row_list.append(dict(plain_peak.peak))
            rows[rows.index(row)] = tuple(row_list)  # type: ignore[assignment]
        report(rows, idle)
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=90)
        if os.geteuid() == 0:
            shutil.rmtree(homes_root(workdir / "data"), ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


def report(rows: list[Any], idle: dict[str, int]) -> None:
    print("\nidle RSS: " + ", ".join(f"{k} {v / MB:.0f} MB" for k, v in sorted(idle.items())))
    print(
        f"\n{'size':>9} {'runs':>4} {'share ms':>9} {'import ms':>10} {'plain copy ms':>14} "
        f"{'import/plain':>12} {'share/plain':>11}"
    )
    for _size, actual, runs, share_t, import_t, plain_t, _, _ in rows:
        s, i, p = (statistics.median(t) * 1000 for t in (share_t, import_t, plain_t))
        print(
            f"{actual / MB:8.2f}M {runs:>4} {s:9.0f} {i:10.0f} {p:14.0f} {i / p:12.2f} {s / p:11.2f}"
        )
    print("\npeak RSS above idle, as a multiple of the file size (share path | plain copy):")
    for _size, actual, _, _, _, _, share_peak, plain_peak in rows:
        parts = []
        for name in sorted(idle):
            a = (share_peak.get(name, 0) - idle[name]) / actual
            b = (plain_peak.get(name, 0) - idle[name]) / actual
            parts.append(f"{name} {max(a, 0):.2f}x | {max(b, 0):.2f}x")
        print(f"{actual / MB:8.2f}M  " + "; ".join(parts))
    big = rows[-1]
    i, p = statistics.median(big[4]), statistics.median(big[5])
    worst = max((big[6].get(n, 0) - idle[n]) / big[1] for n in idle)
    print(
        f"\ntargets at {big[1] / MB:.0f} MB: import/plain {i / p:.2f} (≤ 1.5), "
        f"worst share-path peak {worst:.2f}x the file (≤ 2)"
    )


if __name__ == "__main__":
    main()
