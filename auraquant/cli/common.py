"""Command-line conventions shared by every command.

``--json`` prints exactly one JSON object on stdout; human output and progress go to stderr or
to a Rich console; errors go to stderr with a non-zero exit code; times are ISO-8601 UTC.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any, NoReturn

import pandas as pd
import typer
from rich.console import Console

from tools.symbols import normalize_symbol
from tools.timeutil import TimeParseError, parse_utc


class Timeframe(StrEnum):
    """A bar length (``tools.timeutil.TIMEFRAMES``) as a command-line choice."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"


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


def check_model_option(value: str | None) -> str | None:
    """``--model`` is checked while the command line is read, before anything else: an unknown
    provider or a missing model name fails in one line naming the value and the forms."""
    if value is None:
        return None
    from agents.models import ModelSpecError, parse_model_id

    try:
        parse_model_id(value)
    except ModelSpecError as exc:
        fail(f"--model: {exc}")
    return value
