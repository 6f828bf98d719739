"""CONTRACT.md: every rule names a test, and every named test exists."""

from __future__ import annotations

import importlib
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


def _resolve(name: str) -> object:
    """The object a dotted name in the index stands for (``VE.`` / ``BW.`` are shorthands)."""
    name = name.split("(")[0]
    for short, full in (("VE.", "exchange.virtual.VirtualExchange."),
                        ("BW.", "exchange.barwalk.BarWalk.")):  # fmt: skip
        if name.startswith(short):
            name = full + name[len(short) :]
    if not name.startswith(("exchange.", "backtest.", "auraquant.")):
        name = "exchange." + name
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def test_every_implementing_function_exists() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    index = text[text.index("## Where each rule is implemented") :]
    index = index[: index.index("\n## ", 5)]
    names = {
        n
        for row in index.splitlines()
        if row.startswith("| `")
        for n in re.findall(r"`([\w.]+(?:\([^`]*\))?)`", row.split("|")[1])
    }
    assert len(names) >= 40
    missing = []
    for n in sorted(names):
        try:
            _resolve(n)
        except (AttributeError, ModuleNotFoundError):
            missing.append(n)
    assert missing == []
