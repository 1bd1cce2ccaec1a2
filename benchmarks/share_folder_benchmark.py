"""Share a folder against copying its files one by one, on a real demo portal.

A folder of 100 files, 50 MB in all (30 notebooks and 70 CSV files), in one run:

- folder share: ``POST sdcc-lab/api/shares {"path": FOLDER}`` on alice's server
  (the folder is packed and streamed to the share service);
- folder import: ``POST sdcc-lab/api/imports`` on bob's server (the pack comes
  from the service and is written file by file into ``shared/alice/FOLDER``,
  a fresh folder each run);
- one by one: for each file, ``GET api/contents/FILE`` from alice's server and
  ``PUT api/contents/FILE`` into bob's (what copying through JupyterLab's own
  API costs);

as medians of several runs, with the peak resident memory (RSS) of the share
service and of both servers above their idle RSS (sampled every 10 ms). It
prints the ratios. Not a test: it asserts nothing.

Run: ``.venv/bin/python benchmarks/share_folder_benchmark.py [--runs 3] [--files 100] [--size 50M]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import tempfile
from pathlib import Path

from share_benchmark import (
    MB,
    HubClient,
    PeakRSS,
    demo_password,
    find_processes,
    homes_root,
    parse_size,
    rss,
    start_portal,
    timed,
    write_notebook,
)

FOLDER = "bench-folder"


def make_folder(folder: Path, files: int, total: int) -> tuple[list[str], int]:
    """``files`` files of about ``total`` bytes in all: 30 % notebooks, the rest CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    each = total // files
    names, written = [], 0
    row = ",".join(f"{i * 0.125:.3f}" for i in range(12)) + "\n"
    for i in range(files):
        if i < files * 3 // 10:
            name = f"nb-{i:03}.ipynb"
            written += write_notebook(folder / name, each)
        else:
            name = f"data-{i:03}.csv"
            with open(folder / name, "w") as f:
                f.write(row * max(1, each // len(row)))
            written += (folder / name).stat().st_size
        names.append(name)
    return names, written


def one_by_one(alice: HubClient, bob: HubClient, names: list[str], target: str) -> None:
    r = bob.server_api("PUT", f"api/contents/{target}", json={"type": "directory"})
    assert r.status_code in (200, 201), r.text
    for name in names:
        got = alice.server_api("GET", f"api/contents/{FOLDER}/{name}")
        assert got.status_code == 200, got.text
        model = got.json()
        put = bob.server_api(
            "PUT",
            f"api/contents/{target}/{name}",
            json={"type": model["type"], "format": model["format"], "content": model["content"]},
        )
        assert put.status_code in (200, 201), put.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--size", default="50M")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sdcc-folder-bench-"))
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
        names, total = make_folder(homes / "alice" / FOLDER, args.files, parse_size(args.size))
        if os.geteuid() == 0:  # the demo runs alice's server as alice
            shutil.chown(homes / "alice" / FOLDER, "alice")
            for name in names:
                shutil.chown(homes / "alice" / FOLDER / name, "alice")
        share_t, import_t, plain_t = [], [], []
        link = ""
        with PeakRSS(procs) as share_peak:
            for _ in range(args.runs):
                t, r = timed(alice.server_api, "POST", "sdcc-lab/api/shares", json={"path": FOLDER})
                assert r.status_code == 201, r.text
                share_t.append(t)
                if link:
                    alice.server_api("DELETE", f"sdcc-lab/api/shares/{r.json()['id']}")
                else:
                    link = r.json()["url"]
            for _ in range(args.runs):
                shutil.rmtree(homes / "bob" / "shared", ignore_errors=True)
                t, r = timed(bob.server_api, "POST", "sdcc-lab/api/imports", json={"link": link})
                assert r.status_code == 201, r.text
                assert len(r.json()["files"]) == len(names), r.json()
                import_t.append(t)
        with PeakRSS(procs) as plain_peak:
            for i in range(args.runs):
                t, _ = timed(one_by_one, alice, bob, names, f"plain-{i}")
                plain_t.append(t)
        s, i, p = (statistics.median(x) * 1000 for x in (share_t, import_t, plain_t))
        print("\nidle RSS: " + ", ".join(f"{k} {v / MB:.0f} MB" for k, v in sorted(idle.items())))
        print(f"\nfolder: {len(names)} files, {total / MB:.1f} MB; {args.runs} runs (medians)")
        print(f"folder share   {s:8.0f} ms")
        print(f"folder import  {i:8.0f} ms")
        print(f"share+import   {s + i:8.0f} ms")
        print(f"one by one     {p:8.0f} ms  (Contents API GET + PUT per file)")
        print(f"(share+import) / one by one: {(s + i) / p:.2f}; import / one by one: {i / p:.2f}")
        print(
            "\npeak RSS above idle, as a multiple of the folder's size (folder share | one by one):"
        )
        for name in sorted(idle):
            a = max(share_peak.peak.get(name, 0) - idle[name], 0) / total
            b = max(plain_peak.peak.get(name, 0) - idle[name], 0) / total
            print(f"  {name}: {a:.2f}x | {b:.2f}x")
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=90)
        if os.geteuid() == 0:
            shutil.rmtree(homes_root(workdir / "data"), ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
