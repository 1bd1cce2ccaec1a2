"""Preview before import (issue 14): render time and memory of a share's preview.

For notebooks of 1 MB and 20 MB (code cells with text outputs and a small PNG each,
as a plotting notebook holds them) this measures, in one run:

- preview: what the share service does for ``GET preview/{id}``
  (:class:`sdcc_lab.share.preview.SharePreview` with its cache off): a child
  process renders with nbconvert's ``basic`` template and sanitises with nh3;
- baseline: nbconvert's own ``HTMLExporter`` (``lab`` template, no sanitiser),
  in-process, as ``jupyter nbconvert --to html`` renders the same notebook;

as medians of several runs, with the ratio preview / baseline. Memory: the peak
RSS of the service's side (this process, which runs the same code as the service,
above its RSS before the render) and of the render's child, sampled every 10 ms;
and the longest stall of the event loop during a preview (a 10 ms ticker), which
shows the render runs off the loop.

Run: ``.venv/bin/python benchmarks/preview_benchmark.py [--runs 5] [--sizes 1M,20M]``
(about a minute on two cores). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sdcc_lab.share.preview import SharePreview  # noqa: E402

MB = 1024 * 1024
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="


def notebook(size: int) -> dict[str, Any]:
    """A notebook of about ``size`` bytes: markdown, code with ~8 KB of output and a PNG."""
    text = "".join(f"step {i}: value = {i * 0.001:.6f}\n" for i in range(300))  # ~8 KB

    def pair(i: int) -> list[dict[str, Any]]:
        return [
            {"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": f"## Part {i}"},
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "execution_count": i,
                "source": f"for i in range(300):\n    print(f'step {{i}}: {i}')\nplot({i})",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": text},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": PNG, "text/plain": "<Figure>"},
                    },
                ],
            },
        ]

    each = len(json.dumps(pair(0)))
    cells = [c for i in range(max(1, size // each)) for c in pair(i)]
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": cells,
    }


class Peak:
    """Peak RSS of this process above its start, sampled every 10 ms, and of the largest
    child (the kernel's own count: ``getrusage(RUSAGE_CHILDREN).ru_maxrss``)."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.base = self.me.memory_info().rss
        self.own = 0
        self.child = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.own = max(self.own, self.me.memory_info().rss - self.base)
            time.sleep(0.01)

    def __enter__(self) -> Peak:  # noqa: PYI034  (final class)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux


async def preview_once(previewer: SharePreview, path: Path, key: str) -> tuple[float, float]:
    """One preview's time and the event loop's longest stall meanwhile (seconds)."""
    stall = 0.0
    done = False

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.01)
            last = now

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    renders = await previewer.render(key, path, False)
    took = time.perf_counter() - start
    done = True
    await tick
    assert renders and renders[0].html and not renders[0].problem, renders[0].problem
    return took, stall


def baseline_once(path: Path) -> float:
    import nbformat
    from nbconvert import HTMLExporter

    start = time.perf_counter()
    nb = nbformat.read(str(path), as_version=4)
    HTMLExporter(template_name="lab").from_notebook_node(nb)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1M,20M")
    args = parser.parse_args()
    previewer = SharePreview(cache_bytes=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label in args.sizes.split(","):
            size = int(float(label.rstrip("MK")) * (MB if label.endswith("M") else 1024))
            path = Path(tmp) / f"nb-{label}.ipynb"
            path.write_text(json.dumps(notebook(size)))
            real = path.stat().st_size
            times, stalls = [], []
            with Peak() as peak:
                for run in range(args.runs):
                    took, stall = asyncio.run(preview_once(previewer, path, f"{label}-{run}"))
                    times.append(took)
                    stalls.append(stall)
            base = [baseline_once(path) for _ in range(args.runs)]
            rows.append(
                (
                    f"{real / MB:.2f} MB",
                    statistics.median(times),
                    statistics.median(base),
                    peak.own / MB,
                    peak.child / MB,
                    max(stalls),
                )
            )
            print(
                f"{label}: preview {[f'{t:.2f}' for t in times]} s, nbconvert {[f'{t:.2f}' for t in base]} s",
                flush=True,
            )
    print()
    print(
        "| notebook | preview (median) | nbconvert lab, no sanitiser | preview / nbconvert | "
        "service peak RSS above idle | render child peak RSS | longest event-loop stall |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size, p, b, own, child, stall in rows:
        print(
            f"| {size} | {p * 1000:.0f} ms | {b * 1000:.0f} ms | {p / b:.2f} | "
            f"{own:.1f} MiB | {child:.0f} MiB | {stall * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
