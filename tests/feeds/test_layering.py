"""feeds/ may use only tools and the agents' model factory (DESIGN.md, layout table), and only
feeds/llm.py touches the factory, so a change there is a one-line fix."""

from __future__ import annotations

import ast

from tools.paths import PROJECT_ROOT

PROJECT_PACKAGES = {"tools", "memos", "agents", "graph", "decisions", "exchange", "backtest",
                    "auraquant", "feeds"}  # fmt: skip


def test_feeds_imports_only_tools_and_the_model_factory() -> None:
    seen: dict[str, set[str]] = {}
    for path in sorted((PROJECT_ROOT / "feeds").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in PROJECT_PACKAGES - {"feeds"}:
                    seen.setdefault(n, set()).add(path.name)
    assert {n.split(".")[0] for n in seen} <= {"tools", "agents"}
    assert {n for n in seen if n.startswith("agents")} == {"agents.models"}
    assert seen["agents.models"] == {"llm.py"}
