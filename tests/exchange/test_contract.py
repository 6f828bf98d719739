"""CONTRACT.md: every rule names a test, and every named test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "exchange" / "CONTRACT.md"
REF = re.compile(r"`(tests/exchange/[\w/]+\.py)::(\w+)(?:\[([^\]]+)\])?`")
RULE_ROW = re.compile(r"^\| ([A-Z]\d+) \|")


def test_every_named_test_exists() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    refs = REF.findall(text)
    assert len(refs) > 40
    missing = []
    for path, name, param in refs:
        file = ROOT / path
        if not file.exists():
            missing.append(f"{path} (no such file)")
            continue
        source = file.read_text(encoding="utf-8")
        if not re.search(rf"^def {name}\(", source, flags=re.M):
            missing.append(f"{path}::{name}")
        elif param and f'"{param}"' not in source:
            missing.append(f"{path}::{name}[{param}] (no such case id)")
    assert missing == []


def test_every_rule_names_a_test() -> None:
    rows = [
        line for line in CONTRACT.read_text(encoding="utf-8").splitlines() if RULE_ROW.match(line)
    ]
    assert len(rows) >= 50
    unpinned = [RULE_ROW.match(r).group(1) for r in rows if not REF.search(r)]  # type: ignore[union-attr]
    assert unpinned == []
