"""`auraquant view RUN_DIR [--open]`: a run as one self-contained HTML page (no network)."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from auraquant.cli.common import console, fail


def view(
    run_dir: Annotated[
        Path, typer.Argument(help="a run directory: runs/meet-… (a meeting) or runs/replay-…")
    ],
    open_: Annotated[
        bool, typer.Option("--open", help="open the page in the default browser")
    ] = False,
) -> None:
    """Write RUN_DIR/index.html: the meeting (debate, gate, orders, price chart) or the replay
    (meetings table, equity against the baselines, the debate ablation, trades on the price)."""
    from auraquant.view import ViewError, write_view

    try:
        out = write_view(run_dir)
    except ViewError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"RUN_DIR: {run_dir}: {exc}")
    console.print(f"view: {out}", highlight=False, soft_wrap=True)
    if open_:
        webbrowser.open(out.resolve().as_uri())
