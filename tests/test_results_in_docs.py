"""The tables the README shows are the committed result files, line for line."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _table_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("|")]


@pytest.mark.parametrize("name", ["table2.md", "real_ct.md"])
def test_the_readme_shows_the_committed_table2(name):
    readme = (REPO / "README.md").read_text().splitlines()
    lines = _table_lines(REPO / "docs" / "results" / "table2" / name)
    assert len(lines) >= 8
    missing = [line for line in lines if line not in readme]
    assert not missing, f"README.md lacks these lines of docs/results/table2/{name}: {missing[:2]}"
