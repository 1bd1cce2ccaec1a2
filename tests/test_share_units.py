"""Unit tests of share links: tokens, key rotation, naming and collisions, limits, the
streaming notebook check."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import nbformat
import pytest

from sdcc_lab.server.imports import ImportRecord, free_name, notebook_name, safe_segment
from sdcc_lab.share.nbstream import InvalidNotebook, NotebookStream
from sdcc_lab.share.tokens import ShareSigner, TokenClaims, TokenError

CLAIMS = TokenClaims("0123abcd", "alice", "dir/analysis.ipynb",
                     {"scheduler": "slurm", "options": {"partition": "gpu"}})


def test_token_round_trip() -> None:
    signer = ShareSigner(["k1"])
    assert signer.verify(signer.sign(CLAIMS)) == CLAIMS


@pytest.mark.parametrize("position", [5, 20, -3])
def test_tampered_token_is_refused(position: int) -> None:
    signer = ShareSigner(["k1"])
    token = signer.sign(CLAIMS)
    i = position % len(token)
    flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
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
    [("analysis.ipynb", "analysis.ipynb"), ("a/b/c.ipynb", "c.ipynb"), ("..", "notebook.ipynb"),
     (".hidden.ipynb", "hidden.ipynb"), ("noext", "noext.ipynb"),
     ("Résumé 日本.ipynb", "Résumé 日本.ipynb")],
)
def test_notebook_name(value: str, expected: str) -> None:
    assert notebook_name(value) == expected


@pytest.mark.parametrize(("owner", "expected"), [("alice", "alice"), ("../x", "_x"), ("a/b", "a_b"),
                                                  ("", "unknown"), ("..", "unknown")])
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
    assert record.decide(folder, "analysis.ipynb", share(2)) .action == "refreshed"

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
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb).encode()


@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 20])
def test_stream_adds_provenance_and_keeps_the_cells(chunk: int) -> None:
    raw = notebook_bytes('print("a \\" b")')
    stream = NotebookStream(inject=("sdcc_lab_share", {"id": "x"}))
    out = b"".join(stream.feed(raw[i:i + chunk]) for i in range(0, len(raw), chunk))
    stream.close()
    nb = json.loads(out)
    assert nb["metadata"]["sdcc_lab_share"] == {"id": "x"}
    assert nb["cells"] == json.loads(raw)["cells"]
    assert stream.metadata and stream.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(nbformat.reads(out.decode(), 4))


@pytest.mark.parametrize(
    "bad",
    [b"", b"[]", b"not json", b'{"cells": [1 2], "metadata": {}, "nbformat": 4}',
     b'{"cells": [], "metadata": {}, "nbformat": 4', b'{"cells": [], "metadata": {}, "nbformat": 3}',
     b'{"cells": [], "nbformat": 4}', b'{"cells": {}, "metadata": {}, "nbformat": 4}',
     b'{"cells": [], "metadata": {},, "nbformat": 4}', b'{"cells": [], "metadata": {}, "nbformat": 4} {}',
     b'{"cells": [tru], "metadata": {}, "nbformat": 4}'],
)
def test_stream_refuses_what_is_not_a_notebook(bad: bytes) -> None:
    stream = NotebookStream()
    with pytest.raises(InvalidNotebook):
        stream.feed(bad)
        stream.close()


@pytest.mark.parametrize(("n", "text"), [(100 * 1024 * 1024, "100 MB"), (1536, "1.5 KB"), (10, "10 bytes")])
def test_limits_are_named_in_messages(n: int, text: str) -> None:
    from sdcc_lab.share.nbstream import too_big

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
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
                   "source": ["a = 1\n", "b = 2\n"],
                   "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    raw = json.dumps(nb, indent=1, ensure_ascii=False).encode()
    stream = NotebookStream(inject=("k", 1))
    out = b"".join(stream.feed(raw[i:i + chunk]) for i in range(0, len(raw), chunk))
    stream.close()
    assert json.loads(out)["cells"] == json.loads(raw)["cells"]
    broken = raw.replace(b'"a = 1\\n",', b'"a = 1\\n" "b"', 1)
    assert broken != raw
    with pytest.raises(InvalidNotebook):
        bad = NotebookStream()
        for i in range(0, len(broken), chunk):
            bad.feed(broken[i:i + chunk])
        bad.close()
