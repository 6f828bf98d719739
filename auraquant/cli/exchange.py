"""`auraquant exchange` commands (placeholder: filled by its issue)."""

from __future__ import annotations

import typer

app = typer.Typer(help="exchange commands.", no_args_is_help=True)
