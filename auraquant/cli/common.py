"""Command-line conventions shared by every command.

``--json`` prints exactly one JSON object on stdout; human output and progress go to stderr or
to a Rich console; errors go to stderr with a non-zero exit code; times are ISO-8601 UTC.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import pandas as pd
import typer
from rich.console import Console

from tools.symbols import normalize_symbol
from tools.timeutil import TimeParseError, parse_utc

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def emit_json(obj: Any) -> None:
    """The one JSON object of a ``--json`` run, on stdout."""
    sys.stdout.write(json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def parse_time_option(value: str, name: str = "--at") -> pd.Timestamp:
    """Parse a CLI time; a bad one fails naming the option and the value."""
    try:
        return parse_utc(value)
    except TimeParseError as exc:
        fail(f"{name}: {exc}")


def parse_symbol_option(value: str, name: str = "symbol") -> str:
    """Normalise a CLI symbol; an unknown one fails naming the option and the choices."""
    try:
        return normalize_symbol(value)
    except ValueError as exc:
        fail(f"{name}: {exc}")
