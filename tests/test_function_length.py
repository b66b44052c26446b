"""No function in lsn_explorer has a body longer than a reader can hold: 80 lines, docstring excluded."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lsn_explorer"
MAX_BODY_LINES = 80


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the function's end."""
    body = node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1 if body else 0


def long_functions(package: Path = PACKAGE, limit: int = MAX_BODY_LINES) -> list[str]:
    """``file:line name (N lines)`` of every function or method whose body exceeds ``limit`` lines."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and body_lines(node) > limit:
                found.append(f"{path.relative_to(package.parent)}:{node.lineno} {node.name} ({body_lines(node)} lines)")
    return found


def test_no_function_body_is_longer_than_80_lines():
    assert long_functions() == []


def test_a_long_function_is_found(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(81))
    (tmp_path / "long.py").write_text(f'def f():\n    """Doc."""\n{body}\n\n\ndef g():\n    """Doc."""\n    return 1\n')
    assert long_functions(tmp_path) == [f"{tmp_path.name}/long.py:1 f (81 lines)"]
