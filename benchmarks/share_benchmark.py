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
"""

from __future__ import annotations

import argparse
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
from hubclient import HubClient

from sdcc_lab.netutil import free_port

BIN = Path(sys.executable).parent
MB = 1024 * 1024


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


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
                "cell_type": "code", "execution_count": i + 1, "id": f"c{i}", "metadata": {},
                "source": [f"for i in range({out_lines}):\n", "    print(i)"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [line] * out_lines}],
            }
            f.write(("," if i else "") + json.dumps(cell))
        f.write('], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", '
                '"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}')
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
                try:
                    self.peak[name] = max(self.peak[name], p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.01)

    def __enter__(self) -> PeakRSS:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def rss(procs: dict[str, psutil.Process]) -> dict[str, int]:
    return {name: p.memory_info().rss for name, p in procs.items()}


def start_portal(data: Path) -> tuple[str, subprocess.Popen[bytes], Path]:
    port = free_port()
    log = data.parent / "demo.log"
    proc = subprocess.Popen(
        [str(BIN / "sdcc-lab"), "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
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
    put = bob.server_api("PUT", f"api/contents/{target}",
                         json={"type": "notebook", "format": "json", "content": got.json()["content"]})
    assert put.status_code in (200, 201), put.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10K,1M,50M")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="sdcc-share-bench-"))
    url, demo, _ = start_portal(workdir / "data")
    try:
        alice, bob = HubClient(url, "alice"), HubClient(url, "bob")
        for client in (alice, bob):
            client.login()
            client.start_server(local=True)
            client.open_lab()
        procs = find_processes(demo)
        idle = rss(procs)
        homes = workdir / "data" / "home"
        rows = []
        for size in sizes:
            name = f"bench-{size}.ipynb"
            actual = write_notebook(homes / "alice" / name, size)
            runs = args.runs if size < 20 * MB else max(3, args.runs // 2)
            share_times, import_times, plain_times = [], [], []
            link = ""
            with PeakRSS(procs) as share_peak:
                for _ in range(runs):
                    t, r = timed(alice.server_api, "POST", "sdcc-lab/api/shares", json={"path": name})
                    assert r.status_code == 201, r.text
                    share_times.append(t)
                    if link:
                        alice.server_api("DELETE", f"sdcc-lab/api/shares/{r.json()['id']}")
                    else:
                        link = r.json()["url"]
                for _ in range(runs):
                    shutil.rmtree(homes / "bob" / "shared", ignore_errors=True)
                    t, r = timed(bob.server_api, "POST", "sdcc-lab/api/imports", json={"link": link})
                    assert r.status_code == 201, r.text
                    import_times.append(t)
            rows.append((size, actual, runs, share_times, import_times, plain_times, dict(share_peak.peak)))
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
        shutil.rmtree(workdir, ignore_errors=True)


def report(rows: list[Any], idle: dict[str, int]) -> None:
    print("\nidle RSS: " + ", ".join(f"{k} {v / MB:.0f} MB" for k, v in sorted(idle.items())))
    print(f"\n{'size':>9} {'runs':>4} {'share ms':>9} {'import ms':>10} {'plain copy ms':>14} "
          f"{'import/plain':>12} {'share/plain':>11}")
    for size, actual, runs, share_t, import_t, plain_t, _, _ in rows:
        s, i, p = (statistics.median(t) * 1000 for t in (share_t, import_t, plain_t))
        print(f"{actual / MB:8.2f}M {runs:>4} {s:9.0f} {i:10.0f} {p:14.0f} {i / p:12.2f} {s / p:11.2f}")
    print("\npeak RSS above idle, as a multiple of the file size (share path | plain copy):")
    for size, actual, _, _, _, _, share_peak, plain_peak in rows:
        parts = []
        for name in sorted(idle):
            a = (share_peak.get(name, 0) - idle[name]) / actual
            b = (plain_peak.get(name, 0) - idle[name]) / actual
            parts.append(f"{name} {max(a, 0):.2f}x | {max(b, 0):.2f}x")
        print(f"{actual / MB:8.2f}M  " + "; ".join(parts))
    big = rows[-1]
    i, p = statistics.median(big[4]), statistics.median(big[5])
    worst = max((big[6].get(n, 0) - idle[n]) / big[1] for n in idle)
    print(f"\ntargets at {big[1] / MB:.0f} MB: import/plain {i / p:.2f} (≤ 1.5), "
          f"worst share-path peak {worst:.2f}x the file (≤ 2)")


if __name__ == "__main__":
    main()
