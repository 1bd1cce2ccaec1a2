"""Server CPU per poll of the resources panel with per-kernel figures, for 1, 4 and 16 kernels.

One local server (the sdcc_lab extension on, no scheduler); notebooks opened
through ``POST /api/sessions`` so that each kernel has its notebook's name, each
kernel holding ``--kernel-mb`` MB of touched memory. For each kernel count, in
the same run: ``GET /api/status`` (the floor: tornado, authentication, JSON),
then ``GET /sdcc-lab/api/resources`` (the job's usage, every kernel's PSS and
CPU, the home's storage from the background reader), polls ``--spacing`` s
apart so every poll is past the 1 s usage cache and pays its full cost.

Server CPU is the server process's own CPU clock (all its threads; the
helpers of benchmarks/resources_benchmark.py), minus its idle rate measured
just before each series. Printed: ms per poll, and the ratio resources /
status per kernel count (the target of issue 13: at most 2, flat in the
number of kernels).

    .venv/bin/python benchmarks/panel_kernels_benchmark.py [--counts 1,4,16] [--polls 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resources_benchmark import (  # the same server start, kernel code and CPU clock
    Server,
    _execute,
    idle_cpu_rate,
    spaced_polls,
    start_local_server,
)


def open_notebooks(server: Server, first: int, count: int, megabytes: int) -> None:
    """Notebooks ``first``..``first+count-1``, each kernel holding ``megabytes`` MB."""
    code = f"held = bytearray({megabytes} << 20)\nfor i in range(0, len(held), 4096): held[i] = 1"
    for n in range(first, first + count):
        r = requests.post(
            server.url + "api/sessions",
            json={"path": f"nb{n}.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
            headers={"Authorization": f"token {server.token}"},
            timeout=120,
        )
        r.raise_for_status()
        asyncio.run(_execute(server, r.json()["kernel"]["id"], code))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--counts", default="1,4,16", help="kernel counts, ascending")
    ap.add_argument("--polls", type=int, default=15, help="polls per series")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kernel-mb", type=int, default=50)
    ap.add_argument("--spacing", type=float, default=1.1, help="seconds between polls")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    paths = [
        ("`/api/status`", "api/status"),
        ("`sdcc-lab/api/resources`", "sdcc-lab/api/resources"),
    ]
    folder = Path(tempfile.mkdtemp(prefix="sdcc-panel-kernels-"))
    server = start_local_server(folder)
    figures: dict[int, dict[str, float]] = {}
    listed: dict[int, int] = {}
    try:
        opened = 0
        for count in counts:
            open_notebooks(server, opened, count - opened, args.kernel_mb)
            opened = count
            time.sleep(2)
            got: dict[str, list[float]] = {}
            for _ in range(args.rounds):
                idle = idle_cpu_rate(server, args.polls * args.spacing / 2)
                for name, path in paths:
                    got.setdefault(name, []).append(
                        spaced_polls(server, path, args.polls, args.spacing, idle)
                    )
            figures[count] = {name: statistics.median(v) for name, v in got.items()}
            data = requests.get(
                server.url + "sdcc-lab/api/resources",
                headers={"Authorization": f"token {server.token}"},
                timeout=30,
            ).json()
            listed[count] = len(data["usage"]["kernels"] or [])
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\nServer CPU per poll, polls {args.spacing:g} s apart, median of {args.rounds} rounds "
        f"of {args.polls} polls, idle rate subtracted ({args.kernel_mb} MB per kernel):\n"
    )
    print("| kernels | " + " | ".join(n for n, _ in paths) + " | ratio | kernels in the answer |")
    print("| --- | --- | --- | --- | --- |")
    for count in counts:
        f = figures[count]
        status, ours = f[paths[0][0]], f[paths[1][0]]
        print(
            f"| {count} | {status:.2f} ms | {ours:.2f} ms | "
            f"**{ours / status:.2f}** | {listed[count]} |"
        )


if __name__ == "__main__":
    main()
