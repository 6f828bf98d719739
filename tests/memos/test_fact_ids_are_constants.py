"""Fact ids are the ``memos.models`` constants everywhere: no package outside ``memos/`` writes a
fact or unknown id as a string literal (docstrings and prompt prose aside)."""

from __future__ import annotations

import ast
from pathlib import Path

from memos import models

ROOT = Path(__file__).resolve().parents[2]
IDS = {
    v
    for k, v in vars(models).items()
    if k[:2] in ("F_", "U_") and isinstance(v, str) and "{" not in v
}


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and n.value in IDS and id(n) not in docs
    ]


def test_no_fact_id_literals_outside_memos() -> None:
    assert "market.price" in IDS and "unknown.stale_data" in IDS  # control: the ids are read
    found = [
        f"{p.relative_to(ROOT)}:{line}: {v!r}"
        for pkg in ("agents", "graph", "decisions", "backtest")
        for p in sorted((ROOT / pkg).rglob("*.py"))
        for line, v in _literals(p)
    ]
    assert found == []


def test_the_scan_sees_a_literal(tmp_path: Path) -> None:
    p = tmp_path / "x.py"
    p.write_text('"""market.price in a docstring is prose."""\nX = "market.price"\n')
    assert _literals(p) == [(2, "market.price")]
