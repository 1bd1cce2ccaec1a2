"""Unit tests of share links: tokens, key rotation, naming and collisions, limits, the
streaming notebook check."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest

from sdcc_lab.nbstream import InvalidNotebook, NotebookStream
from sdcc_lab.server.imports import ImportRecord, free_name, notebook_name, safe_segment
from sdcc_lab.share.tokens import ShareSigner, TokenClaims, TokenError

CLAIMS = TokenClaims(
    "0123abcd",
    "alice",
    "dir/analysis.ipynb",
    {"scheduler": "slurm", "options": {"partition": "gpu"}},
)


def test_token_round_trip() -> None:
    signer = ShareSigner(["k1"])
    assert signer.verify(signer.sign(CLAIMS)) == CLAIMS


@pytest.mark.parametrize("position", [5, 20, -3])
def test_tampered_token_is_refused(position: int) -> None:
    signer = ShareSigner(["k1"])
    token = signer.sign(CLAIMS)
    i = position % len(token)
    flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    with pytest.raises(TokenError):
        signer.verify(flipped)


def test_a_token_of_another_service_is_refused() -> None:
    with pytest.raises(TokenError):
        ShareSigner(["k1"]).verify(ShareSigner(["other"]).sign(CLAIMS))


@pytest.mark.parametrize("junk", ["", "a", "not a token at all!", "x" * 9000, "<script>" * 4])
def test_malformed_tokens_are_refused_not_crashing(junk: str) -> None:
    with pytest.raises(TokenError):
        ShareSigner(["k1"]).verify(junk)


def test_key_rotation() -> None:
    old = ShareSigner(["old"])
    token = old.sign(CLAIMS)
    rotated = ShareSigner(["new", "old"])  # newest first
    assert rotated.verify(token) == CLAIMS  # old links keep working
    new_token = rotated.sign(CLAIMS)
    with pytest.raises(TokenError):
        old.verify(new_token)  # new links are signed with the new key
    retired = ShareSigner(["new"])
    assert retired.verify(new_token) == CLAIMS
    with pytest.raises(TokenError):
        retired.verify(token)  # removing a key kills its links


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError):
        ShareSigner(["", ""])


# --- naming and collisions -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("analysis.ipynb", "analysis.ipynb"),
        ("a/b/c.ipynb", "c.ipynb"),
        ("..", "notebook.ipynb"),
        (".hidden.ipynb", "hidden.ipynb"),
        ("noext", "noext.ipynb"),
        ("Résumé 日本.ipynb", "Résumé 日本.ipynb"),
    ],
)
def test_notebook_name(value: str, expected: str) -> None:
    assert notebook_name(value) == expected


@pytest.mark.parametrize(
    ("owner", "expected"),
    [("alice", "alice"), ("../x", "_x"), ("a/b", "a_b"), ("", "unknown"), ("..", "unknown")],
)
def test_owner_folder_is_one_safe_segment(owner: str, expected: str) -> None:
    assert safe_segment(owner, "unknown") == expected


def test_free_name_counts_up(tmp_path: Path) -> None:
    assert free_name(tmp_path, "a.ipynb") == "a.ipynb"
    (tmp_path / "a.ipynb").write_text("x")
    (tmp_path / "a-1.ipynb").write_text("x")
    assert free_name(tmp_path, "a.ipynb") == "a-2.ipynb"


def share(version: int, sid: str = "s1") -> dict[str, object]:
    return {"id": sid, "owner": "alice", "path": "analysis.ipynb", "version": version}


def test_import_decisions(tmp_path: Path) -> None:
    folder = tmp_path / "shared/alice"
    folder.mkdir(parents=True)
    record = ImportRecord(tmp_path / "imports.json")
    assert record.decide(folder, "analysis.ipynb", share(1)).action == "created"

    target = folder / "analysis.ipynb"
    target.write_text("v1")
    from sdcc_lab.server.imports import file_sha256

    record.remember(target, share(1), file_sha256(target))
    record.save()
    record = ImportRecord(tmp_path / "imports.json")  # survives a restart
    assert record.decide(folder, "analysis.ipynb", share(1)).action == "unchanged"
    assert record.decide(folder, "analysis.ipynb", share(2)).action == "refreshed"

    target.write_text("v1 + my edits")
    d = record.decide(folder, "analysis.ipynb", share(2))
    assert (d.action, d.name) == ("copied", "analysis-1.ipynb")

    # A file of that name the recipient made themselves is never ours to overwrite.
    other = ImportRecord(tmp_path / "other.json")
    d = other.decide(folder, "analysis.ipynb", share(1, "s2"))
    assert (d.action, d.name) == ("copied", "analysis-1.ipynb")

    target.unlink()  # the recipient deleted their copy: a new one is created
    assert record.decide(folder, "analysis.ipynb", share(3)).action == "created"


# --- size limit and the streaming check -----------------------------------------------------------
def notebook_bytes(source: str = "print(1)") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb).encode()


@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 20])
def test_stream_adds_provenance_and_keeps_the_cells(chunk: int) -> None:
    raw = notebook_bytes('print("a \\" b")')
    stream = NotebookStream(inject=("sdcc_lab_share", {"id": "x"}))
    out = b"".join(stream.feed(raw[i : i + chunk]) for i in range(0, len(raw), chunk))
    stream.close()
    nb = json.loads(out)
    assert nb["metadata"]["sdcc_lab_share"] == {"id": "x"}
    assert nb["cells"] == json.loads(raw)["cells"]
    assert stream.metadata and stream.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(nbformat.reads(out.decode(), 4))


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"[]",
        b"not json",
        b'{"cells": [1 2], "metadata": {}, "nbformat": 4}',
        b'{"cells": [], "metadata": {}, "nbformat": 4',
        b'{"cells": [], "metadata": {}, "nbformat": 3}',
        b'{"cells": [], "nbformat": 4}',
        b'{"cells": {}, "metadata": {}, "nbformat": 4}',
        b'{"cells": [], "metadata": {},, "nbformat": 4}',
        b'{"cells": [], "metadata": {}, "nbformat": 4} {}',
        b'{"cells": [tru], "metadata": {}, "nbformat": 4}',
    ],
)
def test_stream_refuses_what_is_not_a_notebook(bad: bytes) -> None:
    stream = NotebookStream()
    with pytest.raises(InvalidNotebook):
        stream.feed(bad)
        stream.close()


@pytest.mark.parametrize(
    ("n", "text"), [(100 * 1024 * 1024, "100 MB"), (1536, "1.5 KB"), (10, "10 bytes")]
)
def test_limits_are_named_in_messages(n: int, text: str) -> None:
    from sdcc_lab.nbstream import too_big

    assert too_big(n) == f"the notebook is larger than the limit of {text}"


def test_limit_defaults() -> None:
    from sdcc_lab.server.share_client import ShareClient
    from sdcc_lab.share.app import ShareService

    service = ShareService(keys=["k"])
    assert service.max_notebook_size == 100 * 1024 * 1024 == ShareClient().max_notebook_size
    assert service.lifetime(None) == timedelta(days=1)
    assert service.max_expires_in == 7 * 24 * 3600 and service.max_live_shares == 100
    # The HTTP paths (413 from the server and from the service) are in test_share_api.py.


@pytest.mark.parametrize("chunk", [1, 2, 5, 17, 4096])
def test_stream_fast_path_for_runs_of_strings_keeps_every_byte(chunk: int) -> None:
    text = ['line \\"quoted\\" é ✓\n', "tab\there\n", "back\\\\slash\n", "\\u00e9 end\n"] * 20
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "a",
                "metadata": {},
                "source": ["a = 1\n", "b = 2\n"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    raw = json.dumps(nb, indent=1, ensure_ascii=False).encode()
    stream = NotebookStream(inject=("k", 1))
    out = b"".join(stream.feed(raw[i : i + chunk]) for i in range(0, len(raw), chunk))
    stream.close()
    assert json.loads(out)["cells"] == json.loads(raw)["cells"]
    broken = raw.replace(b'"a = 1\\n",', b'"a = 1\\n" "b"', 1)
    assert broken != raw
    with pytest.raises(InvalidNotebook):
        bad = NotebookStream()
        for i in range(0, len(broken), chunk):
            bad.feed(broken[i : i + chunk])
        bad.close()


# --- nesting depth, runs of values, the store's shared snapshots ------------------------------------
def nested(depth: int) -> bytes:
    """A notebook whose one output's data nests ``depth`` levels in all (the top object is 1)."""
    head = (
        b'{"cells": [{"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1, '
        b'"outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {}, '
        b'"data": {"application/json": '
    )
    tail = b'}}]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    inner = depth - 6  # top, cells, cell, outputs, output, data
    return head + b"[" * inner + b"]" * inner + tail


@pytest.mark.parametrize("chunk", [1, 7, 1 << 16])
def test_the_stream_accepts_the_limit_and_refuses_one_level_more(chunk: int) -> None:
    from sdcc_lab.nbstream import DEFAULT_MAX_DEPTH, NotebookTooDeep

    ok = NotebookStream()
    raw = nested(DEFAULT_MAX_DEPTH)
    for i in range(0, len(raw), chunk):
        ok.feed(raw[i : i + chunk])
    ok.close()
    assert not ok.too_deep
    deep = NotebookStream()
    raw = nested(DEFAULT_MAX_DEPTH + 1)
    with pytest.raises(NotebookTooDeep, match=f"deeper than {DEFAULT_MAX_DEPTH} levels"):
        for i in range(0, len(raw), chunk):
            deep.feed(raw[i : i + chunk])
    assert deep.too_deep
    assert NotebookStream(max_depth=200).feed(nested(150))  # a site may allow more


def test_a_bracket_bomb_stops_at_the_limit_not_at_the_end() -> None:
    from sdcc_lab.nbstream import NotebookTooDeep

    stream = NotebookStream(max_depth=10)
    with pytest.raises(NotebookTooDeep):
        stream.feed(b"[" * 5_000_000)
    assert len(stream._stack) == 10


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 11, 4096])
@pytest.mark.parametrize(
    ("values", "valid"),
    [
        (b'1, 22, -3.5e+7, 0, true, false, null, "s", [1, 2], {"k": 0.25}, 9', True),
        (b"1,2,3,", False),
        (b"01, 2", False),
        (b"1.e5, 2", False),
        (b"1, 2 3", False),
        (b"tru, 1", False),
        (b"nulll, 1", False),
        (b"-, 1", False),
        (b"1,,2", False),
        (b'"a" "b", 1', False),
    ],
)
def test_runs_of_values_are_checked_like_any_value(chunk: int, values: bytes, valid: bool) -> None:
    raw = (
        b'{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ['
        + values
        + b']}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    try:
        json.loads(raw)
        assert valid
    except ValueError:
        assert not valid
    stream = NotebookStream()
    if valid:
        out = b"".join(stream.feed(raw[i : i + chunk]) for i in range(0, len(raw), chunk))
        stream.close()
        assert out == raw
    else:
        with pytest.raises(InvalidNotebook):
            for i in range(0, len(raw), chunk):
                stream.feed(raw[i : i + chunk])
            stream.close()


def test_new_limit_defaults_and_help() -> None:
    from sdcc_lab.share.app import ShareService

    service = ShareService(keys=["k"])
    assert service.max_notebook_depth == 64
    assert service.max_snapshot_bytes_per_user == 1024**3
    assert service.max_concurrent_uploads == 4
    for name in ("max_notebook_depth", "max_snapshot_bytes_per_user", "max_concurrent_uploads"):
        trait = service.traits()[name]
        assert trait.metadata.get("config") and "c.ShareService." + name in (trait.help or "")


def test_every_setting_of_the_service_and_its_client_says_how_to_set_it() -> None:
    """Each trait a site sets has help with an example (``c.Class.trait = …``)."""
    from sdcc_lab.server.share_client import ShareClient
    from sdcc_lab.share.app import ShareService
    from sdcc_lab.share.settings import ShareSettings

    own = {**ShareSettings.class_own_traits(), **ShareService.class_own_traits()}
    configurable = {n: t for n, t in own.items() if t.metadata.get("config")}
    assert "max_live_shares" in configurable and "keys_file" in configurable
    assert "clock" in own and "clock" not in configurable  # tests move it; sites cannot
    for name, trait in configurable.items():
        example = (
            f"c.ShareService.{name} = ",
            f"--ShareService.{name}=",
        )  # config_file: command line
        assert any(e in (trait.help or "") for e in example), name
    for name, trait in ShareClient.class_own_traits(config=True).items():
        assert f"c.ShareClient.{name} = " in (trait.help or ""), name


def store_with_part(tmp_path: Path) -> tuple[Any, Callable[[bytes], tuple[Path, int]]]:
    from sdcc_lab.share.store import ShareStore

    store = ShareStore(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "snapshots")

    def part(data: bytes) -> tuple[Path, int]:
        path = store.new_part_file()
        path.write_bytes(data)
        return path, len(data)

    return store, part


def test_links_of_one_file_share_one_snapshot_in_the_store(tmp_path: Path) -> None:
    store, part = store_with_part(tmp_path)
    day = timedelta(days=1)
    a = store.create("alice", "x.ipynb", {}, day, snapshot=part(b"v1"))
    b = store.create("alice", "x.ipynb", {}, day, snapshot=part(b"v2"))
    other = store.create("alice", "y.ipynb", {}, day, snapshot=part(b"yyyy"))
    assert a.snapshot_key == b.snapshot_key != other.snapshot_key
    assert store.snapshot_path(a.id).read_bytes() == b"v2"  # a new link shows the latest version
    assert store.get(a.id).version == 2 and store.get(b.id).version == 1
    assert store.snapshot_bytes("alice") == (6, 6)
    assert store.snapshot_bytes("alice", except_path="x.ipynb") == (6, 4)
    assert store.commit_snapshot("alice", "x.ipynb", *part(b"v3")) == {a.id: 3, b.id: 2}
    assert store.commit_snapshot("bob", "x.ipynb", *part(b"v3")) == {}  # not bob's file
    store.revoke(a.id)
    assert store.snapshot_path(b.id).read_bytes() == b"v3"
    store.revoke(b.id)
    assert not store.snapshot_file(b.snapshot_key).exists()
    assert sorted(p.name for p in store.snapshot_dir.iterdir()) == [f"{other.snapshot_key}.ipynb"]


def test_a_limit_in_the_store_writes_nothing(tmp_path: Path) -> None:
    from sdcc_lab.share.store import LimitReached

    store, part = store_with_part(tmp_path)
    day = timedelta(days=1)
    first = store.create("alice", "x.ipynb", {}, day, snapshot=part(b"12345"), quota=10)
    big, size = part(b"123456")
    with pytest.raises(LimitReached) as e:
        store.create("alice", "y.ipynb", {}, day, snapshot=(big, size), quota=10)
    assert (e.value.limit, e.value.used) == (10, 5)
    assert big.exists()  # still the caller's to remove
    assert [s.id for s in store.list("alice", live_only=False)] == [first.id]
    with pytest.raises(LimitReached):
        store.commit_snapshot("alice", "x.ipynb", *part(b"x" * 11), quota=10)
    assert store.snapshot_path(first.id).read_bytes() == b"12345"
    assert store.commit_snapshot("alice", "x.ipynb", *part(b"x" * 10), quota=10) == {first.id: 2}
    with pytest.raises(LimitReached):
        store.create("alice", "z.ipynb", {}, day, snapshot=part(b"z"), max_live=1)


def test_an_older_store_gets_the_snapshot_key(tmp_path: Path) -> None:
    """A database and snapshot folder written before links shared snapshots still work."""
    import sqlite3

    from sdcc_lab.share.store import ShareStore

    db = tmp_path / "db.sqlite"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE sdcc_lab_shares (id VARCHAR(32) PRIMARY KEY, owner VARCHAR(255), path TEXT, "
        "environment TEXT, created DATETIME, expires DATETIME, revoked DATETIME, opens INTEGER, "
        "last_opened DATETIME, version INTEGER, snapshot_size INTEGER, has_snapshot BOOLEAN)"
    )
    con.execute(
        "INSERT INTO sdcc_lab_shares VALUES ('0123abcd', 'alice', 'old.ipynb', '{}', "
        "'2026-01-01 00:00:00', '2999-01-01 00:00:00', NULL, 0, NULL, 1, 3, 1)"
    )
    con.commit()
    con.close()
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / "0123abcd.ipynb").write_bytes(b"old")
    store = ShareStore(f"sqlite:///{db}", tmp_path / "snapshots")
    assert store.snapshot_path("0123abcd").read_bytes() == b"old"
    assert store.snapshot_bytes("alice") == (3, 3)
    path = store.new_part_file()
    path.write_bytes(b"newer")
    assert store.commit_snapshot("alice", "old.ipynb", path, 5) == {"0123abcd": 2}
    assert store.snapshot_path("0123abcd").read_bytes() == b"newer"


def test_the_purge_drops_unused_snapshots_and_stale_part_files(tmp_path: Path) -> None:
    import os

    store, part = store_with_part(tmp_path)
    live = store.create("alice", "x.ipynb", {}, timedelta(days=1), snapshot=part(b"x"))
    orphan = store.snapshot_file("feedface")
    orphan.write_bytes(b"left by a crash")
    stale, _ = part(b"half")
    os.utime(stale, (1, 1))
    fresh, _ = part(b"in flight")
    store.purge_dead()
    assert store.snapshot_path(live.id).exists() and fresh.exists()
    assert not orphan.exists() and not stale.exists()


def test_the_upload_gate_counts_per_user() -> None:
    from sdcc_lab.share.limits import UploadGate

    gate = UploadGate()
    a1, a2 = gate.enter("alice", 10, True), gate.enter("alice", 10, True)
    gate.enter("bob", 5, False)
    assert (gate.in_flight("alice"), gate.reserved("alice"), gate.new_links("alice")) == (2, 20, 2)
    gate.leave(a1)
    gate.leave(a1)  # twice (finish and close) counts once
    assert (gate.in_flight("alice"), gate.reserved("alice"), gate.in_flight("bob")) == (1, 10, 1)
    gate.leave(a2)
    assert gate.in_flight("alice") == 0 and gate.reserved("alice") == 0


# --- seams: which side imports what -------------------------------------------------
def _modules_after_import(module: str) -> set[str]:
    """The ``sdcc_lab`` modules that importing ``module`` loads, in a fresh interpreter."""
    import subprocess
    import sys

    code = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('sdcc_lab')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_server_extension_does_not_import_the_share_service() -> None:
    """The single-user server's share code and the service share only neutral modules."""
    for module in (
        "sdcc_lab.server.shares",
        "sdcc_lab.server.imports",
        "sdcc_lab.server.share_sync",
    ):
        loaded = _modules_after_import(module)
        assert not {m for m in loaded if m.startswith("sdcc_lab.share")}, (module, sorted(loaded))


def test_the_share_handlers_do_not_import_the_application() -> None:
    """The application imports the handlers; the handlers never import it back (no circle)."""
    for module in (
        "sdcc_lab.share.base",
        "sdcc_lab.share.api",
        "sdcc_lab.share.web",
        "sdcc_lab.share.handlers",
    ):
        assert "sdcc_lab.share.app" not in _modules_after_import(module), module


# --- one kernelspec extraction, one table of display names ------------------------------
def test_kernelspec_of_keeps_the_text_facts_of_the_kernel() -> None:
    from sdcc_lab.nbstream import kernelspec_of

    assert kernelspec_of(
        {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
                "env": {"X": "1"},
            }
        }
    ) == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert kernelspec_of({"kernelspec": {"name": "julia", "display_name": None}}) == {
        "name": "julia"
    }
    assert kernelspec_of({"kernelspec": "python3"}) is None
    assert kernelspec_of({}) is None and kernelspec_of(None) is None


def test_a_links_page_names_the_session_with_jupyterlabs_words() -> None:
    """The share page and JupyterLab read one table, ``sdcc_lab/labels.json``."""
    from sdcc_lab.share.pages import environment_pairs

    table = json.loads((Path(__file__).parents[1] / "sdcc_lab" / "labels.json").read_text())
    env = {
        "scheduler": "slurm",
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "options": {"runtime": 30, "partition": "gpu", "local": False, "zeta": "z", "qos": ""},
    }
    assert environment_pairs(env) == [
        ("Kernel", "Python 3"),
        ("Where", table["schedulers"]["slurm"]),
        ("Partition", "gpu"),
        ("Runtime", "30 min"),
        ("zeta", "z"),
    ]
    assert environment_pairs({"scheduler": "local"})[0] == ("Where", table["schedulers"]["local"])
    assert environment_pairs({})[0] == ("Where", table["unknownScheduler"])
    assert environment_pairs({"scheduler": "pbs"})[0] == ("Where", "pbs")


def test_the_signer_says_when_a_token_would_be_too_long_to_verify() -> None:
    import random
    import string

    from sdcc_lab.share.tokens import MAX_TOKEN_LENGTH

    signer = ShareSigner(["k1"])
    assert signer.fits(CLAIMS)
    rng = random.Random(3)
    noise = "".join(rng.choice(string.ascii_letters) for _ in range(2 * MAX_TOKEN_LENGTH))
    long_claims = TokenClaims("0123abcd", "alice", noise, {})
    assert not signer.fits(long_claims)
    with pytest.raises(TokenError):  # what fits() protects against
        signer.verify(signer.sign(long_claims))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("dir/a.ipynb", "new/a.ipynb"),
        ("dir", "new"),
        ("dir2/a.ipynb", None),
        ("other/dir/a.ipynb", None),
    ],
)
def test_renamed_path_follows_a_file_or_folder(path: str, expected: str | None) -> None:
    from sdcc_lab.share.store import renamed_path

    assert renamed_path(path, "dir", "new") == expected
