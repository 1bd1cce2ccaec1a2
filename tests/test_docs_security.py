"""docs/security.md: every claim names a test, and every test it names exists.

A claim whose test was renamed or removed would read as proven while nothing
checks it any more.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security.md"
# `tests/x.py::test_name`, `::test_other` (same file as the one before), `tests/x.py`,
# `src/__tests__/x.spec.ts`, `ui-tests/tests/x.spec.ts`
REFERENCE = re.compile(r"`((?:tests|src|ui-tests)/[\w/.-]+)?(?:::(\w+))?`")


def claim_rows(text: str) -> list[str]:
    """The rows of the claim tables (a header row says `| claim | test |`)."""
    rows, in_claims = [], False
    for line in text.splitlines():
        if line.startswith("| claim | test |"):
            in_claims = True
        elif not line.startswith("|"):
            in_claims = False
        elif in_claims and not line.startswith("| ---"):
            rows.append(line)
    return rows


def test_every_claim_names_a_test_that_exists() -> None:
    rows = claim_rows(DOC.read_text())
    assert len(rows) >= 40, "docs/security.md lost its claim tables"
    missing: list[str] = []
    for row in rows:
        test_cell = row.rstrip("|").rsplit("|", 1)[1]
        refs = REFERENCE.findall(test_cell)
        assert refs, f"a claim names no test: {row}"
        current: Path | None = None
        for path, name in refs:
            if path:
                current = ROOT / path
                if not current.exists():
                    missing.append(path)
                    continue
            if name:
                assert current is not None, f"`::{name}` without a file before it: {row}"
                if not re.search(rf"^\s*(async )?def {name}\b", current.read_text(), re.MULTILINE):
                    missing.append(f"{current.relative_to(ROOT)}::{name}")
    assert missing == []
